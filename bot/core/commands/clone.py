"""/clone: consent first, then the user's own live recording becomes their voice profile.

The recording is kept in memory only (never written to disk) and dropped once the profile is
computed; only a hash of it is stored with the consent record.
"""

from __future__ import annotations

import hashlib
import logging
import time

from indextts_core.audio import MAX_UPLOAD_BYTES
from indextts_core.engine import VoiceProfile
from indextts_core.speaker import similarity

from ...storage import AuditEntry, Consent, PendingAction, StoredProfile, User
from ..consent import MIN_SENTENCE_MATCH, code_matches, consent_sentence, new_code
from ..errors import BadRequest, CloneClosed, CloneRefused
from ..invocation import AudioIn, Invocation, Responder
from ..command_spec import Access, CommandSpec, DiscordShape, HelpEntry, event
from ..messages import tr
from ..tasks import RENDERED_VOICE_MATCH, CloneTask, RenderTask, embedding_vector
from .base import Handler, Services
from .confirm import Confirmations

log = logging.getLogger(__name__)

PREVIEW_TEXT = {"en": "Hi! This is my new voice. How do I sound?", "zh": "你好！这是我的新声音，听起来怎么样？"}

#: Where each platform's user records and sends the clip (shown after "I agree").
WHERE_TO_RECORD = {
    "telegram": ("Record it here in this chat with the microphone button (hold to record).",
                 "请在这个聊天里按住麦克风按钮录制。"),
    "discord": ("Send it to me here in our direct messages as a voice message: in the Discord mobile app, hold the "
                "microphone button. Desktop clients cannot record voice messages — use your phone, or attach a "
                "recording of it with /clone recording:.",
                "请在与我的私信里发送一条语音消息：在 Discord 手机应用里按住麦克风按钮录制。电脑客户端无法录制语音消息——"
                "请用手机，或用 /clone recording: 附上这段录音。"),
    "console": ("Then type /clone PATH, the path of the recording file.", "然后输入 /clone 路径（录音文件的路径）。"),
}


SPECS = (
    CommandSpec(
        "clone", Access.CLONE, ("Record your voice", "录制你的声音"), discord=DiscordShape.CUSTOM,
        text_help=HelpEntry(("/clone — make your voice (consent first, in a private chat)",
                             "/clone —— 录制你的声音（先同意，在私聊中进行）")),
        discord_help=HelpEntry((
            "/clone — make your voice: agree, then send a voice message to me in a DM (record it in the Discord "
            "mobile app: desktop clients cannot record voice messages), or attach it with /clone recording:",
            "/clone —— 录制你的声音：先同意，再私信给我一条语音消息（请用 Discord 手机应用录制：电脑客户端无法录制语音消息），"
            "或用 /clone recording: 附上它"))),
    event("audio"),
)

