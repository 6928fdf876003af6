"""Confirmation buttons bound to the person who asked and to the request.

Each confirmation is a stored :class:`PendingAction` with a random token; its buttons carry
``kind:yes|no:token``.  Pressing one looks the token up: someone else's button, a forged one,
a cancelled, finished or expired one each get their own answer and change nothing.  Stored in
the database so a restart in the middle of /clone does not lose the step.
"""

from __future__ import annotations

import secrets
import time
from typing import Optional

from ...storage import PendingAction, User
from ..errors import BadRequest
from ..invocation import Button, Responder
from ..messages import tr
from .base import Services

TTL_S = {"consent": 15 * 60, "forget": 10 * 60}
AGAIN = {"consent": "/clone", "forget": "/forget"}


def _parse(data: str) -> Optional[tuple[str, bool, str]]:
    """``kind:yes|no:token`` → (kind, yes, token); None when it is not one of ours."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] not in TTL_S or parts[1] not in ("yes", "no") or not parts[2]:
        return None
    return parts[0], parts[1] == "yes", parts[2]


class Confirmations:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def open(self, user: User, kind: str, **fields) -> PendingAction:
        """A new step for ``user`` (replacing an open one of the same kind)."""
        now = time.time()
        action = PendingAction(secrets.token_urlsafe(9), user.id, kind, "open", now, now + TTL_S[kind], **fields)
        await self.s.store.add_pending(action)
        return action

    @staticmethod
    def buttons(action: PendingAction, lang: str, yes_label: str) -> list[Button]:
        return [Button(yes_label, f"{action.kind}:yes:{action.token}"),
                Button(tr(lang, "Cancel", "取消"), f"{action.kind}:no:{action.token}")]

    async def resolve(self, data: str, user: User) -> tuple[PendingAction, bool]:
        """The step a pressed button belongs to, if the presser may answer it now."""
        parsed = _parse(data)
        action = await self.s.store.pending(parsed[2]) if parsed else None
        if parsed is None or action is None or action.kind != parsed[0]:
            raise BadRequest("This button is no longer active.", "此按钮已失效。")
        if action.user_id != user.id:
            raise BadRequest("This button is not for you: only the person who asked can answer it.",
                             "这个按钮不是给你的：只有发起请求的人可以回答。")
        again = AGAIN[action.kind]
        if action.status == "cancelled":
            raise BadRequest(f"You cancelled this request. Send {again} to start again.", f"你已取消该请求。请重新发送 {again}。")
        if action.status == "done":
            raise BadRequest("This request is already done.", "该请求已经完成。")
        if time.time() > action.expires_at:
            minutes = TTL_S[action.kind] // 60
            raise BadRequest(f"This request expired (they last {minutes} minutes). Send {again} to start again.",
                             f"该请求已过期（有效期 {minutes} 分钟）。请重新发送 {again}。")
        return action, parsed[1]

    async def cancel(self, action: PendingAction, out: Responder, user: User) -> None:
        await self.s.store.set_pending_status(action.token, "cancelled", ("open", "agreed"))
        await out.text(tr(user.language, "Cancelled. Nothing was changed.", "已取消，没有任何改动。"))

    async def finish(self, action: PendingAction) -> bool:
        """Mark done; False when another press got there first."""
        return await self.s.store.set_pending_status(action.token, "done", ("open", "agreed"))
