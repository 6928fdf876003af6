"""Telegram adapter (python-telegram-bot 22): translates updates to invocations and replies back.

No command logic lives here: only Telegram specifics (private-chat-only /clone with a deep
link, voice-note facts read before downloading, inline keyboards, file_id reuse, admin lookups).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import OrderedDict
from typing import Any, Optional

from telegram import (
    BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeDefault, InlineKeyboardButton,
    Chat, InlineKeyboardMarkup, InputFile, Message, Update, User,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest as TelegramBadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
    InlineQueryHandler, MessageHandler, filters,
)

from ..core.invocation import Actor, AudioIn, BaseResponder, Button, Invocation, Place, Responder
from ..core.messages import SOMETHING_WRONG, language_of, tr
from . import StartupError
from .telegram_inline import InlineMode

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ADMIN_CACHE_S = 60.0  # how long a group's admin list is trusted: a demotion counts within a minute
#: The rights that make a Telegram administrator a bot admin: moderation ones.  An administrator
#: with every right switched off (a title only) moderates nothing here either.
MODERATION_RIGHTS = ("can_restrict_members", "can_delete_messages", "can_change_info", "can_promote_members")
CHAT_ACTION_EVERY_S = 4.5  # Telegram shows "recording voice…" for 5 s
FILE_ID_CACHE = 512
GROUP_BURST = 20  # Telegram: about 20 messages a minute in one group; aiolimiter lets that many through at once
GROUP_INTERVAL_S = 3.0
#: Calls that send no message: they must not use up a group's 20-messages-a-minute allowance.
NOT_MESSAGES = frozenset({"getChatMember", "getChatAdministrators", "sendChatAction", "answerCallbackQuery",
                          "getFile", "getMe", "getUpdates", "setMyCommands", "deleteWebhook"})


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter that counts only messages against a group's limit, and knows each group's
    backlog of messages waiting for that limit (for honest "busy" replies)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waiting: dict[int, int] = {}

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in NOT_MESSAGES:
            data = {k: v for k, v in data.items() if k != "chat_id"}
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        try:
            chat_id = int(data.get("chat_id"))
        except (TypeError, ValueError):
            chat_id = 0
        self.waiting[chat_id] = self.waiting.get(chat_id, 0) + 1
        try:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        finally:
            self.waiting[chat_id] -= 1
            if not self.waiting[chat_id]:
                del self.waiting[chat_id]

    def backlog_seconds(self, chat_id: int) -> float:
        """Roughly how long a new message to this group would wait for the group limit."""
        if chat_id >= 0:
            return 0.0
        return max(0, self.waiting.get(chat_id, 0) - GROUP_BURST + 1) * GROUP_INTERVAL_S


def _seconds(obj: Any, attr: str) -> Optional[float]:
    """A duration attribute as float seconds (PTB moves from int to timedelta)."""
    value = obj.to_dict().get(attr)  # the wire value: whole seconds, whatever PTB's attribute type
    return float(value) if value else None


#: Telegram's shared placeholder senders: a message "sent as" a channel or group (Channel_Bot), an
#: anonymous group admin (GroupAnonymousBot), and Telegram's own service account.  Everyone behind
#: one of them arrives as the same user, so none may own a voice, a cooldown, a block or a trust.
SHARED_SENDER_IDS = frozenset({136817688, 1087968824, 777000})
#: Commands that need no identity of their own.
IDENTITY_FREE_COMMANDS = frozenset({"start", "help", "emotions", "verify"})
_SHARED_IDENTITY = (
    "This message was sent as a channel or anonymously, so I cannot tell who you are. "
    "Please send the command from your own account.",
    "这条消息是以频道身份或匿名发送的，我无法知道你是谁。请用你自己的账号发送这个命令。")
_REPLY_TO_SHARED = (
    "That message was sent as a channel or by an anonymous admin: it stands for everyone behind it, "
    "so I cannot block or trust its sender. Reply to a message from the person's own account.",
    "那条消息是以频道身份或由匿名管理员发送的，代表其背后的所有人，所以我无法封禁或信任它的发送者。"
    "请回复此人用自己账号发送的消息。")


def _keyboard(buttons: Optional[list[Button]]) -> Optional[InlineKeyboardMarkup]:
    """The command layer's buttons as an inline keyboard, one per row (None: no keyboard)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data)] for b in buttons])


