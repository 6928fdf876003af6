"""The command layer: every command written once, for every adapter.

One module per command family — ``info`` (/start /help /emotions), ``clone`` (consent and
recording), ``say``, ``account`` (/voice /share /forget /cancel), ``admin``, ``verify``, ``voicechat``
(/join /leave /skip /stop in a Discord voice channel) — over the shared ``base``.  This module
only routes: it resolves the caller, checks permissions in one place (:mod:`bot.core.permissions`),
and turns every failure into a message in the user's language.
"""

from __future__ import annotations

import logging
from typing import Optional

from indextts_core.errors import IndexTTSError

from ...storage import Store, User
from ..errors import BadRequest, PermissionDenied
from ..command_spec import Access, CommandCatalog, catalog, event
from ..invocation import Invocation, Responder
from ..messages import SOMETHING_WRONG, tr
from ..permissions import Role, decide
from . import account, admin, clone, info, say, verify, voicechat
from .account import SHARE_OFF_BUTTON, AccountCommands
from .admin import AdminCommands
from ..jobs import Jobs
from .base import EngineIdentity, Handler, Services, Settings
from .clone import CloneCommands
from .confirm import Confirmations
from .info import InfoCommands
from .say import SayCommands
from .verify import VerifyCommands
from .voicechat import VoiceChatCommands

log = logging.getLogger(__name__)

#: Every command and event, in the order of the menus and /help.
CATALOG: CommandCatalog = catalog((say.SPECS, clone.SPECS, account.SPECS, info.SPECS, verify.SPECS, voicechat.SPECS,
                                   admin.SPECS, (event("button"),)))


class CommandLayer:
    """Turns invocations into replies.  Adapters only translate platform objects."""

    def __init__(self, store: Store, engine: EngineIdentity, jobs: Jobs, settings: Optional[Settings] = None,
                 catalog: CommandCatalog = CATALOG) -> None:
        """``engine``: its ``name`` and ``version``; ``jobs``: the queue (in-process or Redis) that
        runs :mod:`..tasks` wherever the engine is."""
        self.store = store
        self.services = Services(store, engine, jobs, settings or Settings())
        self.confirmations = Confirmations(self.services)
        self.account = AccountCommands(self.services, self.confirmations)
        self.clone = CloneCommands(self.services, self.confirmations)
        self.catalog = catalog
        self._handlers: dict[str, Handler] = {"button": self.on_button}
        speak = SayCommands(self.services, self.role)
        self.voicechat = VoiceChatCommands(self.services, self.role, speak.say)
        for family in (InfoCommands(self.services, self.catalog), self.clone, speak, self.account,
                       AdminCommands(self.services), self.voicechat, VerifyCommands(self.services, self.role)):
            self._handlers.update(family.handlers())
        undeclared = set(self._handlers) - set(self.catalog.by_name)
        unhandled = set(self.catalog.by_name) - set(self._handlers)
        if undeclared or unhandled:  # a command is its handler and its spec: both, or neither
            raise RuntimeError(f"commands without a spec: {sorted(undeclared)}; specs without a handler: {sorted(unhandled)}")

    @property
    def commands(self) -> list[str]:
        """Command names users can type (for menus and platform registration)."""
        return [spec.name for spec in self.catalog.commands()]

    async def handle(self, inv: Invocation, out: Responder) -> None:
        """Run one invocation; every failure becomes a short message, never a traceback."""
        lang = inv.actor.language or "en"
        try:
            if inv.command == "aloud" and not await self.voicechat.wants_aloud(inv):
                return
            user = await self.store.user(inv.actor.platform, inv.actor.user_id, inv.actor.language)
            lang = user.language
            handler = self._handlers.get(inv.command)
            if handler is None:
                raise BadRequest(f"Unknown command /{inv.command}. Send /help for the list.",
                                 f"未知命令 /{inv.command}。发送 /help 查看命令列表。")
            context = await self.services.context(inv, user)
            policy = context.policy
            if inv.voice is not None:  # every voice-channel request carries the server's current choices
                inv.voice.apply_policy(policy.voice_idle_s, policy.voice_leave_alone)
            access = self.catalog[inv.command].access
            if access is Access.ADMIN and inv.place.guest:
                raise PermissionDenied("I'm not a member of this server, so its rules are the bot's own careful ones and "
                                       "can't be changed here. A server admin can add me to the server to set them.",
                                       "我不是这个服务器的成员，所以这里使用机器人自己的保守规则，无法在这里修改。"
                                       "服务器管理员可以把我加入服务器后再设置。")
            verdict = decide(access, context.role, policy, context.blocked)
            if not verdict.allowed:
                raise PermissionDenied(verdict.reason_en, verdict.reason_zh)
            await handler(inv, out, user)
        except IndexTTSError as exc:  # a refusal with its own message (bot or core): nothing changed
            await out.text(exc.message(lang))
        except Exception:
            log.exception("command %s failed", inv.command)
            await out.text(tr(lang, *SOMETHING_WRONG))

    async def forget_server(self, platform: str, server_id: str) -> None:
        """The bot left a server: the voices shared there and its rules end (blocks and the
        records of voices used stay for their retention)."""
        shares, rules = await self.store.forget_server(platform, server_id)
        log.info("left %s server %s: %d share(s) and %d rule set(s) removed", platform, server_id, shares, rules)

    async def role(self, inv: Invocation, user: User) -> Role:
        """The caller's role here (see :meth:`Services.context`)."""
        return (await self.services.context(inv, user)).role

    async def on_button(self, inv: Invocation, out: Responder, user: User) -> None:
        """A confirmation button: only its own requester may answer it (see :mod:`.confirm`)."""
        if inv.args.startswith(SHARE_OFF_BUTTON):  # under a notice in its owner's private chat
            await out.buttons_done()
            await self.account.on_share_off_button(inv, out, user)
            return
        action, yes = await self.confirmations.resolve(inv.args, user)
        await out.buttons_done()  # the owner's press: only now do the buttons go
        if action.kind == "consent":
            await self.clone.on_consent_button(inv, out, user, action, yes)
        else:
            await self.account.on_forget_button(inv, out, user, action, yes)


__all__ = ["CommandLayer", "Settings"]
