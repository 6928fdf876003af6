"""A user's own data: /voice, /share, /forget (with a confirmation bound to them) and /cancel."""

from __future__ import annotations

import time

from ...storage import PendingAction, User
from ...storage.spend import user_scope
from ..errors import BadRequest
from ..invocation import Invocation, Responder
from ..command_spec import TEXT_CHATS, Access, CommandSpec, DiscordShape, HelpEntry
from ..messages import tr
from .base import Handler, Services
from .confirm import Confirmations


OFF_WORDS = ("off", "stop", "revoke", "关闭", "取消")
#: The button of a use notice: ``shareoff:<server id>`` stops the presser's own share there.
SHARE_OFF_BUTTON = "shareoff:"


SPECS = (
    CommandSpec("voice", Access.OPEN, ("About your voice", "你的声音"), discord=DiscordShape.PLAIN,
                text_help=HelpEntry(("/voice — about your voice", "/voice —— 查看你的声音")),
                discord_help=HelpEntry(("/voice — about your voice", "/voice —— 查看你的声音"))),
    CommandSpec(
        "share", Access.SPEAK, ("Share your voice here; in private: where it is shared", "共享声音；私聊中：查看共享"),
        discord=DiscordShape.CUSTOM,
        text_help=HelpEntry((
            "/share [off] — let this group use your voice (/say as @you); in private: where it is shared; "
            "/share notify on — a message each time it is used",
            "/share [off] —— 允许本群使用你的声音（/say as @你）；私聊中：查看在哪里共享；"
            "/share notify on —— 每次被使用时通知你")),
        discord_help=HelpEntry((
            "/share [off] — let this server use your voice (/say as_member); in a DM: where it is shared; "
            "/share notify:True — a DM each time it is used",
            "/share [off] —— 允许本服务器使用你的声音（/say as_member）；私信中：查看在哪里共享；"
            "/share notify:True —— 每次被使用时私信通知你"))),
    CommandSpec("forget", Access.OPEN, ("Delete everything the bot keeps about you", "删除你的全部数据"),
                discord=DiscordShape.PLAIN,
                text_help=HelpEntry(("/forget — delete everything I keep about you", "/forget —— 删除我保存的你的全部数据")),
                discord_help=HelpEntry(("/forget — delete everything I keep about you",
                                        "/forget —— 删除我保存的你的全部数据"))),
    CommandSpec("engine", Access.OPEN, ("Which voice engine makes your notes", "选择语音引擎"),
                discord=DiscordShape.CUSTOM,
                text_help=HelpEntry(("/engine [NAME | auto] — which engine makes your notes (try a new one early)",
                                     "/engine [名称 | auto] —— 选择为你生成语音的引擎（可提前试用新引擎）")),
                discord_help=HelpEntry(("/engine [name] — which engine makes your notes (auto: the bot decides)",
                                        "/engine [name] —— 选择为你生成语音的引擎（auto：由机器人决定）"))),
    CommandSpec("myusage", Access.OPEN, ("Your voice notes and what is left today", "你的用量与今天剩余额度"),
                discord=DiscordShape.PLAIN,
                text_help=HelpEntry(("/myusage — your voice notes and what is left of today's allowance (sent to you alone)",
                                     "/myusage —— 你的语音用量和今天剩余的额度（只发给你）"))),
    CommandSpec("cancel", Access.OPEN, ("Stop a /clone or /forget in progress", "取消进行中的 /clone 或 /forget"),
                surfaces=TEXT_CHATS,
                text_help=HelpEntry(("/cancel — stop a /clone or /forget in progress",
                                     "/cancel —— 取消进行中的 /clone 或 /forget"))),
)

#: /engine words that hand the choice back to the rollout rules
AUTO_WORDS = frozenset({"auto", "自动", "off"})