#: What every handler here works from: the message, its sender and its chat.
_Parts = tuple[Message, User, Chat]


def _parts(update: Update) -> Optional[_Parts]:
    """The message, sender and chat of ``update``; None for an update without all three (a
    channel post, a button under a message bots can no longer see): nothing to answer."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if not isinstance(message, Message) or user is None or chat is None:
        return None
    return message, user, chat


def _replied_text(message: Message) -> Optional[str]:
    """What a /say reply speaks: the part the user quoted, else the replied message's text or its
    caption (a photo's, a video's), forwarded or not."""
    if message.quote is not None and message.quote.text:
        return message.quote.text
    reply = message.reply_to_message
    return (reply.text or reply.caption) if reply is not None else None


def _shared_identity(message: Message) -> bool:
    return message.sender_chat is not None or (message.from_user is not None and message.from_user.id in SHARED_SENDER_IDS)


class TelegramResponder(BaseResponder):
    """Replies in the chat of the update, threaded to the triggering message."""

    def __init__(self, adapter: "TelegramAdapter", message: Message) -> None:
        self.adapter = adapter
        self.message = message

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        await self.message.reply_text(message, reply_markup=_keyboard(buttons), do_quote=self.message.chat.type != ChatType.PRIVATE)

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        cached = self.adapter.file_ids.get(cache_key) if cache_key else None
        voice: Any = cached if cached else InputFile(ogg, filename="voice.ogg")
        sent = await self.message.reply_voice(voice, duration=max(1, round(duration)), caption=caption,
                                              do_quote=self.message.chat.type != ChatType.PRIVATE)
        if cache_key and sent.voice is not None:
            self.adapter.remember_file_id(cache_key, sent.voice.file_id)

    async def image(self, png: bytes, caption: str) -> bool:
        await self.message.reply_photo(InputFile(png, filename="usage.png"), caption=caption,
                                       do_quote=self.message.chat.type != ChatType.PRIVATE)
        return True

    async def recording(self) -> None:
        chat_id = self.message.chat.id
        now = time.monotonic()
        if now - self.adapter.last_action.get(chat_id, -1e9) < CHAT_ACTION_EVERY_S:
            return  # one indicator per chat covers every job waiting there
        self.adapter.last_action[chat_id] = now
        if len(self.adapter.last_action) > 10_000:
            self.adapter.last_action.clear()
        try:
            await self.message.chat.send_action(ChatAction.RECORD_VOICE)
        except TelegramError as exc:  # cosmetic; never fail a job for it
            log.debug("chat action failed: %s", exc)

    async def offer_private_chat(self, message: str, label: str, start: str = "clone") -> bool:
        url = f"https://t.me/{self.adapter.application.bot.username}?start={start}"
        await self.message.reply_text(message, reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]]))
        return True

    def backlog_seconds(self) -> float:
        limiter = self.adapter.application.bot.rate_limiter
        return limiter.backlog_seconds(self.message.chat.id) if isinstance(limiter, MessageRateLimiter) else 0.0

    async def buttons_done(self) -> None:
        try:  # so a button cannot be pressed twice
            await self.message.edit_reply_markup(reply_markup=None)
        except TelegramError:
            pass

    async def in_private(self) -> Optional[Responder]:
        if self.message.chat.type == ChatType.PRIVATE:
            return self
        user = self.message.from_user
        if user is None or _shared_identity(self.message):
            return None
        try:  # Telegram lets a bot write first only to someone who started it
            await self.adapter.application.bot.send_chat_action(user.id, ChatAction.TYPING)
        except (Forbidden, TelegramBadRequest):
            return None
        return _PrivateChat(self.adapter.application.bot, user.id)


class _PrivateChat(BaseResponder):
    """Answers in the caller's private chat with the bot (what a group should not see)."""

    def __init__(self, bot: Any, chat_id: int) -> None:
        self.bot, self.chat_id = bot, chat_id

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        await self.bot.send_message(self.chat_id, message, reply_markup=_keyboard(buttons))

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        await self.bot.send_voice(self.chat_id, InputFile(ogg, filename="voice.ogg"), duration=max(1, round(duration)),
                                  caption=caption)

    async def image(self, png: bytes, caption: str) -> bool:
        await self.bot.send_photo(self.chat_id, InputFile(png, filename="usage.png"), caption=caption)
        return True

    async def recording(self) -> None:
        return None


