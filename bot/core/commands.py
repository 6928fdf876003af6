"""The command layer: every command written once, for every adapter."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from indextts_core.audio import MAX_UPLOAD_BYTES, encode_ogg_opus, ogg_opus_info, waveform
from indextts_core.emotion import CHINESE_NAMES
from indextts_core.engine import EMOTIONS, EmotionSpec, VoiceProfile
from indextts_core.errors import IndexTTSError

from ..storage import AuditEntry, Consent, Policy, Store, User
from .consent import PendingConsent, Transcriber, check_transcript, code_matches, consent_sentence, new_code
from .errors import BadRequest, BotError, PermissionDenied
from .invocation import AudioIn, Button, Invocation, Responder
from .jobs import JobQueue
from .permissions import Role, decide, resolve_role
from .say_args import parse_say
from .textclean import clean_text, has_words

log = logging.getLogger(__name__)

PREVIEW_TEXT = {"en": "Hi! This is my new voice. How do I sound?", "zh": "你好！这是我的新声音，听起来怎么样？"}
CONSENT_TTL_S = 15 * 60
RECORDING_PING_S = 4.0


@dataclass(frozen=True)
class Settings:
    """Command-layer settings from the [bot] config table."""

    consent_mode: str = "spoken"  # spoken | button
    upload_dir: Path = Path("data/uploads")
    max_reference_seconds: float = 30.0
    min_reference_seconds: float = 3.0


def _t(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


class CommandLayer:
    """Turns invocations into replies.  Adapters only translate platform objects."""

    def __init__(self, store: Store, engine: Any, jobs: JobQueue, transcriber: Optional[Transcriber] = None,
                 settings: Settings = Settings()) -> None:
        if settings.consent_mode == "spoken" and transcriber is None:
            raise ValueError("spoken consent needs a transcriber (install faster-whisper) or consent_mode = 'button'")
        self.store = store
        self.engine = engine
        self.jobs = jobs
        self.transcriber = transcriber
        self.settings = settings
        self._pending: dict[tuple[str, str], PendingConsent] = {}
        self._handlers: dict[str, Callable[[Invocation, Responder, User], Awaitable[None]]] = {
            "start": self.cmd_start, "help": self.cmd_help, "emotions": self.cmd_emotions, "voice": self.cmd_voice,
            "forget": self.cmd_forget, "clone": self.cmd_clone, "say": self.cmd_say, "share": self.cmd_share,
            "button": self.on_button, "audio": self.on_audio, "cancel": self.cmd_cancel,
            "policy": self.cmd_policy, "block": self.cmd_block, "unblock": self.cmd_block,
            "trust": self.cmd_trust, "untrust": self.cmd_trust, "purge": self.cmd_purge,
        }

    @property
    def commands(self) -> list[str]:
        return [c for c in self._handlers if c not in ("button", "audio")]

    # ------------------------------------------------------------------ entry point
    async def handle(self, inv: Invocation, out: Responder) -> None:
        """Run one invocation; every failure becomes a short message, never a traceback."""
        lang = inv.actor.language
        try:
            handler = self._handlers.get(inv.command)
            if handler is None:
                raise BadRequest(f"Unknown command /{inv.command}. Send /help for the list.", f"未知命令 /{inv.command}。发送 /help 查看命令列表。")
            user = await self.store.user(inv.actor.platform, inv.actor.user_id, inv.actor.language)
            role = await self.role(inv, user)
            policy = await self.store.policy(inv.place.platform, inv.place.server_id)
            blocked = not inv.place.is_private and await self.store.is_blocked(inv.place.platform, inv.place.server_id, user.id)
            verdict = decide(inv.command, role, policy, blocked)
            if not verdict.allowed:
                raise PermissionDenied(verdict.reason_en, verdict.reason_zh)
            await handler(inv, out, user)
        except BotError as exc:
            await out.text(exc.message(lang))
        except IndexTTSError as exc:
            await out.text(str(exc))
        except Exception:
            log.exception("command %s failed", inv.command)
            await out.text(_t(lang, "Sorry, something went wrong on my side. Please try again.", "抱歉，我这边出了点问题，请再试一次。"))

    async def role(self, inv: Invocation, user: User) -> Role:
        trusted = await self.store.is_trusted(inv.place.platform, inv.place.server_id, user.id)
        if not trusted and inv.actor.roles:
            policy = await self.store.policy(inv.place.platform, inv.place.server_id)
            trusted = policy.say_role is not None and policy.say_role in inv.actor.roles
        return resolve_role(inv.actor.is_owner, inv.actor.is_platform_admin, trusted, inv.place.is_private)

    async def _run(self, user_key: str, out: Responder, fn: Callable[[], Any]) -> Any:
        """Queue blocking work and keep the "recording voice…" indicator alive until it is done."""
        future = self.jobs.submit(user_key, fn)
        while True:
            await out.recording()
            done, _ = await asyncio.wait({future}, timeout=RECORDING_PING_S)
            if done:
                return future.result()

    # ------------------------------------------------------------------ information
    async def cmd_start(self, inv: Invocation, out: Responder, user: User) -> None:
        await out.text(_t(
            user.language,
            "Hi! I turn your text into voice notes — in your own voice, with emotion.\n"
            "1. /clone — record about 5 seconds of your voice (you agree first).\n"
            "2. /say happy 0.7 Hello there! — I answer with a voice note.\n"
            "Send /help for everything else. Your data is yours: /forget deletes it all.",
            "你好！我会把文字变成语音消息——用你自己的声音，还能带情绪。\n"
            "1. /clone —— 录大约 5 秒你的声音（需要你先同意）。\n"
            "2. /say 高兴 0.7 你好！—— 我会回复一条语音。\n"
            "发送 /help 查看全部命令。你的数据属于你：/forget 会全部删除。"))

    async def cmd_help(self, inv: Invocation, out: Responder, user: User) -> None:
        await out.text(_t(
            user.language,
            "/say [emotion] [0-1] [x1.1 | 3.2s] text — speak text (reply to a message to voice it; "
            "reply to a voice note to copy its emotion). Emotion can also be v=0,1,0,0,0,0,0,0 or a "
            "description in quotes: \"trembling with fear\".\n"
            "/clone — make your voice (consent first)\n/voice — about your voice\n"
            "/share [off] — let this server use your voice (/say as @you)\n/emotions — the 8 emotions\n"
            "/forget — delete everything I keep about you\n"
            "Admins: /policy, /policy set <clone on|off | say everyone|role|admins | role NAME | cooldown N | "
            "max_chars N | shared on|off>, /block @user, /unblock @user, /trust @user, /untrust @user, /purge @user",
            "/say [情绪] [0-1] [x1.1 | 3.2s] 文本 —— 朗读文本（回复一条消息即朗读它；回复语音则模仿其情绪）。"
            "情绪也可以写成 v=0,1,0,0,0,0,0,0 或带引号的描述：\"冷笑着说\"。\n"
            "/clone —— 录制你的声音（先同意）\n/voice —— 查看你的声音\n"
            "/share [off] —— 允许本服务器使用你的声音\n/emotions —— 8 种情绪\n/forget —— 删除我保存的你的全部数据\n"
            "管理员：/policy、/policy set …、/block @用户、/unblock @用户、/trust @用户、/untrust @用户、/purge @用户"))

    async def cmd_emotions(self, inv: Invocation, out: Responder, user: User) -> None:
        lines = [f"{e} / {CHINESE_NAMES[e]}" for e in EMOTIONS]
        await out.text(_t(user.language, "Emotions (add an intensity 0–1):\n", "情绪（可加强度 0–1）：\n")
                       + "\n".join(lines) + "\n" + _t(user.language, "Example: /say sad 0.6 I miss you.", "例如：/say 悲伤 0.6 我想你了。"))

    async def cmd_voice(self, inv: Invocation, out: Responder, user: User) -> None:
        stored = await self.store.voice(user.id)
        if stored is None:
            await out.text(_t(user.language, "You have no voice yet. Send /clone to make one.", "你还没有声音。发送 /clone 来录制。"))
            return
        shares = await self.store.shares(user.id)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stored.created_at))
        outdated = stored.engine != self.engine.name or stored.version != self.engine.version
        text = _t(user.language, f"Your voice: made {when} with {stored.engine} {stored.version}. Shared in {len(shares)} place(s).",
                  f"你的声音：{when} 由 {stored.engine} {stored.version} 生成。已在 {len(shares)} 处共享。")
        if outdated:
            text += _t(user.language, " The engine has changed since: please /clone again.", " 引擎已更新：请重新 /clone。")
        await out.text(text)

    # ------------------------------------------------------------------ forget
    async def cmd_forget(self, inv: Invocation, out: Responder, user: User) -> None:
        await out.text(
            _t(user.language, "Delete your voice, consent records, shares and history everywhere? This cannot be undone.",
               "删除你在所有地方的声音、同意记录、共享和历史？此操作无法撤销。"),
            [Button(_t(user.language, "Yes, delete everything", "是的，全部删除"), "forget:yes"),
             Button(_t(user.language, "Cancel", "取消"), "cancel")])

    async def _forget(self, inv: Invocation, out: Responder, user: User) -> None:
        self._pending.pop((inv.actor.platform, inv.actor.user_id), None)
        for path in self._upload_paths(inv):
            path.unlink(missing_ok=True)
        await self.store.forget(user.id)
        await out.text(_t(user.language, "Done: everything I kept about you is deleted.", "已完成：我保存的你的所有数据都已删除。"))

    def _upload_paths(self, inv: Invocation) -> list[Path]:
        prefix = f"{inv.actor.platform}-{inv.actor.user_id}-"
        d = self.settings.upload_dir
        return [p for p in d.glob(prefix + "*")] if d.exists() else []

    async def cmd_cancel(self, inv: Invocation, out: Responder, user: User) -> None:
        self._pending.pop((inv.actor.platform, inv.actor.user_id), None)
        await out.text(_t(user.language, "Cancelled. Nothing was changed.", "已取消，没有任何改动。"))

    # ------------------------------------------------------------------ clone
    async def cmd_clone(self, inv: Invocation, out: Responder, user: User) -> None:
        key = (inv.actor.platform, inv.actor.user_id)
        pending = self._pending.get(key)
        if inv.audio is not None and pending is not None and pending.agreed:
            await self._clone_from(inv, out, user, pending, inv.audio)
            return
        code = new_code()
        self._pending[key] = PendingConsent(code, consent_sentence(code), time.time(), method=self.settings.consent_mode)
        await out.text(
            _t(user.language,
               "Voice cloning makes a synthetic copy of your voice. I keep a voice profile (numbers that "
               "describe your voice), the consent record and a fingerprint of the recording — not the "
               "recording itself. Only you can use your voice unless you /share it; /forget deletes it all.\n"
               "Do you agree?",
               "声音克隆会生成你声音的合成副本。我只保存声音特征（描述你声音的数字）、同意记录和录音指纹，"
               "不保存录音本身。除非你 /share，只有你能使用你的声音；/forget 会全部删除。\n你同意吗？"),
            [Button(_t(user.language, "I agree", "我同意"), "consent:yes"), Button(_t(user.language, "Cancel", "取消"), "cancel")])

    async def on_button(self, inv: Invocation, out: Responder, user: User) -> None:
        if inv.args == "forget:yes":
            await self._forget(inv, out, user)
        elif inv.args == "consent:yes":
            pending = self._pending.get((inv.actor.platform, inv.actor.user_id))
            if pending is None or time.time() - pending.created_at > CONSENT_TTL_S:
                raise BadRequest("That consent request has expired. Send /clone to start again.", "该同意请求已过期，请重新发送 /clone。")
            pending.agreed = True
            if pending.method == "spoken":
                await out.text(_t(user.language,
                                  "Thank you. Now record a voice message reading this sentence aloud (in English), "
                                  f"clearly, in a quiet place:\n\n{pending.sentence}",
                                  f"谢谢。现在请在安静的地方录一条语音消息，清楚地朗读下面这句英文：\n\n{pending.sentence}"))
            else:
                await out.text(_t(user.language, "Thank you. Now record a voice message of 5–30 seconds: say anything, in a quiet place.",
                                  "谢谢。现在请在安静的地方录一条 5–30 秒的语音消息，说什么都可以。"))
        elif inv.args == "cancel":
            await self.cmd_cancel(inv, out, user)
        else:
            raise BadRequest("This button is no longer active.", "此按钮已失效。")

    async def on_audio(self, inv: Invocation, out: Responder, user: User) -> None:
        """A voice note arrived outside a command: part of /clone if one is waiting for it."""
        pending = self._pending.get((inv.actor.platform, inv.actor.user_id))
        if pending is None or not pending.agreed or inv.audio is None:
            await out.text(_t(user.language, "To use this as your voice, send /clone first.", "如要用它作为你的声音，请先发送 /clone。"))
            return
        await self._clone_from(inv, out, user, pending, inv.audio)

    def _precheck_audio(self, audio: AudioIn) -> None:
        if audio.forwarded:
            raise BadRequest("Please record your own voice message: forwarded messages can't be used, because the voice "
                             "must belong to the person who agreed.",
                             "请录制你自己的语音：不能使用转发的消息，因为声音必须属于同意的人本人。")
        if not audio.is_voice_note:
            raise BadRequest("Please record a voice message with the microphone button: audio files can't be used, "
                             "because I must hear the person who agreed, live.",
                             "请用麦克风按钮录制语音消息：不能使用音频文件，因为我必须听到同意者本人的声音。")
        if audio.size is not None and audio.size > MAX_UPLOAD_BYTES:
            raise BadRequest("That recording is too large (over 20 MB). Please send 5–30 seconds.", "录音太大（超过 20 MB）。请发送 5–30 秒。")
        if audio.duration is not None and audio.duration > self.settings.max_reference_seconds:
            raise BadRequest(f"That recording is {audio.duration:.0f} s long; please send 5–30 seconds.",
                             f"录音长 {audio.duration:.0f} 秒；请发送 5–30 秒。")
        if audio.duration is not None and audio.duration < self.settings.min_reference_seconds:
            raise BadRequest(f"That recording is only {audio.duration:.1f} s; please speak for at least 5 seconds.",
                             f"录音只有 {audio.duration:.1f} 秒；请至少说 5 秒。")

    async def _clone_from(self, inv: Invocation, out: Responder, user: User, pending: PendingConsent, audio: AudioIn) -> None:
        lang = user.language
        self._precheck_audio(audio)
        data = await audio.fetch()
        if len(data) > MAX_UPLOAD_BYTES:
            raise BadRequest("That recording is too large (over 20 MB). Please send 5–30 seconds.", "录音太大（超过 20 MB）。请发送 5–30 秒。")
        digest = hashlib.sha256(data).hexdigest()
        self.settings.upload_dir.mkdir(parents=True, exist_ok=True)
        upload = self.settings.upload_dir / f"{inv.actor.platform}-{inv.actor.user_id}-{digest[:16]}.bin"
        await asyncio.to_thread(upload.write_bytes, data)  # up to 20 MB: not on the event loop
        try:
            profile, check = await self._run(self._job_key(inv), out, lambda: self._build_voice(upload, pending))
        finally:
            upload.unlink(missing_ok=True)  # raw audio is never kept
        if check is not None and not check.accepted:
            if not code_matches(pending.code, check.code_heard):
                raise BadRequest("I could not hear the code correctly. Please record the sentence again, reading the code "
                                 "words slowly (the same sentence as above).",
                                 "我没有听清验证码。请再录一次，慢慢读出验证码（同上面的句子）。")
            raise BadRequest("The recording does not match the consent sentence closely enough. Please read the whole "
                             "sentence above and record again.",
                             "录音与同意句子不够吻合。请完整朗读上面的句子后再录一次。")
        consent = Consent(user.id, pending.method, pending.sentence if pending.method == "spoken" else "button consent: "
                          + pending.sentence, check.transcript if check else None, check.score if check else None, digest, time.time())
        await self.store.save_voice(user.id, profile.to_bytes(), profile.engine, profile.version, profile.meta, consent)
        self._pending.pop((inv.actor.platform, inv.actor.user_id), None)
        await out.text(_t(lang, "Your voice is ready. Try /say Hello! — here is a preview:", "你的声音已就绪。试试 /say 你好！——先听听预览："))
        preview = await self._run(self._job_key(inv), out, lambda: self._render(PREVIEW_TEXT[lang], profile, None, None))
        await out.voice(preview["ogg"], preview["duration"], preview["waveform"])

    def _build_voice(self, path: Path, pending: PendingConsent):
        """Blocking: the voice profile (the engine checks the clip once) and, in spoken mode, the
        consent transcript of the same clip; the profile is dropped if consent fails."""
        from indextts_core.audio import read_audio

        audio = read_audio(path)
        profile = self.engine.create_voice(audio)
        check = None
        if pending.method == "spoken":
            assert self.transcriber is not None
            check = check_transcript(pending.code, self.transcriber.transcribe(audio.samples, audio.sample_rate))
        return profile, check

    # ------------------------------------------------------------------ say
    def _job_key(self, inv: Invocation) -> str:
        return f"{inv.actor.platform}:{inv.actor.user_id}"

    def _render(self, text: str, profile: Optional[VoiceProfile], emotion, duration) -> dict[str, Any]:
        """Blocking: synthesise and encode the voice note."""
        result = self.engine.synthesize(text, voice=profile, emotion=emotion, duration=duration)
        ogg = encode_ogg_opus(result.samples, result.sample_rate, tags={
            "comment": "synthetic speech", "software": f"indextts-voicebot {result.engine} {result.version}"})
        return {"ogg": ogg, "duration": ogg_opus_info(ogg).duration, "waveform": waveform(result.samples)}

    async def cmd_say(self, inv: Invocation, out: Responder, user: User) -> None:
        req = parse_say(inv.args)
        policy = await self.store.policy(inv.place.platform, inv.place.server_id)
        raw = req.text or (inv.reply_text or "")
        if not raw.strip():
            raise BadRequest("What should I say? Example: /say happy 0.7 Hello there! (or reply /say to a message)",
                             "要我说什么？例如：/say 高兴 0.7 你好！（或用 /say 回复一条消息）")
        limit = policy.max_chars if not inv.place.is_private else max(policy.max_chars, 1000)
        if len(raw) > max(limit * 4, 2000):
            raise BadRequest(f"That text is far too long ({len(raw)} characters); the limit here is {limit}.",
                             f"文本太长（{len(raw)} 个字符）；这里的上限是 {limit}。")
        text = clean_text(raw)
        if not has_words(text):
            raise BadRequest("After removing links, emoji, mentions and code there is nothing left to say. Please send words.",
                             "去掉链接、表情、提及和代码后没有可朗读的内容了。请发送文字。")
        if len(text) > limit:
            raise BadRequest(f"That text is {len(text)} characters; the limit here is {limit}. Please shorten it.",
                             f"文本有 {len(text)} 个字符；这里的上限是 {limit}。请缩短。")
        role = await self.role(inv, user)
        if policy.cooldown_s and role < Role.ADMIN and not inv.place.is_private:
            last = await self.store.last_generation(user.id, inv.place.platform, inv.place.server_id)
            if last is not None and time.time() - last < policy.cooldown_s:
                wait = int(policy.cooldown_s - (time.time() - last)) + 1
                raise BadRequest(f"Slow down a little: you can speak again in {wait} s.", f"慢一点：{wait} 秒后可以再说。")
        owner, profile, note = await self._voice_for(inv, user, req.as_mention, policy)
        emotion = req.emotion
        if emotion is None and inv.reply_audio is not None:
            emotion = EmotionSpec(reference=await self._emotion_clip(inv.reply_audio))
        rendered = await self._run(self._job_key(inv), out, lambda: self._render(text, profile, emotion, req.duration))
        key = None  # same voice, text, emotion and duration → the platform may resend its stored file
        if emotion is None or emotion.reference is None:
            voice_id = profile.to_bytes() if profile else f"{self.engine.name} {self.engine.version}".encode()
            key = hashlib.sha256(b"\0".join([voice_id, text.encode(), repr(emotion).encode(), repr(req.duration).encode()])).hexdigest()
        await out.voice(rendered["ogg"], rendered["duration"], rendered["waveform"], caption=note, cache_key=key)
        await self.store.audit(AuditEntry(
            user.id, inv.place.platform, inv.place.server_id, hashlib.sha256(text.encode()).hexdigest(),
            emotion.describe() if emotion else "neutral", rendered["duration"], voice_owner_id=owner))

    async def _emotion_clip(self, audio: AudioIn) -> bytes:
        """The voice note a /say replies to, as an emotion reference (checked before download)."""
        if (audio.size or 0) > MAX_UPLOAD_BYTES or (audio.duration or 0) > self.settings.max_reference_seconds:
            raise BadRequest("That voice note is too long to copy its emotion from; reply to one under 30 seconds.",
                             "这条语音太长，无法模仿其情绪；请回复一条 30 秒以内的语音。")
        return await audio.fetch()

    async def _voice_for(self, inv: Invocation, user: User, as_mention: Optional[str], policy: Policy):
        """(owner id, profile or None, note for the caption)."""
        lang = user.language
        if as_mention:
            target_id = inv.mentions.get(as_mention)
            target = await self.store.find_user(inv.place.platform, target_id) if target_id else None
            if not policy.shared_voices_allowed:
                raise PermissionDenied("Shared voices are turned off in this server.", "本服务器未开启共享声音。")
            if target is None or inv.place.is_private or not await self.store.is_shared(target.id, inv.place.platform, inv.place.server_id):
                raise PermissionDenied(f"{as_mention} has not shared their voice here.", f"{as_mention} 没有在这里共享声音。")
            stored = await self.store.voice(target.id)
            if stored is None:
                raise PermissionDenied(f"{as_mention} has no voice yet.", f"{as_mention} 还没有声音。")
            return target.id, self._profile(stored), None
        stored = await self.store.voice(user.id)
        if stored is None:
            return None, None, _t(lang, "Default voice — send /clone to use your own.", "默认声音——发送 /clone 使用你自己的声音。")
        profile = self._profile(stored)
        if profile is None:
            return None, None, _t(lang, "Your voice was made by an older engine: please /clone again. Default voice used.",
                                  "你的声音由旧版引擎生成：请重新 /clone。本次使用默认声音。")
        return user.id, profile, None

    def _profile(self, stored) -> Optional[VoiceProfile]:
        if stored.engine != self.engine.name or stored.version != self.engine.version:
            return None
        return VoiceProfile.from_bytes(stored.profile)

    # ------------------------------------------------------------------ sharing
    async def cmd_share(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        if inv.place.is_private:
            raise BadRequest("Use /share in the server or group where others may use your voice.", "请在允许他人使用你声音的群/服务器里使用 /share。")
        off = inv.args.strip().lower() in ("off", "stop", "revoke", "关闭", "取消")
        if not off and await self.store.voice(user.id) is None:
            raise BadRequest("You have no voice to share yet. Send /clone in a private chat first.", "你还没有可共享的声音。请先私聊我发送 /clone。")
        await self.store.set_shared(user.id, inv.place.platform, inv.place.server_id, not off)
        await out.text(_t(lang, "Your voice is no longer shared here." if off else
                          "Your voice is now shared in this server: members may use it with /say as @you (if the admins allow "
                          "shared voices). /share off revokes it.",
                          "你的声音已不再在这里共享。" if off else "你的声音已在本服务器共享：成员可用 /say as @你 使用（需管理员允许）。/share off 可撤销。"))

    # ------------------------------------------------------------------ admin
    async def cmd_policy(self, inv: Invocation, out: Responder, user: User) -> None:
        policy = await self.store.policy(inv.place.platform, inv.place.server_id)
        parts = inv.args.split()
        if parts and parts[0] == "set":
            if len(parts) < 3:
                raise BadRequest("Usage: /policy set clone on|off | say everyone|role|admins | role NAME | cooldown N | max_chars N | shared on|off")
            policy = _apply_policy(policy, parts[1].lower(), " ".join(parts[2:]))
            await self.store.set_policy(policy)
        await out.text(
            f"clone: {'on' if policy.clone_allowed else 'off'}\nsay: {policy.say_mode}"
            + (f" ({policy.say_role})" if policy.say_role else "")
            + f"\ncooldown: {policy.cooldown_s} s\nmax_chars: {policy.max_chars}\nshared: {'on' if policy.shared_voices_allowed else 'off'}")

    async def _target(self, inv: Invocation) -> tuple[str, User]:
        mention = inv.args.strip().split(" ")[0] if inv.args.strip() else ""
        target_id = inv.mentions.get(mention)
        if not mention or target_id is None:
            raise BadRequest(f"Name a member: /{inv.command} @user", f"请指定成员：/{inv.command} @用户")
        return mention, await self.store.user(inv.place.platform, target_id)

    async def cmd_block(self, inv: Invocation, out: Responder, user: User) -> None:
        mention, target = await self._target(inv)
        if target.id == user.id:
            raise BadRequest("You can't block yourself.", "不能封禁自己。")
        if inv.command == "block" and mention in inv.admin_mentions:
            raise BadRequest(f"{mention} is an admin here and can't be blocked.", f"{mention} 是这里的管理员，不能被封禁。")
        block = inv.command == "block"
        await self.store.set_blocked(inv.place.platform, inv.place.server_id, target.id, block, inv.actor.user_id)
        await out.text(f"{mention} " + ("is blocked from the voice bot here." if block else "may use the voice bot here again."))

    async def cmd_trust(self, inv: Invocation, out: Responder, user: User) -> None:
        mention, target = await self._target(inv)
        trust = inv.command == "trust"
        await self.store.set_trusted(inv.place.platform, inv.place.server_id, target.id, trust)
        await out.text(f"{mention} " + ("is now trusted here." if trust else "is no longer trusted here."))

    async def cmd_purge(self, inv: Invocation, out: Responder, user: User) -> None:
        mention, target = await self._target(inv)
        await self.store.purge_member(inv.place.platform, inv.place.server_id, target.id)
        await out.text(f"{mention}: shares and history in this server deleted.")


def _on(value: str) -> bool:
    v = value.strip().lower()
    if v in ("on", "yes", "true", "1", "开"):
        return True
    if v in ("off", "no", "false", "0", "关"):
        return False
    raise BadRequest(f"Use on or off (got {value!r}).", f"请使用 on 或 off（收到 {value!r}）。")


def _apply_policy(policy: Policy, key: str, value: str) -> Policy:
    if key == "clone":
        return replace(policy, clone_allowed=_on(value))
    if key == "shared":
        return replace(policy, shared_voices_allowed=_on(value))
    if key == "say":
        if value not in ("everyone", "role", "admins"):
            raise BadRequest("say must be everyone, role or admins.", "say 必须是 everyone、role 或 admins。")
        return replace(policy, say_mode=value)
    if key == "role":
        return replace(policy, say_role=value[:100])
    if key in ("cooldown", "max_chars"):
        try:
            n = int(value)
        except ValueError:
            raise BadRequest(f"{key} needs a whole number.", f"{key} 需要一个整数。") from None
        lo, hi = (0, 3600) if key == "cooldown" else (10, 2000)
        if not lo <= n <= hi:
            raise BadRequest(f"{key} must be between {lo} and {hi}.", f"{key} 必须在 {lo} 到 {hi} 之间。")
        return replace(policy, cooldown_s=n) if key == "cooldown" else replace(policy, max_chars=n)
    raise BadRequest("Unknown policy setting. Use clone, say, role, cooldown, max_chars or shared.",
                     "未知设置。可用：clone、say、role、cooldown、max_chars、shared。")


__all__ = ["CommandLayer", "Settings"]
