"""A user's own data: /voice, /share, /forget (with a confirmation bound to them) and /cancel."""

from __future__ import annotations

import time

from ...storage import PendingAction, User
from ..errors import BadRequest
from ..invocation import Invocation, Responder
from ..messages import tr
from .base import Services
from .confirm import Confirmations


class AccountCommands:
    def __init__(self, services: Services, confirmations: Confirmations) -> None:
        self.s = services
        self.confirm = confirmations

    def handlers(self):
        return {"voice": self.voice, "share": self.share, "forget": self.forget, "cancel": self.cancel}

    async def voice(self, inv: Invocation, out: Responder, user: User) -> None:
        stored = await self.s.store.voice(user.id)
        if stored is None:
            await out.text(tr(user.language, "You have no voice yet. Send /clone to make one.", "你还没有声音。发送 /clone 来录制。"))
            return
        shares = await self.s.store.shares(user.id)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stored.created_at))
        engine = self.s.engine
        text = tr(user.language, f"Your voice: made {when} with {stored.engine} {stored.version}. Shared in {len(shares)} place(s).",
                  f"你的声音：{when} 由 {stored.engine} {stored.version} 生成。已在 {len(shares)} 处共享。")
        if stored.engine != engine.name or stored.version != engine.version:
            text += tr(user.language, " The engine has changed since: please /clone again.", " 引擎已更新：请重新 /clone。")
        await out.text(text)

    async def share(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        if inv.place.is_private:
            raise BadRequest("Use /share in the server or group where others may use your voice.",
                             "请在允许他人使用你声音的群/服务器里使用 /share。")
        off = inv.args.strip().lower() in ("off", "stop", "revoke", "关闭", "取消")
        if not off:
            policy = await self.s.store.policy(inv.place.platform, inv.place.server_id)
            if not policy.clone_allowed:
                raise BadRequest("Cloned voices are turned off here, so a voice cannot be shared here.",
                                 "这里已关闭克隆声音，因此不能在这里共享声音。")
            if await self.s.store.voice(user.id) is None:
                raise BadRequest("You have no voice to share yet. Send /clone in a private chat first.",
                                 "你还没有可共享的声音。请先私聊我发送 /clone。")
        await self.s.store.set_shared(user.id, inv.place.platform, inv.place.server_id, not off)
        await out.text(tr(lang, "Your voice is no longer shared here." if off else
                          "Your voice is now shared in this server: members may use it with /say as @you (if the admins allow "
                          "shared voices). /share off revokes it.",
                          "你的声音已不再在这里共享。" if off else "你的声音已在本服务器共享：成员可用 /say as @你 使用（需管理员允许）。/share off 可撤销。"))

    async def forget(self, inv: Invocation, out: Responder, user: User) -> None:
        action = await self.confirm.open(user, "forget")
        await out.text(
            tr(user.language,
               "Delete your voice, consent records, shares, pending requests and history everywhere? This cannot be "
               "undone. (Blocks that server admins placed on your account are that server's moderation records and stay.)",
               "删除你在所有地方的声音、同意记录、共享、进行中的请求和历史？此操作无法撤销。"
               "（服务器管理员对你账号设置的封禁属于该服务器的管理记录，会保留。）"),
            self.confirm.buttons(action, user.language, tr(user.language, "Yes, delete everything", "是的，全部删除")))

    async def on_forget_button(self, inv: Invocation, out: Responder, user: User, action: PendingAction, yes: bool) -> None:
        if not yes:
            await self.confirm.cancel(action, out, user)
            return
        if not await self.confirm.finish(action):
            return  # pressed twice: the first press did it
        await self.s.store.forget(user.id)
        await out.text(tr(user.language, "Done: everything I kept about you is deleted.", "已完成：我保存的你的所有数据都已删除。"))

    async def cancel(self, inv: Invocation, out: Responder, user: User) -> None:
        count = await self.s.store.cancel_pending(user.id)
        await out.text(tr(user.language, "Cancelled. Nothing was changed." if count else "There was nothing to cancel.",
                          "已取消，没有任何改动。" if count else "没有需要取消的操作。"))
