"""Telegram inline mode: typing ``@ourbot text`` in any chat offers a voice note of that text in the
user's own voice (and the default voice as a second result), with emotion prefixes as in /say.

An inline result must point to a file Telegram already has, so each note is made by the command
layer exactly as a /say (same limits, cooldowns, watermark and audit row), uploaded once to the
user's private chat with the bot (or the operator's storage chat) and offered by its ``file_id``.
The user's private chat is where a note in their voice may go: someone who never started the bot
is offered a "start me first" button instead, before anything is made.

Telegram sends a query for every keystroke; only the newest one per user, after a short pause, is
answered.  A note that is not ready within Telegram's time limit keeps being made, and the next
query with the same text (the user types on, or opens inline mode again) gets it at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

from telegram import (
    InlineQuery, InlineQueryResultArticle, InlineQueryResultCachedVoice, InlineQueryResultsButton, InputFile,
    InputTextMessageContent, Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest as TelegramBadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from ..core.invocation import Actor, BaseResponder, Button, Invocation, Place
from ..core.messages import language_of, tr

log = logging.getLogger(__name__)

#: Wait this long after a keystroke before making anything: people type a sentence, not a letter.
DEBOUNCE_S = 0.8
#: Telegram refuses answers to queries older than about ten seconds.
ANSWER_WITHIN_S = 8.0
#: Notes made for a (user, text) are offered again for this long (the next keystroke, a retry).
RESULT_TTL_S = 600.0
RESULT_CACHE = 512
#: Inline queries have no chat: one place for all of them, under the operator's default policy.
INLINE_PLACE = "inline"


@dataclass
class _Collected(BaseResponder):
    """What the command layer answered: notes (made, not yet uploaded) or messages."""

    voices: list[tuple[bytes, float, Optional[str]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        self.texts.append(message)

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        self.voices.append((ogg, duration, caption))

    async def recording(self) -> None:
        return None


@dataclass(frozen=True)
class _Offer:
    """The answer for one (user, text): cached voices, or messages, or "start me first"."""

    voices: tuple[tuple[str, str, Optional[str]], ...] = ()  # (file_id, title, caption)
    messages: tuple[str, ...] = ()
    start_first: bool = False


class InlineMode:
    """The inline-query handler of one :class:`~bot.adapters.telegram.TelegramAdapter`."""

    def __init__(self, commands, bot, storage_chat: Optional[int] = None) -> None:
        self.commands = commands
        self.bot = bot
        self.storage_chat = storage_chat
        self._latest: dict[int, str] = {}  # user → id of their newest query
        self._offers: "OrderedDict[tuple[int, str], tuple[float, _Offer]]" = OrderedDict()
        self._making: "dict[tuple[int, str], asyncio.Task[_Offer]]" = {}

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        started = time.monotonic()
        user = query.from_user
        lang = language_of(user.language_code)
        text = query.query.strip()
        self._latest[user.id] = query.id
        if len(self._latest) > 100_000:
            self._latest = {user.id: query.id}
        if not text:
            await self._answer(query, [], button=tr(lang, "Type what I should say in your voice…", "输入要用你的声音说的话…"))
            return
        await asyncio.sleep(DEBOUNCE_S)
        if self._latest.get(user.id) != query.id:
            return  # they kept typing: only the newest query is answered
        key = (user.id, text)
        offer = self._cached(key)
        if offer is None:
            task = self._making.get(key)
            if task is None:
                task = self._making[key] = asyncio.create_task(self._make(query, lang))
                task.add_done_callback(functools.partial(self._made, key))
            try:
                offer = await asyncio.wait_for(asyncio.shield(task), max(0.1, ANSWER_WITHIN_S - (time.monotonic() - started)))
            except asyncio.TimeoutError:
                await self._answer(query, [], button=tr(lang, "⏳ Still making it: type a space in a moment",
                                                        "⏳ 正在生成：稍后再输入一个空格"))
                return
        if offer.start_first:
            await self._answer(query, [], button=tr(lang, "Start me first, then try again", "请先启动我，然后再试"))
            return
        results: list = [InlineQueryResultCachedVoice(f"v{i}-{_digest(file_id)}", file_id, title, caption=caption)
                         for i, (file_id, title, caption) in enumerate(offer.voices)]
        results += [InlineQueryResultArticle(f"m{i}", "⚠️ " + message[:60], InputTextMessageContent(text),
                                             description=message)
                    for i, message in enumerate(offer.messages)]
        await self._answer(query, results)

    def _made(self, key: tuple[int, str], _task: "asyncio.Task[_Offer]") -> None:
        self._making.pop(key, None)

    def _cached(self, key: tuple[int, str]) -> Optional[_Offer]:
        hit = self._offers.get(key)
        if hit is None or time.monotonic() - hit[0] > RESULT_TTL_S:
            return None
        return hit[1]

    async def _make(self, query: InlineQuery, lang: str) -> _Offer:
        """Make the notes through the command layer (as /say) and upload them for their file_ids."""
        user = query.from_user
        chat = self.storage_chat or user.id
        if self.storage_chat is None and not await self._can_reach(user.id):
            return _Offer(start_first=True)
        inv = Invocation("inline", query.query.strip(),
                         Actor("telegram", str(user.id), user.full_name, lang,
                               handle=f"@{user.username}" if user.username else ""),
                         Place("telegram", INLINE_PLACE, False))
        collected = _Collected()
        await self.commands.handle(inv, collected)
        voices = []
        for index, (ogg, duration, caption) in enumerate(collected.voices):
            try:
                sent = await self.bot.send_voice(chat, InputFile(ogg, filename="voice.ogg"), duration=max(1, round(duration)),
                                                 caption=caption, disable_notification=True)
            except TelegramError as exc:
                log.warning("inline: uploading a note failed: %s", exc)
                return _Offer(messages=(tr(lang, "I could not prepare that voice note. Please try again.",
                                           "无法准备这条语音。请再试一次。"),))
            if sent.voice is None:
                continue
            if self.storage_chat is None:
                await self._tidy(sent.chat_id, sent.message_id)
            title = tr(lang, "Your voice", "你的声音") if index == 0 and len(collected.voices) > 1 else \
                tr(lang, "Default voice", "默认声音") if index == 1 else tr(lang, "Voice note", "语音")
            voices.append((sent.voice.file_id, title, caption))
        offer = _Offer(tuple(voices), tuple(collected.texts))
        if voices:  # made once: the same note (its watermark, its audit row) is offered again, not remade
            self._offers[(user.id, query.query.strip())] = (time.monotonic(), offer)
            while len(self._offers) > RESULT_CACHE:
                self._offers.popitem(last=False)
        return offer

    async def _can_reach(self, user_id: int) -> bool:
        """Can the bot write to this user's private chat (they started it)?"""
        try:
            await self.bot.send_chat_action(user_id, ChatAction.RECORD_VOICE)
            return True
        except (Forbidden, TelegramBadRequest):
            return False

    async def _tidy(self, chat_id: int, message_id: int) -> None:
        """The upload was only for its file_id: remove it from the user's chat (the file stays)."""
        try:
            await self.bot.delete_message(chat_id, message_id)
        except TelegramError as exc:
            log.debug("inline: could not remove the upload: %s", exc)

    async def _answer(self, query: InlineQuery, results: list, button: Optional[str] = None) -> None:
        try:
            await query.answer(results, cache_time=0, is_personal=True,
                               button=InlineQueryResultsButton(button[:64], start_parameter="inline") if button else None)
        except TelegramError as exc:  # the query expired meanwhile: the user has moved on
            log.info("inline: answer not delivered: %s", exc)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
