"""Admin commands: the server's policy, blocks, trust and purges."""

from __future__ import annotations

import asyncio
import time
from typing import Optional

from ...storage import UsageRow, User
from ..errors import BadRequest
from ..invocation import Invocation, Responder
from ..command_spec import Access, CommandSpec, DiscordPlaces, DiscordShape, HelpEntry, Pair
from ..messages import tr
from .. import policy_settings
from ..usage_chart import usage_chart
from .base import Handler, Services

POLICY_USAGE = policy_settings.usage()
_TEXT_SETTINGS = policy_settings.help_text(voice=False)
_ALL_SETTINGS = policy_settings.help_text(voice=True)


def _admin(name: str, summary: Pair, text: Pair | HelpEntry, shape: DiscordShape = DiscordShape.MEMBER,
           discord: Optional[HelpEntry] = None, aliases: tuple[str, ...] = ()) -> CommandSpec:
    """A server-admin command: in Telegram's admin menu, under /voiceadmin on Discord."""
    return CommandSpec(name, Access.ADMIN, summary, text_help=text if isinstance(text, HelpEntry) else HelpEntry(text),
                       discord_help=discord or HelpEntry((name, name)), discord=shape, discord_places=DiscordPlaces.SERVERS,
                       discord_group="voiceadmin", discord_aliases=aliases)


SPECS = (
    _admin("policy", ("This server's voice policy", "本群语音规则"),
           HelpEntry(("/policy, /policy set <setting> <value>", "/policy、/policy set <设置> <值>"),
                     _TEXT_SETTINGS), DiscordShape.CUSTOM,
           HelpEntry(("policy | set", "policy | set"), _ALL_SETTINGS),
           aliases=("set",)),
    _admin("block", ("Block a member (reply to them)", "封禁成员"), ("/block @user", "/block @用户")),
    _admin("unblock", ("Unblock a member", "解除封禁"), ("/unblock @user", "/unblock @用户")),
    _admin("trust", ("Trust a member", "信任成员"), ("/trust @user", "/trust @用户")),
    _admin("untrust", ("Untrust a member", "取消信任"), ("/untrust @user", "/untrust @用户")),
    _admin("purge", ("Delete a member's shares and history here", "清除成员记录"),
           ("/purge @user (or reply to their message)", "/purge @用户（或回复其消息）")),
    _admin("usage", ("Voice notes here over the last 30 days", "最近 30 天的语音用量"),
           ("/usage (the last 30 days of voice notes here)", "/usage（这里最近 30 天的语音用量）"), DiscordShape.PLAIN),
)


USAGE_DAYS = 30
USAGE_TOP = 10  # members listed by name; the rest are counted


class AdminCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def handlers(self) -> dict[str, Handler]:
        return {"policy": self.policy, "block": self.block, "unblock": self.block, "trust": self.trust,
                "untrust": self.trust, "purge": self.purge, "usage": self.usage}

    async def usage(self, inv: Invocation, out: Responder, user: User) -> None:
        """/usage: what this server's voice notes cost over the last 30 days, per member and engine,
        to the admin alone (it names members: never posted to a whole group)."""
        lang = user.language
        alone = await self.s.answer_alone(
            out, lang, ("The usage report names members, so I send it to you in private. Open a chat with me, "
                        "then send /usage here again.",
                        "用量报告会列出成员，所以我只私信发给你。请先打开与我的私聊，再在这里发送 /usage。"),
            ("I sent you the report in a private message.", "我已把报告私信发给你。"))
        if alone is None:
            return
        out = alone
        since = time.time() - USAGE_DAYS * 86400
        members, engines = await self.s.store.usage(inv.place.platform, inv.place.server_id, since)
        if not engines:
            await out.text(tr(lang, f"No voice notes here in the last {USAGE_DAYS} days.",
                              f"最近 {USAGE_DAYS} 天这里没有生成语音。"))
            return
        notes, failed = sum(r.notes for r in engines), sum(r.failed for r in engines)
        speech, compute = sum(r.audio_s for r in engines), sum(r.compute_s for r in engines)
        wait = sum(r.wait_s * r.notes for r in engines) / max(1, notes)

        def line(name: str, r: UsageRow) -> str:
            return tr(lang, f"{name}: {r.notes} note{'' if r.notes == 1 else 's'}, {r.characters} characters, {r.audio_s / 60:.1f} min of speech, "
                            f"{r.compute_s:.0f} s of compute",
                      f"{name}：{r.notes} 条，{r.characters} 个字符，{r.audio_s / 60:.1f} 分钟语音，{r.compute_s:.0f} 秒计算")

        def member(key: str) -> str:
            return tr(lang, f"user {key}", f"用户 {key}") if key else tr(lang, "a deleted account", "已删除的账号")

        text = [tr(lang, f"Last {USAGE_DAYS} days here: {notes} voice note{'' if notes == 1 else 's'}, {speech / 60:.1f} min of speech, "
                         f"{compute / 60:.1f} min of compute, {wait:.1f} s average wait in the queue.",
                   f"最近 {USAGE_DAYS} 天：{notes} 条语音，{speech / 60:.1f} 分钟语音，{compute / 60:.1f} 分钟计算，"
                   f"平均排队 {wait:.1f} 秒。")]
        if failed:
            text.append(tr(lang, f"{failed} request{'' if failed == 1 else 's'} used compute and made no note "
                                 "(refused by the engine once made, or failed): counted above.",
                           f"{failed} 个请求消耗了计算却没有生成语音（生成后被引擎拒绝或失败）：已计入上面的计算时间。"))
        text.append(tr(lang, "By member:", "按成员："))
        text += ["• " + line(member(r.key), r) for r in members[:USAGE_TOP]]
        if len(members) > USAGE_TOP:
            text.append(tr(lang, f"…and {len(members) - USAGE_TOP} more", f"……以及另外 {len(members) - USAGE_TOP} 位"))
        text.append(tr(lang, "By engine:", "按引擎："))
        text += ["• " + line(r.key, r) for r in engines]
        await out.text("\n".join(text))
        days = await self.s.store.usage_by_day(inv.place.platform, inv.place.server_id, since)
        png = await asyncio.to_thread(usage_chart, days, USAGE_DAYS)  # ~50 ms of drawing: off the event loop
        await out.image(png, tr(lang, f"Minutes of speech per day here, by engine (last {USAGE_DAYS} days)",
                                f"这里每天的语音分钟数，按引擎（最近 {USAGE_DAYS} 天）"))

    async def policy(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        policy = (await self.s.context(inv, user)).policy
        parts = inv.args.split()
        if parts and parts[0] == "set":
            if len(parts) < 3:
                raise BadRequest(*POLICY_USAGE)
            policy = policy_settings.apply_setting(policy, parts[1].lower(), " ".join(parts[2:]), inv)
            await self.s.store.set_policy(policy)
            if inv.voice is not None:  # a bot already in voice follows the new choice at once
                inv.voice.apply_policy(policy.voice_idle_s, policy.voice_leave_alone)
        on, off = tr(lang, "on", "开"), tr(lang, "off", "关")
        role = inv.role_names.get(policy.say_role or "", policy.say_role)
        await out.text(
            tr(lang, "clone (cloned voices here)", "clone（这里可用克隆声音）") + f": {on if policy.clone_allowed else off}\n"
            + tr(lang, "say (who may speak)", "say（谁可以让机器人说话）") + f": {policy.say_mode}" + (f" ({role})" if role else "")
            + "\n" + tr(lang, "cooldown", "冷却") + f": {policy.cooldown_s} s\nmax_chars: {policy.max_chars}\n"
            + tr(lang, "shared voices", "共享声音") + f": {on if policy.shared_voices_allowed else off}\n"
            + tr(lang, "daily speech quota (server / member)", "每日语音额度（服务器 / 成员）") + ": "
            + " / ".join(f"{q} s" if q is not None else off for q in (policy.quota_server_s, policy.quota_member_s))
            + ("\n" + tr(lang, "read aloud in voice", "在语音频道朗读") + ": "
               + (f"<#{policy.read_aloud_channel}>" if policy.read_aloud_channel else off)
               + "\n" + tr(lang, "leave voice after idle", "语音空闲多久后离开") + ": "
               + (f"{policy.voice_idle_s} s" if policy.voice_idle_s is not None else tr(lang, "default", "默认"))
               + "\n" + tr(lang, "leave voice when alone", "只剩机器人时离开语音") + ": "
               + (tr(lang, "default", "默认") if policy.voice_leave_alone is None else on if policy.voice_leave_alone else off)
               if inv.voice is not None else ""))

    @staticmethod
    def _target(inv: Invocation) -> tuple[str, str, Optional[str]]:
        """(handle as typed, display name, platform user id or None when the bot has never seen them)."""
        args = inv.args.strip()
        known = [h for h in inv.mentions if args.startswith(h)]
        if known:
            handle = max(known, key=len)
            return handle, inv.names.get(handle, handle), inv.mentions[handle]
        first = args.split(" ")[0] if args else ""
        if first.startswith("@") and len(first) > 1:
            return first, first, None
        raise BadRequest(f"Name a member: /{inv.command} @user (or reply to one of their messages with /{inv.command}).",
                         f"请指定成员：/{inv.command} @用户（或用 /{inv.command} 回复其消息）。")

    async def block(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        handle, name, target_id = self._target(inv)
        block = inv.command == "block"
        if target_id == inv.actor.user_id:
            raise BadRequest("You can't block yourself.", "不能封禁自己。")
        if block and handle in inv.admin_mentions:
            raise BadRequest(f"{name} is an admin here and can't be blocked.", f"{name} 是这里的管理员，不能被封禁。")
        # The block names the account (or, for someone never seen, the @handle): no user row is made.
        subject = target_id if target_id is not None else handle.lower()
        await self.s.store.set_blocked(inv.place.platform, inv.place.server_id, subject, block, inv.actor.user_id)
        if block:
            await out.text(tr(lang, f"{name} is blocked from the voice bot here.", f"{name} 已被禁止在这里使用语音机器人。"))
        else:
            await out.text(tr(lang, f"{name} may use the voice bot here again.", f"{name} 可以再次在这里使用语音机器人。"))

    @classmethod
    def _known_member(cls, inv: Invocation) -> tuple[str, str]:
        """(display name, platform user id) of a member the platform identified."""
        handle, name, target_id = cls._target(inv)
        if target_id is None:
            raise BadRequest(f"I don't know {handle} yet: reply to one of their messages with /{inv.command}.",
                             f"我还不认识 {handle}：请用 /{inv.command} 回复其一条消息。")
        return name, target_id

    async def trust(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        name, target_id = self._known_member(inv)
        trust = inv.command == "trust"
        target = await self.s.store.find_user(inv.place.platform, target_id)
        if target is None:
            if not trust:
                await out.text(tr(lang, f"{name} is not trusted here.", f"{name} 在这里不是受信任成员。"))
                return
            target = await self.s.store.user(inv.place.platform, target_id)  # trust is a privilege: it needs a row
        await self.s.store.set_trusted(inv.place.platform, inv.place.server_id, target.id, trust)
        await out.text(tr(lang, f"{name} is now trusted here." if trust else f"{name} is no longer trusted here.",
                          f"{name} 现在是这里的受信任成员。" if trust else f"{name} 不再是这里的受信任成员。"))

    async def purge(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        name, target_id = self._known_member(inv)
        target = await self.s.store.find_user(inv.place.platform, target_id)
        if target is not None:
            await self.s.store.purge_member(inv.place.platform, inv.place.server_id, target.id)
        await out.text(tr(lang, f"{name}: shares and history in this server deleted.", f"{name}：在本服务器的共享和历史已删除。"))