class AccountCommands:
    def __init__(self, services: Services, confirmations: Confirmations) -> None:
        self.s = services
        self.confirm = confirmations

    def handlers(self) -> dict[str, Handler]:
        return {"voice": self.voice, "share": self.share, "forget": self.forget, "cancel": self.cancel,
                "engine": self.engine, "myusage": self.myusage}

    async def myusage(self, inv: Invocation, out: Responder, user: User) -> None:
        """/myusage: what this person used today against the operator's budgets, and over 30 days,
        to them alone."""
        lang = user.language
        alone = await self.s.answer_alone(
            out, lang, ("I send your usage to you alone. Open a chat with me, then send /myusage again.",
                        "你的用量只发给你本人。请先打开与我的私聊，再发送 /myusage。"),
            ("I sent it to you in a private message.", "我已私信发给你。"))
        if alone is None:
            return
        today = await self.s.store.spend.spent(user_scope(inv.actor.platform, inv.actor.user_id))
        month = await self.s.store.user_usage(user.id, time.time() - 30 * 86400)
        budgets = self.s.settings.budgets

        def of(used: float, cap: float) -> str:
            if not cap:
                return tr(lang, f"{used:.0f} s (no daily limit)", f"{used:.0f} 秒（无每日上限）")
            return tr(lang, f"{used:.0f} s of {cap:.0f} s ({max(0.0, cap - used):.0f} s left)",
                      f"{used:.0f} / {cap:.0f} 秒（剩 {max(0.0, cap - used):.0f} 秒）")

        await alone.text("\n".join((
            tr(lang, "Today (UTC, renews at 00:00):", "今天（UTC，0 点重置）："),
            tr(lang, f"• speech: {of(today.audio_s, budgets.speech_s)}", f"• 语音：{of(today.audio_s, budgets.speech_s)}"),
            tr(lang, f"• compute: {of(today.compute_s, budgets.compute_s)}", f"• 计算：{of(today.compute_s, budgets.compute_s)}"),
            tr(lang, f"Last 30 days: {month.notes} voice note{'' if month.notes == 1 else 's'}, "
                     f"{month.audio_s / 60:.1f} min of speech, {month.compute_s / 60:.1f} min of compute.",
               f"最近 30 天：{month.notes} 条语音，{month.audio_s / 60:.1f} 分钟语音，{month.compute_s / 60:.1f} 分钟计算。"),
            tr(lang, "A server may set its own daily quotas too (/policy there).", "服务器也可以设置自己的每日额度（在那里用 /policy 查看）。"))))

    async def voice(self, inv: Invocation, out: Responder, user: User) -> None:
        stored = await self.s.store.voice(user.id)
        if stored is None:
            await out.text(tr(user.language, "You have no voice yet. Send /clone to make one.", "你还没有声音。发送 /clone 来录制。"))
            return
        shares = await self.s.store.shares(user.id)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stored.created_at))
        lang = user.language
        usable = [e for e in stored.profiles if self.s.profile(stored, e) is not None]
        engines = ", ".join(usable) if usable else tr(lang, "none running now", "当前运行的引擎都不能使用")
        text = tr(lang, f"Your voice: made {when}, usable on: {engines}. Shared in {len(shares)} place(s).",
                  f"你的声音：{when} 制作，可用的引擎：{engines}。已在 {len(shares)} 处共享。")
        if not usable:
            text += tr(lang, " The engine has changed since: please /clone again.", " 引擎已更新：请重新 /clone。")
        elif len(usable) < len(self.s.engine.available):
            text += tr(lang, " A new /clone adds the other engines.", " 重新 /clone 可添加其他引擎。")
        await out.text(text)

    async def engine(self, inv: Invocation, out: Responder, user: User) -> None:
        """/engine: which engine makes this user's notes; /engine NAME opts in, /engine auto out."""
        lang = user.language
        running = list(self.s.engine.available)
        wanted = inv.args.strip().lower()
        if not wanted:
            chosen = await self.s.route(inv, user)
            await out.text(tr(lang, f"Engines running: {', '.join(running)}. Your notes here: {chosen.engine}. "
                                    "Send /engine NAME to choose one, /engine auto to let the bot decide.",
                              f"正在运行的引擎：{'、'.join(running)}。你在这里的语音由 {chosen.engine} 生成。"
                              "发送 /engine 名称 选择引擎，/engine auto 交给机器人决定。"))
            return
        if not self.s.rollout.user_choice:
            raise BadRequest("Choosing an engine is turned off on this bot.", "这个机器人已关闭选择引擎的功能。")
        if wanted in AUTO_WORDS:
            await self.s.store.set_engine_choice(user.id, None)
            await out.text(tr(lang, "Done: the bot chooses the engine for your notes again.", "好的：重新由机器人为你选择引擎。"))
            return
        if wanted not in running:
            raise BadRequest(f"There is no engine {wanted!r} running. Choose one of: {', '.join(running)}, or auto.",
                             f"没有正在运行的引擎 {wanted!r}。可选：{'、'.join(running)}，或 auto。")
        await self.s.store.set_engine_choice(user.id, wanted)
        text = tr(lang, f"Done: your notes are made with {wanted} from now on.", f"好的：从现在起你的语音由 {wanted} 生成。")
        stored = await self.s.store.voice(user.id)
        if stored is not None and self.s.profile(stored, wanted) is None:
            text += tr(lang, f" Your voice has no {wanted} version yet: until a new /clone, another engine speaks it.",
                       f" 你的声音还没有 {wanted} 版本：在重新 /clone 之前，由其他引擎朗读。")
        await out.text(text)

    async def share(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        words = inv.args.strip().lower().split()
        if words and words[0] in ("notify", "通知"):
            await self._notices(out, user, words[1:])
            return
        if inv.place.is_private:
            await self._shares_from_private_chat(inv, out, user)
            return
        off = inv.args.strip().lower() in OFF_WORDS
        if not off:
            policy = (await self.s.context(inv, user)).policy
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

    async def _notices(self, out: Responder, user: User, words: list[str]) -> None:
        """/share notify on|off: a private message each time someone uses your shared voice."""
        choice = words[0] if words else ""
        if choice not in ("on", "off", "开", "关"):
            raise BadRequest("Use /share notify on to get a private message each time someone uses your shared voice, "
                             "/share notify off to stop them.",
                             "用 /share notify on 在每次有人使用你共享的声音时收到私信，/share notify off 停止。")
        on = choice in ("on", "开")
        await self.s.store.set_share_notices(user.id, on)
        await out.text(tr(user.language, "I'll message you privately each time someone uses your shared voice, with a "
                          "button to stop sharing there." if on else "No more messages when your voice is used.",
                          "每次有人使用你共享的声音时，我会私信你，并附上停止在该处共享的按钮。" if on else
                          "不再在你的声音被使用时通知你。"))

    async def on_share_off_button(self, inv: Invocation, out: Responder, user: User) -> None:
        """The one-tap "stop sharing there" of a notice: it revokes only the presser's own share."""
        server = inv.args.partition(":")[2]
        if not server:
            raise BadRequest("This button is no longer active.", "此按钮已失效。")
        await self.s.store.set_shared(user.id, inv.place.platform, server, False)
        await out.text(tr(user.language, "Your voice is no longer shared there, at once (also for requests under way).",
                          "你的声音已立即停止在那里共享（正在进行的请求也会停止）。"))

    async def _shares_from_private_chat(self, inv: Invocation, out: Responder, user: User) -> None:
        """/share in a private chat: where the voice is shared, and revoking any of those places
        (reachable even after leaving, or being banned from, the group)."""
        lang = user.language
        shares = await self.s.store.shares(user.id)
        words = inv.args.strip().lower().split()
        if words and words[0] in OFF_WORDS:
            which = words[1] if len(words) > 1 else "all"
            if which in ("all", "全部"):
                chosen = shares
            elif which.isdigit() and 1 <= int(which) <= len(shares):
                chosen = [shares[int(which) - 1]]
            else:
                raise BadRequest(f"Use /share off N with a number from the list (1–{max(1, len(shares))}), or /share off all.",
                                 f"请用 /share off 加列表中的编号（1–{max(1, len(shares))}），或 /share off all。")
            for platform, server in chosen:
                await self.s.store.set_shared(user.id, platform, server, False)
            await out.text(tr(lang, f"Stopped sharing your voice in {len(chosen)} place(s), at once (also for "
                              "requests already under way).",
                              f"已立即停止在 {len(chosen)} 处共享你的声音（正在进行的请求也会停止）。"))
            return
        if words:
            raise BadRequest("Here, /share lists where your voice is shared; /share off N or /share off all revokes. To "
                             "share, use /share in that server or group.",
                             "在这里，/share 列出你的声音在哪里共享；/share off N 或 /share off all 撤销。要共享，请在该群/服务器里使用 /share。")
        if not shares:
            await out.text(tr(lang, "Your voice is not shared anywhere. (To share it, use /share in a server or group.)",
                              "你的声音没有在任何地方共享。（要共享，请在群/服务器里使用 /share。）"))
            return
        lines = [f"{i}. {platform} {'server' if platform == 'discord' else 'group'} {server}"
                 for i, (platform, server) in enumerate(shares, 1)]
        await out.text(tr(lang, "Your voice is shared in:\n", "你的声音在以下地方共享：\n") + "\n".join(lines)
                       + tr(lang, "\n/share off N stops one of them, /share off all stops all.",
                            "\n/share off N 停止其中一处，/share off all 全部停止。"))

    async def forget(self, inv: Invocation, out: Responder, user: User) -> None:
        action = await self.confirm.open(user, "forget")
        days = self.s.settings.voice_use_retention_days
        await out.text(
            tr(user.language,
               "Delete your voice, consent records, shares, pending requests and history everywhere? This cannot be "
               "undone. (Each server keeps its own moderation records and they stay: blocks placed on your account, "
               f"for {days} days a record of each time you used another member's shared voice there — who, whose "
               "voice, when, and a keyed hash of the text, never the text itself — and the counts of what its voice "
               "notes cost, no longer linked to you.)",
               "删除你在所有地方的声音、同意记录、共享、进行中的请求和历史？此操作无法撤销。"
               "（每个服务器自己的管理记录会保留：对你账号设置的封禁，以及在 "
               f"{days} 天内你在那里使用其他成员共享声音的记录——谁、谁的声音、何时、文本的加密哈希，绝不保存文本本身——"
               "以及该服务器语音用量的统计，不再与你关联。）"),
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