class CloneCommands:
    def __init__(self, services: Services, confirmations: Confirmations) -> None:
        self.s = services
        self.confirm = confirmations

    def handlers(self) -> dict[str, Handler]:
        return {"clone": self.clone, "audio": self.audio}

    async def clone(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        # Telegram groups: cloning happens in a private chat, so the recording stays between us.
        if not inv.place.is_private and await out.offer_private_chat(
                tr(lang, "Voice cloning happens in a private chat with me, so your recording stays between us.",
                   "声音克隆在与我的私聊中进行，这样你的录音只在我们之间。"),
                tr(lang, "Open private chat", "打开私聊")):
            return
        pending = await self.s.store.latest_pending(user.id, "consent")
        if inv.audio is not None and pending is not None and pending.status == "agreed" and time.time() <= pending.expires_at:
            await self._clone_from(inv, out, user, pending, inv.audio)
            return
        code = new_code()
        action = await self.confirm.open(user, "consent", method=self.s.settings.consent_mode, code=code,
                                         sentence=consent_sentence(code, lang), language=lang)
        await out.text(
            tr(lang,
               "Voice cloning makes a synthetic copy of your voice. I keep a voice profile (numbers that "
               "describe your voice), the consent record and a fingerprint of the recording — not the "
               "recording itself. Only you can use your voice unless you /share it; /forget deletes it all.\n"
               "Do you agree?",
               "声音克隆会生成你声音的合成副本。我只保存声音特征（描述你声音的数字）、同意记录和录音指纹，"
               "不保存录音本身。除非你 /share，只有你能使用你的声音；/forget 会全部删除。\n你同意吗？"),
            self.confirm.buttons(action, lang, tr(lang, "I agree", "我同意")))

    async def on_consent_button(self, inv: Invocation, out: Responder, user: User, action: PendingAction, yes: bool) -> None:
        lang = user.language
        if not yes:
            await self.confirm.cancel(action, out, user)
            return
        if not await self.s.store.set_pending_status(action.token, "agreed", ("open",)):
            raise BadRequest("You already agreed: now send the recording.", "你已经同意：现在请发送录音。")
        where = tr(lang, *WHERE_TO_RECORD.get(inv.actor.platform, WHERE_TO_RECORD["telegram"]))
        if action.method == "spoken":
            await out.text(tr(lang,
                              "Thank you. Now record a voice message reading this sentence aloud, clearly, "
                              f"in a quiet place. {where}\n\n{action.sentence}",
                              f"谢谢。现在请在安静的地方录一条语音消息，用普通话清楚地朗读下面这句话。{where}\n\n{action.sentence}"))
        else:
            await out.text(tr(lang, f"Thank you. Now record a voice message of 5–30 seconds: say anything, in a quiet place. {where}",
                              f"谢谢。现在请在安静的地方录一条 5–30 秒的语音消息，说什么都可以。{where}"))

    async def audio(self, inv: Invocation, out: Responder, user: User) -> None:
        """A voice message outside a command: the recording for a /clone in progress, if any."""
        lang = user.language
        pending = await self.s.store.latest_pending(user.id, "consent")
        live = pending is not None and time.time() <= pending.expires_at
        if not inv.place.is_private:
            if live and pending.status == "agreed":  # type: ignore[union-attr]
                await out.text(tr(lang, "Please send your /clone recording to me in a private chat, not here: "
                                  "the recording should stay between us.",
                                  "请在与我的私聊中发送 /clone 的录音，而不是在这里：录音应只在我们之间。"))
            return  # other voice messages in servers are conversation, not for us
        if pending is None or inv.audio is None:
            await out.text(tr(lang, "To use this as your voice, send /clone first.", "如要用它作为你的声音，请先发送 /clone。"))
        elif pending.status == "cancelled":
            await out.text(tr(lang, "You cancelled /clone. Send /clone to start again.", "你已取消 /clone。请重新发送 /clone。"))
        elif pending.status == "done":
            await out.text(tr(lang, "Your voice is already made. To record it again, send /clone.",
                              "你的声音已经做好了。如要重录，请发送 /clone。"))
        elif not live:
            await out.text(tr(lang, "Your /clone request expired (it lasts 15 minutes). Send /clone to start again.",
                              "你的 /clone 请求已过期（有效期 15 分钟）。请重新发送 /clone。"))
        elif pending.status == "open":
            await out.text(tr(lang, "Please press \"I agree\" above first (or send /clone again).",
                              "请先点击上面的“我同意”（或重新发送 /clone）。"))
        else:
            await self._clone_from(inv, out, user, pending, inv.audio)

    def _precheck(self, audio: AudioIn) -> None:
        limits = self.s.settings
        if audio.forwarded:
            raise BadRequest("Please record your own voice message: forwarded messages can't be used, because the voice "
                             "must belong to the person who agreed.",
                             "请录制你自己的语音：不能使用转发的消息，因为声音必须属于同意的人本人。")
        if not audio.is_voice_note:
            raise BadRequest("Please record a voice message with the microphone button: audio files can't be used, "
                             "because I must hear the person who agreed, live.",
                             "请用麦克风按钮录制语音消息：不能使用音频文件，因为我必须听到同意者本人的声音。")
        span = f"{limits.min_reference_seconds:g}–{limits.max_reference_seconds:g}"  # the limits themselves, never a copy
        if audio.size is not None and audio.size > MAX_UPLOAD_BYTES:
            raise BadRequest(f"That recording is too large (over 20 MB). Please send {span} seconds.",
                             f"录音太大（超过 20 MB）。请发送 {span} 秒。")
        if audio.duration is not None and audio.duration > limits.max_reference_seconds:
            raise BadRequest(f"That recording is {audio.duration:.0f} s long; please send {span} seconds.",
                             f"录音长 {audio.duration:.0f} 秒；请发送 {span} 秒。")
        if audio.duration is not None and audio.duration < limits.min_reference_seconds:
            raise BadRequest(f"That recording is only {audio.duration:.1f} s; please speak for at least "
                             f"{limits.min_reference_seconds:g} seconds.",
                             f"录音只有 {audio.duration:.1f} 秒；请至少说 {limits.min_reference_seconds:g} 秒。")

    async def _clone_from(self, inv: Invocation, out: Responder, user: User, pending: PendingAction, audio: AudioIn) -> None:
        """Check the recording, then (only when it passes) make the profiles.

        Against someone tuning a fake: every recording counts towards a daily limit, taken before
        any compute; every sign of laundering gets one refusal text (:class:`CloneRefused`); a
        recording of the bot's own speech or of another user's rendered voice closes /clone to the
        account for a while and leaves a record; the profile is made only after consent passed.
        """
        lang = user.language
        self._precheck(audio)
        settings = self.s.settings
        if not await self.s.store.take_clone_attempt(inv.actor.platform, inv.actor.user_id,
                                                     settings.clone_attempts_per_day, time.time()):
            raise CloneClosed()
        await out.text(tr(lang, "Got it — checking your recording and making your voice. This takes a few seconds "
                          "(up to a minute the first time after a restart)…",
                          "收到——正在检查录音并制作你的声音。需要几秒钟（重启后第一次最多一分钟）……"))
        data = await audio.fetch()  # kept in memory only: raw audio never touches the disk
        if len(data) > MAX_UPLOAD_BYTES:
            span = f"{settings.min_reference_seconds:g}–{settings.max_reference_seconds:g}"
            raise BadRequest(f"That recording is too large (over 20 MB). Please send {span} seconds.",
                             f"录音太大（超过 20 MB）。请发送 {span} 秒。")
        digest = hashlib.sha256(data).hexdigest()
        checked = await self.s.run(inv, out, CloneTask(data, pending.method, pending.code, pending.language))
        # The bot's own speech (its mark, its default voice) or a voice it renders for someone else:
        # whatever the recording says, it is not this person reading live.
        if checked.synthetic or await self._matches_rendered_voice(user, checked.embedding):
            await self._lock(inv, "synthetic" if checked.synthetic else "rendered voice")
            raise CloneRefused()
        check = checked.check
        if check is not None and not check.accepted:
            # A retake is asked for only when the sentence was read and its code was not heard
            # right (Whisper mishears digits); every other failure is the one refusal.
            if check.score >= MIN_SENTENCE_MATCH and not code_matches(pending.code, check.code_heard):
                raise BadRequest("I could not hear the code correctly. Please record the sentence again, reading the code "
                                 "words slowly (the same sentence as above).",
                                 "我没有听清验证码。请再录一次，慢慢读出验证码（同上面的句子）。")
            raise CloneRefused()
        if not await self.confirm.finish(pending):
            raise BadRequest("This /clone request was cancelled or already used. Send /clone to start again.",
                             "该 /clone 请求已取消或已使用。请重新发送 /clone。")
        text_shown = pending.sentence if pending.method == "spoken" else "button consent: " + pending.sentence
        consent = Consent(user.id, pending.method, text_shown, check.transcript if check else None,
                          check.score if check else None, digest, time.time())
        # One profile per engine that runs now, from the one recording (which is not kept).
        profiles = await self._profiles(inv, out, data)
        profile = profiles[0]
        await self.s.store.save_voice(user.id, [StoredProfile(p.engine, p.version, p.to_bytes()) for p in profiles],
                                      profile.meta, consent)
        await out.text(tr(lang, "Your voice is ready. Try /say Hello! — here is a preview:", "你的声音已就绪。试试 /say 你好！——先听听预览："))
        mark = await self.s.new_mark()
        preview = await self.s.run(inv, out, RenderTask(PREVIEW_TEXT[lang], profile.to_bytes(), mark=mark, embed_speaker=True,
                                                        engine=profile.engine))
        if preview.embedding is not None:  # the voice as the bot renders it: no one may clone it again
            await self.s.store.save_rendered_voice(user.id, preview.embedding)
        await out.voice(preview.ogg, preview.duration, preview.waveform)
        await self.s.store.audit(AuditEntry(user.id, inv.place.platform, inv.place.server_id,
                                            hashlib.sha256(PREVIEW_TEXT[lang].encode()).hexdigest(), "neutral",
                                            preview.duration, voice_owner_id=user.id, mark=mark))

    async def _lock(self, inv: Invocation, reason: str) -> None:
        """Close /clone to this account for ``clone_lockout_hours`` and keep the moderation record."""
        now = time.time()
        hours = self.s.settings.clone_lockout_hours
        await self.s.store.lock_clone(inv.actor.platform, inv.actor.user_id, reason, now + hours * 3600, now)
        log.warning("/clone closed for %d h to %s user %s: the recording was %s", hours, inv.actor.platform,
                    inv.actor.user_id, "the bot's own speech" if reason == "synthetic" else "another user's rendered voice")

    async def _profiles(self, inv: Invocation, out: Responder, data: bytes) -> list[VoiceProfile]:
        """A profile by every engine that runs now, the primary's first: its refusal of the clip
        (too noisy, too little speech) is the user's answer; another engine's failure leaves only
        that engine without the voice.  One after another: a user's jobs are bounded."""
        primary = self.s.engine.name or ""
        engines = [primary] + [e for e in self.s.engine.available if e != primary]
        profiles = []
        for engine in engines:
            try:
                made = await self.s.run(inv, out, CloneTask(data, "profile", "", "", engine=engine))
            except Exception as exc:
                if engine == primary:
                    raise
                log.warning("no %s profile for this voice: %s", engine, exc)
                continue
            profiles.append(made.profile)
        return profiles

    async def _matches_rendered_voice(self, user: User, embedding: bytes | None) -> bool:
        """Is this recording another user's voice as the bot renders it (a re-recorded or joined
        /say note)?  The caller never says whose."""
        if embedding is None:
            return False
        mine = embedding_vector(embedding)
        return any(similarity(mine, embedding_vector(other)) >= RENDERED_VOICE_MATCH
                   for other in await self.s.store.rendered_voices(except_user=user.id))