class TelegramAdapter:
    """Owns the PTB Application and the few caches Telegram needs."""

    def __init__(self, commands, application: Application, inline_storage_chat: Optional[int] = None) -> None:
        self.commands = commands
        self.application = application
        self.inline = InlineMode(commands, application.bot, inline_storage_chat)
        commands.services.notifiers[PLATFORM] = self.notify
        self.file_ids: "OrderedDict[str, str]" = OrderedDict()
        self.last_action: dict[int, float] = {}
        self._admins: dict[int, tuple[float, int, frozenset[int]]] = {}  # chat → (when, creator, admins)
        self._admin_lookups: dict[int, asyncio.Future] = {}
        self._usernames: dict[str, int] = {}
        # New messages only: an edited message would run its command again (a second note, a
        # second clone, a spammer's free repeat), so edits are ignored.
        new = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler(self.commands.commands, self.on_command, filters=new))
        application.add_handler(MessageHandler(new & filters.COMMAND, self.on_unknown_command))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(InlineQueryHandler(self.inline.on_inline_query))
        application.add_handler(MessageHandler(new & (filters.VOICE | filters.AUDIO | filters.Document.AUDIO) & ~filters.COMMAND, self.on_audio))
        application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, self.on_text))
        application.add_error_handler(self.on_error)

    async def notify(self, user_id: str, message: str, buttons: list[Button]) -> None:
        """A private message to one user (they must have started the bot: Telegram refuses otherwise)."""
        await self.application.bot.send_message(int(user_id), message, reply_markup=_keyboard(buttons))

    def remember_file_id(self, key: str, file_id: str) -> None:
        self.file_ids[key] = file_id
        self.file_ids.move_to_end(key)
        while len(self.file_ids) > FILE_ID_CACHE:
            self.file_ids.popitem(last=False)

    # ------------------------------------------------------------------ translation
    async def _roles(self, chat_id: int, user_id: int, private: bool) -> tuple[bool, bool]:
        """(is_owner, is_admin): one getChatAdministrators per group a minute, shared by
        every member's request (a per-member getChatMember cost a request each), and by requests
        that arrive while it is under way."""
        if private:
            return True, True
        cached = self._admins.get(chat_id)
        if cached is not None and time.monotonic() - cached[0] < ADMIN_CACHE_S:
            _, creator, moderators = cached
        else:
            lookup = self._admin_lookups.get(chat_id)
            if lookup is None:
                lookup = self._admin_lookups[chat_id] = asyncio.ensure_future(self._fetch_admins(chat_id))
                lookup.add_done_callback(lambda _: self._admin_lookups.pop(chat_id, None))
            _, creator, moderators = await asyncio.shield(lookup)
        return user_id == creator, user_id in moderators

    async def _fetch_admins(self, chat_id: int) -> tuple[float, int, frozenset[int]]:
        members = await self.application.bot.get_chat_administrators(chat_id)
        creator = next((m.user.id for m in members if m.status == "creator"), 0)
        if len(self._admins) > 10_000:  # a brief cache, not a registry
            self._admins.clear()
        moderators = frozenset(m.user.id for m in members
                               if m.status == "creator" or any(getattr(m, right, False) for right in MODERATION_RIGHTS))
        hit = self._admins[chat_id] = (time.monotonic(), creator, moderators)
        return hit

    def _reply_audio(self, reply: Optional[Message], command: str) -> Optional[AudioIn]:
        """The voice note /say copies an emotion from, or any audio /verify checks."""
        if reply is None or command not in ("say", "verify") or (command == "say" and not reply.voice):
            return None
        return self._audio_in(reply)

    def _audio_in(self, message: Message) -> Optional[AudioIn]:
        media = message.voice or message.audio or (message.document if message.document and
                                                   (message.document.mime_type or "").startswith("audio/") else None)
        if media is None:
            return None
        bot = self.application.bot

        async def fetch() -> bytes:
            f = await bot.get_file(media.file_id)
            return bytes(await f.download_as_bytearray())

        forwarded = message.forward_origin is not None
        return AudioIn(fetch, size=media.file_size, duration=_seconds(media, "duration"),
                       is_voice_note=message.voice is not None, forwarded=forwarded,
                       speaker_id=str(message.from_user.id) if message.from_user and not forwarded else None)

    async def _invocation(self, parts: "_Parts", command: str, args: str) -> Invocation:
        message, user, chat = parts
        private = chat.type == ChatType.PRIVATE
        if user.username:
            if len(self._usernames) > 100_000:
                self._usernames.clear()
            self._usernames[f"@{user.username.lower()}"] = user.id
        owner, admin = await self._roles(chat.id, user.id, private)
        language = language_of(user.language_code)
        mentions: dict[str, str] = {}
        names: dict[str, str] = {}
        for entity, text in message.parse_entities(["mention", "text_mention"]).items() if message.text else []:
            if entity.type == "text_mention" and entity.user:
                mentions[text] = str(entity.user.id)
                names[text] = entity.user.full_name
            elif text.lower() in self._usernames:
                mentions[text] = str(self._usernames[text.lower()])
        reply = message.reply_to_message
        admin_mentions: set[str] = set()
        if reply is not None and reply.from_user is not None and command in ("block", "unblock", "trust", "untrust", "purge"):
            handle = f"@{reply.from_user.username}" if reply.from_user.username else f"@{reply.from_user.id}"
            mentions[handle] = str(reply.from_user.id)
            names[handle] = reply.from_user.full_name
            if not args.strip():
                args = handle
        if command == "block" and not private:
            for handle, uid in mentions.items():
                if (await self._roles(chat.id, int(uid), False))[1]:
                    admin_mentions.add(handle)
        return Invocation(
            command, args, Actor(PLATFORM, str(user.id), user.full_name, language, admin, owner,
                                 handle=f"@{user.username}" if user.username else ""),
            Place(PLATFORM, f"dm:{user.id}" if private else str(chat.id), private),
            audio=self._audio_in(message) if command == "audio" else None,
            reply_text=_replied_text(message) if command == "say" else None,
            reply_audio=self._reply_audio(reply, command),
            mentions=mentions, admin_mentions=frozenset(admin_mentions), names=names,
        )

    # ------------------------------------------------------------------ handlers
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if (parts := _parts(update)) is None:
            return
        message, user, _ = parts
        text = message.text or message.caption or ""
        head, _, args = text.partition(" ")
        command = head[1:].split("@")[0].lower()
        if command == "start" and args.strip() == "clone":
            command, args = "clone", ""
        if _shared_identity(message) and command not in IDENTITY_FREE_COMMANDS:
            await message.reply_text(tr(language_of(None), *_SHARED_IDENTITY))
            return
        reply = message.reply_to_message
        if reply is not None and _shared_identity(reply) and command in ("block", "unblock", "trust", "untrust", "purge"):
            await message.reply_text(tr(language_of(user.language_code), *_REPLY_TO_SHARED))
            return
        inv = await self._invocation(parts, command, args)
        await self.commands.handle(inv, TelegramResponder(self, message))

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command we do not have: answered in private chats, or in groups when addressed to us."""
        if (parts := _parts(update)) is None:
            return
        message, _, chat = parts
        head = (message.text or "").partition(" ")[0]
        command, _, addressee = head[1:].partition("@")
        private = chat.type == ChatType.PRIVATE
        if not command or (not private and addressee.lower() != (context.bot.username or "").lower()):
            return  # another bot's command, or a group command meant for someone else
        inv = await self._invocation(parts, command.lower(), "")
        await self.commands.handle(inv, TelegramResponder(self, message))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: tell the user how to have it spoken."""
        if (parts := _parts(update)) is None:
            return
        inv = await self._invocation(parts, "text", parts[0].text or "")
        await self.commands.handle(inv, TelegramResponder(self, parts[0]))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        if (parts := _parts(update)) is None:
            return  # a button under a message too old for bots to see (48 h): nothing to answer under
        # (the keyboard goes when the command layer says the press was its owner's: buttons_done)
        inv = await self._invocation(parts, "button", query.data or "")
        await self.commands.handle(inv, TelegramResponder(self, parts[0]))

    async def on_audio(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if (parts := _parts(update)) is None or parts[2].type != ChatType.PRIVATE:
            return  # voice notes in groups are conversation, not for us
        inv = await self._invocation(parts, "audio", "")
        await self.commands.handle(inv, TelegramResponder(self, parts[0]))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            try:
                user = update.effective_user
                await update.effective_message.reply_text(tr(language_of(user.language_code if user else None), *SOMETHING_WRONG))
            except TelegramError:
                pass

    async def publish_commands(self) -> None:
        """The command menus, from the command specs: members', and admins' with the admin commands,
        in English and (for people whose Telegram is in Chinese) in Chinese."""
        bot = self.application.bot
        catalog = self.commands.catalog
        for scope, admin in ((BotCommandScopeDefault(), False), (BotCommandScopeAllChatAdministrators(), True)):
            for language, zh in ((None, 0), ("zh", 1)):
                menu = [BotCommand(spec.name, spec.summary[zh]) for spec in catalog.menu(PLATFORM, admin)]
                await bot.set_my_commands(menu, scope=scope, language_code=language)


def build_application(app, token: str, base_url: Optional[str] = None, base_file_url: Optional[str] = None,
                      rate_limiter: bool = True) -> TelegramAdapter:
    """The PTB Application wired to the shared bot resources (opened by the caller)."""

    async def post_init(application: Application) -> None:
        await adapter.publish_commands()

    builder: ApplicationBuilder = Application.builder().token(token).concurrent_updates(True).post_init(post_init)
    if rate_limiter:
        builder = builder.rate_limiter(MessageRateLimiter(max_retries=2))
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    adapter = TelegramAdapter(app.commands, builder.build(), app.config.telegram.inline_storage_chat_id)
    return adapter


async def run_telegram(app, token: str, base_url: Optional[str] = None, base_file_url: Optional[str] = None,
                       stop: Optional[asyncio.Event] = None) -> None:
    """Poll Telegram until ``stop`` is set (or forever)."""
    from telegram.error import InvalidToken, NetworkError

    adapter = build_application(app, token, base_url, base_file_url)
    application = adapter.application
    try:
        await application.initialize()  # getMe: is the token good, is Telegram there?
    except InvalidToken as exc:
        raise StartupError("Telegram refused TELEGRAM_TOKEN (malformed or revoked): get the bot's token from "
                           "@BotFather (/token) and set it again") from exc
    except NetworkError as exc:  # TimedOut is one
        raise StartupError(f"cannot reach Telegram at {base_url or 'https://api.telegram.org'}: {exc.message}; "
                           "check the network (or [telegram] base_url) and start again") from exc
    me = application.bot
    log.info("connected to Telegram as @%s (%s)", me.username, me.id)
    print(f"connected to Telegram as @{me.username} ({me.id})", file=sys.stderr, flush=True)
    async with application:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        updater = application.updater
        assert updater is not None  # the builder makes one unless told not to
        await updater.start_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        try:
            await (stop.wait() if stop else asyncio.Event().wait())
        finally:
            await updater.stop()
            await application.stop()
