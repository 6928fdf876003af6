"""Telegram adapter (python-telegram-bot 22): translates updates to invocations and replies back.

No command logic lives here: only Telegram specifics (private-chat-only /clone with a deep
link, voice-note facts read before downloading, inline keyboards, file_id reuse, admin lookups).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any, Optional

from telegram import (
    BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeDefault, InlineKeyboardButton,
    InlineKeyboardMarkup, InputFile, Message, Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
    MessageHandler, filters,
)

from ..core.invocation import Actor, AudioIn, Button, Invocation, Place

log = logging.getLogger(__name__)

PLATFORM = "telegram"
USER_COMMANDS = [
    ("start", "Start / 开始"), ("help", "How to use the bot / 帮助"), ("say", "Speak text as a voice note / 朗读"),
    ("clone", "Record your voice / 录制你的声音"), ("voice", "About your voice / 你的声音"),
    ("emotions", "The 8 emotions / 8 种情绪"), ("share", "Share your voice in this group / 共享声音"),
    ("forget", "Delete all your data / 删除你的数据"),
]
ADMIN_COMMANDS = [
    ("policy", "Show or set this group's voice policy"), ("block", "Block a member (reply to them)"),
    ("unblock", "Unblock a member"), ("trust", "Trust a member"), ("untrust", "Untrust a member"),
    ("purge", "Delete a member's shares and history here"),
]
ADMIN_CACHE_S = 60.0
FILE_ID_CACHE = 512


def _seconds(obj: Any, attr: str) -> Optional[float]:
    """A duration attribute as float seconds (PTB moves from int to timedelta)."""
    value = obj.to_dict().get(attr)  # the wire value: whole seconds, whatever PTB's attribute type
    return float(value) if value else None


class TelegramResponder:
    """Replies in the chat of the update, threaded to the triggering message."""

    def __init__(self, adapter: "TelegramAdapter", message: Message) -> None:
        self.adapter = adapter
        self.message = message

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data)] for b in buttons])
        await self.message.reply_text(message, reply_markup=markup, do_quote=self.message.chat.type != ChatType.PRIVATE)

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        cached = self.adapter.file_ids.get(cache_key) if cache_key else None
        voice: Any = cached if cached else InputFile(ogg, filename="voice.ogg")
        sent = await self.message.reply_voice(voice, duration=max(1, round(duration)), caption=caption,
                                              do_quote=self.message.chat.type != ChatType.PRIVATE)
        if cache_key and sent.voice is not None:
            self.adapter.remember_file_id(cache_key, sent.voice.file_id)

    async def recording(self) -> None:
        try:
            await self.message.chat.send_action(ChatAction.RECORD_VOICE)
        except TelegramError as exc:  # cosmetic; never fail a job for it
            log.debug("chat action failed: %s", exc)


class TelegramAdapter:
    """Owns the PTB Application and the few caches Telegram needs."""

    def __init__(self, commands, application: Application) -> None:
        self.commands = commands
        self.application = application
        self.file_ids: "OrderedDict[str, str]" = OrderedDict()
        self._admins: dict[tuple[int, int], tuple[float, bool, bool]] = {}
        self._usernames: dict[str, int] = {}
        application.add_handler(CommandHandler(self.commands.commands, self.on_command))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler((filters.VOICE | filters.AUDIO | filters.Document.AUDIO) & ~filters.COMMAND, self.on_audio))
        application.add_error_handler(self.on_error)

    def remember_file_id(self, key: str, file_id: str) -> None:
        self.file_ids[key] = file_id
        self.file_ids.move_to_end(key)
        while len(self.file_ids) > FILE_ID_CACHE:
            self.file_ids.popitem(last=False)

    # ------------------------------------------------------------------ translation
    async def _roles(self, chat_id: int, user_id: int, private: bool) -> tuple[bool, bool]:
        """(is_owner, is_admin) from getChatMember, cached briefly."""
        if private:
            return True, True
        key = (chat_id, user_id)
        hit = self._admins.get(key)
        if hit and time.monotonic() - hit[0] < ADMIN_CACHE_S:
            return hit[1], hit[2]
        member = await self.application.bot.get_chat_member(chat_id, user_id)
        owner, admin = member.status == "creator", member.status in ("creator", "administrator")
        if len(self._admins) > 10_000:  # a brief cache, not a registry
            self._admins.clear()
        self._admins[key] = (time.monotonic(), owner, admin)
        return owner, admin

    def _audio_in(self, message: Message) -> Optional[AudioIn]:
        media = message.voice or message.audio or (message.document if message.document and
                                                   (message.document.mime_type or "").startswith("audio/") else None)
        if media is None:
            return None
        bot = self.application.bot

        async def fetch() -> bytes:
            f = await bot.get_file(media.file_id)
            return bytes(await f.download_as_bytearray())

        return AudioIn(fetch, size=media.file_size, duration=_seconds(media, "duration"),
                       is_voice_note=message.voice is not None, forwarded=message.forward_origin is not None)

    async def _invocation(self, update: Update, command: str, args: str) -> Invocation:
        message = update.effective_message
        user = update.effective_user
        chat = update.effective_chat
        private = chat.type == ChatType.PRIVATE
        if user.username:
            if len(self._usernames) > 100_000:
                self._usernames.clear()
            self._usernames[f"@{user.username.lower()}"] = user.id
        owner, admin = await self._roles(chat.id, user.id, private)
        language = "zh" if (user.language_code or "").lower().startswith("zh") else "en"
        mentions: dict[str, str] = {}
        for entity, text in message.parse_entities(["mention", "text_mention"]).items() if message.text else []:
            if entity.type == "text_mention" and entity.user:
                mentions[text] = str(entity.user.id)
            elif text.lower() in self._usernames:
                mentions[text] = str(self._usernames[text.lower()])
        reply = message.reply_to_message
        admin_mentions: set[str] = set()
        if reply is not None and reply.from_user is not None and command in ("block", "unblock", "trust", "untrust", "purge"):
            handle = f"@{reply.from_user.username}" if reply.from_user.username else f"@{reply.from_user.id}"
            mentions[handle] = str(reply.from_user.id)
            if not args.strip():
                args = handle
        if command == "block" and not private:
            for handle, uid in mentions.items():
                if (await self._roles(chat.id, int(uid), False))[1]:
                    admin_mentions.add(handle)
        return Invocation(
            command, args, Actor(PLATFORM, str(user.id), user.full_name, language, admin, owner),
            Place(PLATFORM, f"dm:{user.id}" if private else str(chat.id), private),
            audio=self._audio_in(message) if command == "audio" else None,
            reply_text=(reply.text or reply.caption) if reply is not None and command == "say" else None,
            reply_audio=self._audio_in(reply) if reply is not None and command == "say" and reply.voice else None,
            mentions=mentions, admin_mentions=frozenset(admin_mentions),
        )

    # ------------------------------------------------------------------ handlers
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        text = message.text or message.caption or ""
        head, _, args = text.partition(" ")
        command = head[1:].split("@")[0].lower()
        if command == "start" and args.strip() == "clone":
            command, args = "clone", ""
        if command == "clone" and update.effective_chat.type != ChatType.PRIVATE:
            username = context.bot.username
            await message.reply_text(
                "Voice cloning happens in a private chat with me, so your recording stays between us.",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Open private chat", url=f"https://t.me/{username}?start=clone")]]))
            return
        inv = await self._invocation(update, command, args)
        await self.commands.handle(inv, TelegramResponder(self, message))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        message = query.message
        if isinstance(message, Message):
            try:  # remove the keyboard so a button cannot be pressed twice
                await query.edit_message_text(message.text or "…")
            except TelegramError:
                pass
        inv = await self._invocation(update, "button", query.data or "")
        await self.commands.handle(inv, TelegramResponder(self, message))

    async def on_audio(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat.type != ChatType.PRIVATE:
            return  # voice notes in groups are conversation, not for us
        inv = await self._invocation(update, "audio", "")
        await self.commands.handle(inv, TelegramResponder(self, update.effective_message))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            try:
                await update.effective_message.reply_text("Sorry, something went wrong on my side. Please try again.")
            except TelegramError:
                pass

    async def publish_commands(self) -> None:
        bot = self.application.bot
        await bot.set_my_commands([BotCommand(c, d) for c, d in USER_COMMANDS], scope=BotCommandScopeDefault())
        await bot.set_my_commands([BotCommand(c, d) for c, d in USER_COMMANDS + ADMIN_COMMANDS],
                                  scope=BotCommandScopeAllChatAdministrators())


def build_application(app, token: str, base_url: Optional[str] = None, base_file_url: Optional[str] = None,
                      rate_limiter: bool = True) -> TelegramAdapter:
    """The PTB Application wired to the shared bot resources (opened by the caller)."""

    async def post_init(application: Application) -> None:
        await adapter.publish_commands()

    builder: ApplicationBuilder = Application.builder().token(token).concurrent_updates(True).post_init(post_init)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    adapter = TelegramAdapter(app.commands, builder.build())
    return adapter


async def run_telegram(app, token: str, base_url: Optional[str] = None, base_file_url: Optional[str] = None,
                       stop: Optional[asyncio.Event] = None) -> None:
    """Poll Telegram until ``stop`` is set (or forever)."""
    adapter = build_application(app, token, base_url, base_file_url)
    application = adapter.application
    async with application:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        try:
            await (stop.wait() if stop else asyncio.Event().wait())
        finally:
            await application.updater.stop()
            await application.stop()
