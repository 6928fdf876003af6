"""/say: text → one or more voice notes in the caller's voice (or a shared one), with emotion."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from typing import Awaitable, Callable, Optional

from indextts_core.audio import MAX_UPLOAD_BYTES
from indextts_core.engine import MAX_RATIO, MIN_RATIO, DurationSpec, EmotionSpec, VoiceProfile
from indextts_core.frontend.clean import check_script, clean_text, has_words

from ...storage import STALE_VOICE_NOTICE, AuditEntry, NoteMark, Policy, StoredVoice, UsageEntry, User, VoiceUse
from ..allowance import Bill
from ..errors import BadRequest, Busy, ConsentTextRefused, PermissionDenied
from ..invocation import AudioIn, Button, Invocation, Responder
from ..command_spec import Access, CommandSpec, DiscordPlaces, DiscordShape, HelpEntry, event
from ..messages import tr
from ..notes import FIRST_NOTE_S, MAX_NOTE_S, estimate_seconds, plan_notes
from ..permissions import Role
from ..say_args import SayRequest, describe_speed, parse_say, request_from_options
from ..rollout import Route
from ..tasks import Rendered, RenderTask, is_fault
from .account import SHARE_OFF_BUTTON
from .base import Handler, Services, job_key
from .voicechat import check_speaking_place

log = logging.getLogger(__name__)

#: Re-checks, before each note goes out, that its voice may still be used.
Guard = Callable[[], Awaitable[bool]]

#: Notes of one request being made at once: the next is synthesised while the previous is sent.
PIPELINE = 2
BUSY_RETRY_S = 1.0


def _revoked(sent: int, total: int) -> PermissionDenied:
    return PermissionDenied(
        f"That voice may no longer be used here (its owner stopped sharing it, or the rules changed): "
        f"I stopped after {sent} of {total} part(s).",
        f"这个声音已不能在这里使用（主人已停止共享或规则已变）：我在 {total} 部分中的第 {sent} 部分后停下了。")


@dataclass(frozen=True)
class Speaker:
    """Whose voice a request speaks in, on which engine and why, and what its caption says."""

    engine: str
    cohort: str  # the rollout's reason for this engine (metrics): primary, chosen, server, percent, fallback
    owner: Optional[int] = None  # whose voice (None: the engine's default voice)
    profile: Optional[VoiceProfile] = None
    captions: tuple[str, ...] = ()
    guard: Optional[Guard] = None


class EngineDown(Exception):
    """The engine a rollout rule chose failed before the first note: the request goes to the primary."""

    def __init__(self, engine: str) -> None:
        super().__init__(engine)
        self.engine = engine


SPECS = (
    CommandSpec(
        "say", Access.SPEAK, ("Speak text as a voice note", "朗读"), discord=DiscordShape.CUSTOM,
        discord_places=DiscordPlaces.ANYWHERE,
        text_help=HelpEntry((
            "/say [emotion] [0-1] [x1.2 | 3.2s] text — speak text as a voice note.\n"
            "• Emotion: a name with an intensity (angry 0.7 …) or marked: angry: … / (angry) … / #angry …; "
            "also v=0,1,0,0,0,0,0,0 or a description in quotes: \"trembling with fear\". Unmarked words are spoken.\n"
            "• Speed: x1.2 = 20 % faster, x0.8 = 20 % slower (x0.8–x1.33); 3.2s = exactly 3.2 seconds.\n"
            "• Reply /say to a message to voice it; to a voice note to copy its emotion. Long texts come as several "
            "notes. In any chat: type @ and my name, then the text (inline mode).",
            "/say [情绪] [0-1] [x1.2 | 3.2s] 文本 —— 把文本读成语音消息。\n"
            "• 情绪：名称加强度（愤怒 0.7 …）或加标记：愤怒：… / （愤怒）… / #愤怒 …；"
            "也可写 v=0,1,0,0,0,0,0,0 或带引号的描述：\"冷笑着说\"。没有标记的词会被朗读出来。\n"
            "• 语速：x1.2 = 快 20%，x0.8 = 慢 20%（x0.8–x1.33）；3.2s = 正好 3.2 秒。\n"
            "• 用 /say 回复一条消息即朗读它；回复语音则模仿其情绪。长文本会分成几条语音。在任何聊天里：输入 @ 加我的名字，"
            "再输入文字（内联模式）。")),
        discord_help=HelpEntry((
            "/say text:… [emotion:…] [intensity:0–1] [speed:0.8–1.33] [seconds:…] [emotion_text:…] [as_member:…] — "
            "speak text as a voice message. speed 1.2 = 20 % faster; emotion_text describes a feeling "
            "(\"trembling with fear\"). Long texts come as several messages. Right-click a message → Apps → "
            "Say in my voice.",
            "/say text:… [emotion:…] [intensity:0–1] [speed:0.8–1.33] [seconds:…] [emotion_text:…] [as_member:…] —— "
            "把文本读成语音消息。speed 1.2 = 快 20%；emotion_text 用文字描述情绪（\"冷笑着说\"）。长文本会分成几条。"
            "右键点击消息 → 应用 → Say in my voice。"))),
    event("inline", Access.SPEAK),
)

#: The least a text's natural length can be, as a share of :func:`estimate_seconds` (measured on the
#: default engine: 0.64 for plain English prose, 1.0–3.1 for short texts, numbers and Chinese).
MIN_NATURAL_TO_ESTIMATE = 0.55
#: The most it can be (3.1 measured on short texts, numbers and Chinese; kept generous), and the
#: pauses a text's start and end may add whatever its length.
MAX_NATURAL_TO_ESTIMATE = 4.0
MAX_PAUSES_S = 1.0


def _speech_estimate(notes: list[str], req: SayRequest) -> float:
    """Seconds of speech a request will make, from its text, before anything is made (the exact
    length when one was asked for)."""
    if req.duration is not None and req.duration.seconds is not None:
        return float(req.duration.seconds)
    stretch = (req.duration.ratio or 1.0) if req.duration is not None else 1.0
    return sum(estimate_seconds(note, stretch) for note in notes)


class SayCommands:
    def __init__(self, services: Services, role_of) -> None:
        self.s = services
        self.role_of = role_of

    def handlers(self) -> dict[str, Handler]:
        return {"say": self.say, "inline": self.inline}

    async def inline(self, inv: Invocation, out: Responder, user: User) -> None:
        """Telegram inline mode (``@bot text`` in any chat): /say with its rules, as one note, and
        the default voice as a second choice when the first is the user's own."""
        await self.say(inv, out, user, inline=True)

    async def say(self, inv: Invocation, out: Responder, user: User, *, inline: bool = False) -> None:
        req = request_from_options(inv.say_options) if inv.say_options is not None else parse_say(inv.args)
        policy = (await self.s.context(inv, user)).policy
        if inline:
            await self._check_inline(inv, user)
        notes = self._notes(inv, req, policy, inline)
        # Never a consent sentence or a live code, in any disguise, alone or assembled from this
        # person's recent requests (before anything else is looked up or computed).
        codes = await self.s.store.outstanding_consent_codes(time.time())
        if self.s.consent_guard.refuses(job_key(inv), " ".join(notes), codes):
            raise ConsentTextRefused("I don't read consent sentences or consent codes aloud: a voice must agree to "
                                     "cloning in its own words. Please send a different text.",
                                     "我不会朗读同意克隆的句子或验证码：声音的主人必须亲口同意。请换一段文字。")
        if inv.in_voice:
            check_speaking_place(inv)
        wait = self.s.jobs.estimate_wait() + out.backlog_seconds()
        if wait > self.s.settings.max_wait_seconds:
            raise Busy(f"I'm busy with other requests. Please try again in ~{round(wait)} s.",
                       f"我正忙着处理其他请求。请约 {round(wait)} 秒后再试。")
        chosen = await self.s.route(inv, user)
        speaker = await self._voice_for(inv, user, req.as_mention, policy, chosen)
        if inline and not self.s.settings.inline.own_voice and speaker.owner is not None:
            speaker = Speaker(chosen.engine, chosen.cohort, captions=(tr(user.language, "Default voice", "默认声音"),))
        if chosen.busy:
            speaker = replace(speaker, captions=speaker.captions + (tr(
                user.language, f"the {chosen.busy} engine is busy, so {chosen.engine} made this",
                f"{chosen.busy} 引擎正忙，改由 {chosen.engine} 生成"),))
        second = inline and speaker.owner == user.id  # inline's second choice: the same words in the default voice
        slot = await self._take_slot(inv, user, policy, inline)
        bill = None
        try:
            # What the request may spend, held before anything is computed (the emotion clip included).
            bill = await self.s.allowance.reserve(inv, user, policy, _speech_estimate(notes, req) * (2 if second else 1))
            if inv.in_voice and inv.voice is not None and speaker.guard is not None:
                inv.voice.set_guard(speaker.guard)  # parts still waiting in the voice channel are checked as they come up
            emotion = req.emotion
            if emotion is None and inv.reply_audio is not None:
                emotion = EmotionSpec(reference=await self._emotion_clip(inv.reply_audio),
                                      reference_speaker=await self._speaker_profile(inv, user, inv.reply_audio))
            speed = (describe_speed(req.speed, user.language),) if req.speed else ()
            speaker = replace(speaker, captions=speaker.captions + speed)
            await self._speak_or_fall_back(inv, out, user, notes, speaker, emotion, req, policy, speed, bill)
            if second:
                default = Speaker(speaker.engine, speaker.cohort, captions=(tr(user.language, "Default voice", "默认声音"),))
                await self._speak(inv, out, user, notes, default, emotion, req.duration, bill)
        finally:
            if bill is not None:
                await self.s.allowance.close(bill)
            if slot is not None and (bill is None or bill.jobs == 0):  # nothing was computed: the slot does not count
                await self.s.store.release_cooldown(user.id, *slot)

    async def _check_inline(self, inv: Invocation, user: User) -> None:
        """Inline mode, where no group's rules can be looked up: the operator's switch, and nobody
        blocked in any group or server the bot knows them from (one text for both)."""
        rules = self.s.settings.inline
        blocked = rules.refuse_blocked and await self.s.store.is_blocked(
            inv.actor.platform, None, (inv.actor.user_id, inv.actor.handle.lower()))
        if not rules.enabled or blocked:
            raise PermissionDenied("Voice notes can't be made in inline mode for you here. Send /say in a chat with me.",
                                   "这里无法在内联模式下为你生成语音。请在与我的聊天中发送 /say。")

    async def _take_slot(self, inv: Invocation, user: User, policy: Policy,
                         inline: bool) -> Optional[tuple[str, str]]:
        """The cooldown between one member's requests (the server's, or inline mode's for everyone
        but the owner), taken atomically; the (platform, place) of the slot taken, if any."""
        place = inv.place
        if inline:
            seconds = 0 if inv.actor.is_owner else self.s.settings.inline.cooldown_s
        else:
            cooled = policy.cooldown_s and not place.is_private and await self.role_of(inv, user) < Role.ADMIN
            seconds = policy.cooldown_s if cooled else 0
        if not seconds:
            return None
        left = await self.s.store.reserve_cooldown(user.id, place.platform, place.server_id, seconds)
        if left:
            raise BadRequest(f"Slow down a little: you can speak again in {int(left) + 1} s.",
                             f"慢一点：{int(left) + 1} 秒后可以再说。")
        return place.platform, place.server_id

    def _notes(self, inv: Invocation, req: SayRequest, policy: Policy, inline: bool) -> list[str]:
        """The text to speak, cleaned and checked, cut into voice notes; a clear refusal otherwise."""
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
        check_script(text)
        stretch = (req.duration.ratio or 1.0) if req.duration else 1.0
        notes = plan_notes(text, stretch=max(1.0, stretch) * 1.2, first_s=MAX_NOTE_S if inline else FIRST_NOTE_S)
        if inline and len(notes) > 1:
            raise BadRequest("That is too long for one voice note here. Send it to me with /say instead.",
                             "这段文字太长，这里放不下一条语音。请改用 /say 发给我。")
        if req.duration is not None and req.duration.seconds is not None and len(notes) > 1:
            raise BadRequest("An exact length in seconds works for a text that fits in one voice note (about 40 s). "
                             "Use a speed like x1.1 instead, or shorten the text.",
                             "精确秒数只适用于一条语音能读完的文本（约 40 秒）。请改用语速（如 x1.1）或缩短文本。")
        if req.duration is not None and req.duration.seconds is not None:
            # Refused before any compute when no reading of this text could be that short: the
            # engine would only find out after making the whole note.
            shortest = MIN_RATIO * MIN_NATURAL_TO_ESTIMATE * estimate_seconds(text)
            longest = MAX_RATIO * (MAX_NATURAL_TO_ESTIMATE * estimate_seconds(text) + MAX_PAUSES_S)
            if req.duration.seconds > longest:
                raise BadRequest(f"This text is quicker to say: the longest I can make it is about {longest:.1f} s "
                                 f"(asked for {req.duration.seconds:g} s). Ask for fewer seconds or add words.",
                                 f"这段文字读起来更快：最长约 {longest:.1f} 秒（你要求 {req.duration.seconds:g} 秒）。"
                                 "请减少秒数或增加文字。")
            if req.duration.seconds < shortest:
                raise BadRequest(f"This text takes longer to say: the shortest I can make it is about {shortest:.1f} s "
                                 f"(asked for {req.duration.seconds:g} s). Ask for more seconds or shorten the text.",
                                 f"这段文字需要更长的时间来读：最短约 {shortest:.1f} 秒（你要求 {req.duration.seconds:g} 秒）。"
                                 "请增加秒数或缩短文本。")
        return notes

    async def _speak_or_fall_back(self, inv: Invocation, out: Responder, user: User, notes: list[str], speaker: Speaker,
                                  emotion: Optional[EmotionSpec], req: SayRequest, policy: Policy,
                                  extra: tuple[str, ...], bill: Bill) -> int:
        """:meth:`_speak`; when the engine the rollout chose fails before the first note, the
        primary engine says it all instead, and the caption says so (``extra``: captions that
        hold for either engine)."""
        try:
            return await self._speak(inv, out, user, notes, speaker, emotion, req.duration, bill)
        except EngineDown as down:
            primary = Route(self.s.engine.name or "", "fallback")
            again = await self._voice_for(inv, user, req.as_mention, policy, primary)
            note = tr(user.language, f"the {down.engine} engine failed, so {primary.engine} made this",
                      f"{down.engine} 引擎出错，改由 {primary.engine} 生成")
            return await self._speak(inv, out, user, notes, replace(again, captions=again.captions + extra + (note,)),
                                     emotion, req.duration, bill)

    async def _speak(self, inv: Invocation, out: Responder, user: User, notes: list[str], speaker: Speaker,
                     emotion: Optional[EmotionSpec], duration: Optional[DurationSpec], bill: Bill) -> int:
        """Make and send the notes in order, the next one being made while the previous is sent.

        Returns how many were sent.  A full queue on a later note waits briefly and tries again.
        Before each note goes out, the speaker's guard says whether the voice may still be used (a
        share revoked meanwhile, the owner blocked or gone, the policy changed): if not, the rest
        is withdrawn and the requester told why.  An engine chosen by the rollout that fails on the
        first note raises :class:`EngineDown` (nothing was sent).
        """
        lang = user.language
        futures: collections.deque[asyncio.Future] = collections.deque()
        marks: list[NoteMark] = []  # the watermark of each note submitted, in order
        queued_at: list[float] = []  # when each was submitted (metering: wait = total − compute)
        submitted = 0

        voice = speaker.profile.to_bytes() if speaker.profile is not None else None
        guard, owner = speaker.guard, speaker.owner

        async def submit_more(first: bool) -> None:
            nonlocal submitted
            while submitted < len(notes) and len(futures) < PIPELINE:
                try:
                    mark = await self.s.new_mark()
                    futures.append(await self.s.submit(inv, RenderTask(notes[submitted], voice, emotion, duration, mark,
                                                                       engine=speaker.engine)))
                    marks.append(mark)
                    queued_at.append(time.monotonic())
                    bill.jobs += 1
                except Busy:
                    if first and not futures:
                        raise
                    return
                submitted += 1

        await submit_more(first=True)
        sent = 0
        try:
            for index, piece in enumerate(notes):
                retries = 0
                while not futures:  # the queue was full when this note's turn came
                    retries += 1
                    if retries > self.s.settings.max_wait_seconds / BUSY_RETRY_S:
                        raise Busy(f"I'm busy: I stopped after part {index} of {len(notes)}. Please send the rest again later.",
                                   f"我正忙：读到第 {index} 部分（共 {len(notes)} 部分）就停下了。请稍后再发送剩下的内容。")
                    await asyncio.sleep(BUSY_RETRY_S)
                    await submit_more(first=False)
                try:
                    rendered = await self._next_note(futures.popleft(), out, speaker, first=sent == 0)
                except Exception as exc:  # what the failed job cost is booked before the user hears why
                    cause = exc.__cause__ if isinstance(exc, EngineDown) and exc.__cause__ is not None else exc
                    await self.s.allowance.failed(bill, inv, user, speaker.engine, len(piece), cause)
                    raise
                if guard is not None and not await guard():
                    raise _revoked(sent, len(notes))
                await submit_more(first=False)
                parts = list(speaker.captions) if index == 0 else []
                if len(notes) > 1:
                    parts.append(tr(lang, f"part {index + 1}/{len(notes)}", f"第 {index + 1}/{len(notes)} 部分"))
                # The records first: a note never goes out without the row its watermark points to
                # (and not at all if its owner or requester was deleted meanwhile).
                wait = max(0.0, time.monotonic() - queued_at[index] - rendered.compute_seconds)
                await self.s.allowance.charge(bill, rendered.duration, rendered.compute_seconds)
                if not await self._record(inv, user, owner, piece, rendered, emotion, marks[index], wait):
                    raise _revoked(sent, len(notes))
                self.s.on_note(rendered.engine or speaker.engine, speaker.cohort)
                # No platform file reuse: every note carries its own watermark, bound to its own audit row.
                await out.voice(rendered.ogg, rendered.duration, rendered.waveform, caption=" — ".join(parts) or None)
                sent += 1
                if sent == 1 and owner is not None and owner != user.id:
                    await self._tell_owner(inv, owner, text=" ".join(notes))
        finally:
            for f in futures:
                f.cancel()
        return sent

    async def _next_note(self, future: "asyncio.Future[Rendered]", out: Responder, speaker: Speaker,
                         first: bool) -> Rendered:
        """The next note's result; a fault of a rollout-chosen engine before anything was sent
        becomes :class:`EngineDown`, so the request can go to the primary engine instead."""
        try:
            rendered: Rendered = await self.s.wait_job(future, out)
            return rendered
        except Exception as exc:
            if first and speaker.engine != self.s.engine.name and is_fault(exc):
                log.warning("engine %s failed (%s): falling back to %s", speaker.engine, exc, self.s.engine.name)
                raise EngineDown(speaker.engine) from exc
            raise

    async def _record(self, inv: Invocation, user: User, owner: Optional[int], piece: str, rendered: Rendered,
                      emotion: Optional[EmotionSpec], mark: NoteMark, wait: float) -> bool:
        """The note's audit row, what it cost (metering), and, in someone else's voice, the
        server's own record of the use (kept whatever the requester deletes later); False when the
        owner or requester is gone."""
        if not await self.s.store.audit(AuditEntry(
                user.id, inv.place.platform, inv.place.server_id, hashlib.sha256(piece.encode()).hexdigest(),
                emotion.describe() if emotion else "neutral", rendered.duration, voice_owner_id=owner, mark=mark)):
            return False
        await self.s.store.record_usage(UsageEntry(
            inv.place.platform, inv.place.server_id, user.id, rendered.engine or "?", len(piece), rendered.duration,
            rendered.compute_seconds, wait))
        if owner is None or owner == user.id:
            return True
        owner_row = await self.s.store.user_by_id(owner)
        if owner_row is None:
            return False
        await self.s.store.record_voice_use(
            VoiceUse(inv.place.platform, inv.place.server_id, inv.actor.user_id, owner_row.platform_user_id, mark),
            piece, self.s.settings.voice_use_retention_days)
        return True

    async def _tell_owner(self, inv: Invocation, owner_id: int, text: str) -> None:
        """The owner of a shared voice, if they asked (/share notify on), hears of each use in
        private, with a one-tap "stop sharing there"."""
        owner = await self.s.store.user_by_id(owner_id)
        if owner is None or not await self.s.store.wants_share_notices(owner_id):
            return
        lang = owner.language
        who = inv.actor.name or inv.actor.handle or inv.actor.user_id
        preview = text if len(text) <= 120 else text[:117] + "…"
        where = f"{inv.place.platform} {inv.place.server_id}"
        await self.s.notify(owner.platform, owner.platform_user_id,
                            tr(lang, f"{who} used your shared voice in {where}: “{preview}”",
                               f"{who} 在 {where} 使用了你共享的声音：“{preview}”"),
                            [Button(tr(lang, "Stop sharing there", "停止在那里共享"), SHARE_OFF_BUTTON + inv.place.server_id)])

    async def _emotion_clip(self, audio: AudioIn) -> bytes:
        """The voice note a /say replies to, as an emotion reference (checked before download)."""
        if (audio.size or 0) > MAX_UPLOAD_BYTES or (audio.duration or 0) > self.s.settings.max_reference_seconds:
            raise BadRequest("That voice note is too long to copy its emotion from; reply to one under 30 seconds.",
                             "这条语音太长，无法模仿其情绪；请回复一条 30 秒以内的语音。")
        return await audio.fetch()

    async def _speaker_profile(self, inv: Invocation, user: User, audio: AudioIn) -> Optional[VoiceProfile]:
        """The requester's own profile when ``audio`` is their own recording: their emotion is then
        read against their own neutral voice (only its prosody numbers, never its timbre).

        Never another member's: a note that came out differently when the replied member has a
        stored voice would tell anyone who has cloned (an oracle).  Their clips are read by the
        audio alone, like a stranger's."""
        if audio.speaker_id is None or audio.speaker_id != inv.actor.user_id:
            return None
        stored = await self.s.store.voice(user.id)
        return self.s.profile(stored) if stored is not None else None

    def _profile_on(self, stored: StoredVoice, chosen: Route, lang: str) -> tuple[Optional[str], Optional[VoiceProfile], str]:
        """The engine that speaks a stored voice: the chosen one when it reads it, else another
        running engine that does (the primary first), with a caption saying so; (None, None, "")
        when none can."""
        running = self.s.engine.available
        primary = self.s.engine.name or ""
        order = [chosen.engine] + sorted((e for e in running if e != chosen.engine), key=lambda e: e != primary)
        for engine in order:
            profile = self.s.profile(stored, engine)
            if profile is not None:
                note = "" if engine == chosen.engine else tr(
                    lang, f"made with {engine}: this voice has no {chosen.engine} version yet (a new /clone adds it)",
                    f"由 {engine} 生成：这个声音还没有 {chosen.engine} 版本（重新 /clone 即可添加）")
                return engine, profile, note
        return None, None, ""

    async def _stale_note(self, user: User) -> str:
        """The default voice stands in for a voice no running engine reads: said kindly and in
        full once, briefly after that."""
        lang = user.language
        if await self.s.store.first_notice(user.id, STALE_VOICE_NOTICE):
            return tr(lang, "Your voice was made by an engine version this bot no longer runs, so this note uses the "
                            "default voice. A new /clone (about a minute, the same steps) brings your voice back, made "
                            "by the current engine, which follows your voice more closely.",
                      "你的声音是由机器人已不再运行的引擎版本制作的，所以这条语音使用默认声音。重新 /clone 一次（约一分钟，步骤相同）"
                      "就能找回你的声音，由当前引擎制作，更接近你的声音。")
        return tr(lang, "Default voice — /clone again to use yours.", "默认声音——重新 /clone 即可使用你的声音。")

    async def _voice_for(self, inv: Invocation, user: User, as_mention: Optional[str], policy: Policy,
                         chosen: Route) -> Speaker:
        """Whose voice, on which engine (``chosen`` by the rollout, or one that has the voice)."""
        lang = user.language
        store = self.s.store
        cloned_here = policy.clone_allowed or inv.place.is_private
        if as_mention:
            name = inv.names.get(as_mention, as_mention)
            target_id = inv.mentions.get(as_mention)
            target = await store.find_user(inv.place.platform, target_id) if target_id else None
            if not policy.shared_voices_allowed or not cloned_here:
                raise PermissionDenied("Shared voices are turned off in this server.", "本服务器未开启共享声音。")
            if target is None or inv.place.is_private or not await store.is_shared(target.id, inv.place.platform, inv.place.server_id):
                raise PermissionDenied(f"{name} has not shared their voice here.", f"{name} 没有在这里共享声音。")
            subjects = (target.platform_user_id, as_mention.lower() if as_mention.startswith("@") else "")
            if await store.is_blocked(inv.place.platform, inv.place.server_id, subjects):
                # a blocked member's voice is not theirs to lend here either
                raise PermissionDenied(f"{name}'s voice can't be used here.", f"这里不能使用 {name} 的声音。")
            stored = await store.voice(target.id)
            if stored is None:
                raise PermissionDenied(f"{name} has no voice yet.", f"{name} 还没有声音。")
            engine, shared, note = self._profile_on(stored, chosen, lang)
            if engine is None or shared is None:
                raise PermissionDenied(f"{name}'s voice was made by an older engine and must be recorded again.",
                                       f"{name} 的声音由旧版引擎生成，需要重新录制。")
            # A note in someone else's voice says who asked for it, for everyone who hears it.
            who = inv.actor.name or inv.actor.handle or inv.actor.user_id
            attribution = tr(lang, f"{name}'s voice, requested by {who}", f"{name} 的声音，由 {who} 请求")
            return Speaker(engine, chosen.cohort if engine == chosen.engine else "fallback", target.id, shared,
                           tuple(c for c in (attribution, note) if c), self._guard(inv, target.id, subjects))
        stored = await store.voice(user.id)
        if stored is None:
            return Speaker(chosen.engine, chosen.cohort, captions=(
                tr(lang, "Default voice — send /clone to use your own.", "默认声音——发送 /clone 使用你自己的声音。"),))
        if not cloned_here:
            return Speaker(chosen.engine, chosen.cohort, captions=(
                tr(lang, "Cloned voices are turned off here: default voice.", "这里已关闭克隆声音：使用默认声音。"),))
        engine, profile, note = self._profile_on(stored, chosen, lang)
        if engine is None or profile is None:
            return Speaker(chosen.engine, chosen.cohort, captions=(await self._stale_note(user),))
        return Speaker(engine, chosen.cohort if engine == chosen.engine else "fallback", user.id, profile,
                       (note,) if note else (), self._guard(inv, user.id))

    def _guard(self, inv: Invocation, owner_id: int, shared_by: Optional[tuple[str, ...]] = None) -> Guard:
        """Whether the voice of ``owner_id`` may still be used for this request, read afresh each
        time: it still exists (no /forget), and for someone else's voice (``shared_by``: the
        owner's block subjects) it is still shared here, shared voices are still allowed, and the
        owner is not blocked.  Revocation takes effect for work in flight, not only for new requests."""
        store, platform, server = self.s.store, inv.place.platform, inv.place.server_id

        async def still_usable() -> bool:
            if await store.voice(owner_id) is None:
                return False
            if shared_by is None:
                return True
            policy = await store.policy(platform, server)
            return (policy.shared_voices_allowed and policy.clone_allowed and await store.is_shared(owner_id, platform, server)
                    and not await store.is_blocked(platform, server, shared_by))

        return still_usable
