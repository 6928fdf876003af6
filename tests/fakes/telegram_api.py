"""A fake Telegram Bot API server on 127.0.0.1, speaking real HTTP (JSON, form and multipart).

Implements what the bot uses: getMe, getUpdates (long poll), sendMessage, sendVoice, getFile and
file download, answerCallbackQuery, editMessageText, sendChatAction, setMyCommands,
getChatMember, getChatAdministrators, deleteWebhook (and, when a test sets
``group_limit``, Telegram's per-group flood control).  Tests push updates and read the recorded calls.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web

from . import LoopbackServer

TOKEN = "123456:TEST-TOKEN"
BOT = {"id": 123456, "is_bot": True, "first_name": "VoiceBot", "username": "voice_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)  # when it arrived


class FakeTelegram(LoopbackServer):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}  # file_id → bytes
        self.member_status: dict[tuple[int, int], str] = {}  # (chat, user) → creator/administrator/member
        self.admin_rights: dict[int, dict[str, bool]] = {}  # user → rights that differ from "all of them"
        self.not_started: set[int] = set()  # users who never opened a private chat with the bot (403 there)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        #: Telegram's flood control for groups (messages per minute), off unless a test sets it.
        self.group_limit: Optional[int] = None
        self._group_sends: dict[int, list[float]] = {}

    # ------------------------------------------------------------------ server
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ test helpers
    def add_file(self, data: bytes) -> str:
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = data
        return file_id

    def push(self, update: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new_update.set()

    def message(self, text: Optional[str] = None, *, user: int = 1, chat: Optional[int] = None, username: str = "",
                chat_type: str = "private", voice: Optional[dict] = None, audio: Optional[dict] = None,
                reply_to: Optional[dict] = None, forwarded: bool = False, language: str = "en",
                sender_chat: Optional[int] = None, quote: Optional[str] = None) -> dict[str, Any]:
        """Push a message update; returns the message dict.  ``quote``: the part of the replied-to
        message the user selected."""
        chat_id = user if chat is None else chat
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, **({"title": "Group"} if chat_type != "private" else {"first_name": "U"})},
            "from": {"id": user, "is_bot": False, "first_name": f"User{user}", "language_code": language,
                     **({"username": username} if username else {})},
        }
        if text is not None:
            msg["text"] = text
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}] if text.startswith("/") else []
            # Telegram marks every @username in the text (offsets in UTF-16 units: ASCII here)
            entities += [{"type": "mention", "offset": m.start(), "length": m.end() - m.start()}
                         for m in re.finditer(r"@[A-Za-z][A-Za-z0-9_]{3,31}", text)]
            if entities:
                msg["entities"] = entities
        if sender_chat is not None:  # "sent as" a channel or group: Telegram puts its placeholder in "from"
            msg["sender_chat"] = {"id": sender_chat, "type": "channel", "title": "Channel"}
            msg["from"] = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
        if voice:
            msg["voice"] = voice
        if audio:
            msg["audio"] = audio
        if reply_to:
            msg["reply_to_message"] = reply_to
        if quote is not None:
            msg["quote"] = {"text": quote, "position": 0}
        if forwarded:
            msg["forward_origin"] = {"type": "user", "date": int(time.time()) - 60,
                                     "sender_user": {"id": 999, "is_bot": False, "first_name": "Someone"}}
        self.push({"message": msg})
        return msg

    def edit(self, message: dict[str, Any], text: str) -> None:
        """Push an ``edited_message`` update: the user changed the text of ``message``."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        if text.startswith("/"):
            edited["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]
        self.push({"edited_message": edited})

    def voice_note(self, data: bytes, duration: int, **kw) -> dict[str, Any]:
        file_id = self.add_file(data)
        return self.message(voice={"file_id": file_id, "file_unique_id": file_id + "u", "duration": duration,
                                   "mime_type": "audio/ogg", "file_size": len(data)}, **kw)

    def inline(self, text: str, *, user: int = 1, language: str = "en") -> str:
        """Push an ``inline_query`` update (the user typed ``@bot text`` somewhere); returns its id."""
        query_id = f"iq{next(self._update_ids)}"
        self.push({"inline_query": {"id": query_id, "query": text, "offset": "", "chat_type": "supergroup",
                                    "from": {"id": user, "is_bot": False, "first_name": f"User{user}",
                                             "language_code": language}}})
        return query_id

    def press(self, data: str, message: dict[str, Any], *, user: int = 1) -> None:
        self.push({"callback_query": {"id": str(next(self._update_ids)), "chat_instance": "ci", "data": data,
                                      "from": {"id": user, "is_bot": False, "first_name": f"User{user}"},
                                      "message": message}})

    def sent(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 120.0, since: int = 0) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived after index ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls[since:] if c.method == method]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                texts = [c.params.get("text") for c in self.calls if c.method == "sendMessage"][:5]
                raise AssertionError(f"{len(found)} of {count} {method} after {timeout} s; first texts sent: {texts}; "
                                     f"calls: {collections.Counter(c.method for c in self.calls)}")
            self._new_call.clear()
            try:
                await asyncio.wait_for(self._new_call.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    # ------------------------------------------------------------------ API
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        ctype = request.content_type
        if ctype == "application/json":
            params.update(await request.json())
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename:
                    files[part.name] = bytes(await part.read())
                else:
                    params[part.name] = (await part.read()).decode()
        elif ctype == "application/x-www-form-urlencoded":
            params.update(dict(await request.post()))
        for k, v in list(params.items()):
            if isinstance(v, str) and v[:1] in "{[":
                try:
                    params[k] = json.loads(v)
                except ValueError:
                    pass
        return params, files

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _sent_message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}, "from": BOT, **extra}

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._params(request)
        if method != "getUpdates":
            self.calls.append(Call(method, params, files))
            self._new_call.set()
        if method in ("sendMessage", "sendVoice", "sendPhoto") and self.group_limit and int(params.get("chat_id", 0)) < 0:
            now = time.monotonic()
            recent = [t for t in self._group_sends.get(int(params["chat_id"]), []) if now - t < 60]
            if len(recent) >= self.group_limit:
                wait = int(60 - (now - recent[0])) + 1
                return web.json_response({"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                                          "parameters": {"retry_after": wait}}, status=429)
            self._group_sends[int(params["chat_id"])] = recent + [now]
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": f"Not Found: {method}"}, status=404)
        return await handler(params, files)

    async def m_getMe(self, p, f):
        return self._ok(BOT)

    async def m_deleteWebhook(self, p, f):
        return self._ok(True)

    async def m_setMyCommands(self, p, f):
        return self._ok(True)

    def _forbidden(self, p) -> Optional[web.Response]:
        if int(p.get("chat_id", 0)) in self.not_started:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot can't initiate conversation with a user"}, status=403)
        return None

    async def m_sendChatAction(self, p, f):
        return self._forbidden(p) or self._ok(True)

    async def m_answerInlineQuery(self, p, f):
        return self._ok(True)

    async def m_deleteMessage(self, p, f):
        return self._ok(True)

    async def m_answerCallbackQuery(self, p, f):
        return self._ok(True)

    async def m_getUpdates(self, p, f):
        offset = int(p.get("offset", 0) or 0)
        timeout = float(p.get("timeout", 0) or 0)
        deadline = time.monotonic() + min(timeout, 2.0)
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return self._ok(ready[:100])
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def m_sendMessage(self, p, f):
        return self._ok(self._sent_message(p, text=p.get("text", "")))

    async def m_editMessageReplyMarkup(self, p, f):
        return self._ok(self._sent_message(p, text="") if "chat_id" in p else True)

    async def m_editMessageText(self, p, f):
        return self._ok(self._sent_message(p, text=p.get("text", "")) if "chat_id" in p else True)

    async def m_sendVoice(self, p, f):
        refused = self._forbidden(p)
        if refused is not None:
            return refused
        if "voice" in f:
            data = f["voice"]
            file_id = self.add_file(data)
        else:
            file_id = p["voice"]
            data = self.files[file_id]
        voice = {"file_id": file_id, "file_unique_id": file_id + "u", "duration": int(p.get("duration", 0) or 0),
                 "mime_type": "audio/ogg", "file_size": len(data)}
        return self._ok(self._sent_message(p, voice=voice, **({"caption": p["caption"]} if p.get("caption") else {})))

    async def m_sendPhoto(self, p, f):
        if "photo" not in f or not f["photo"].startswith(b"\x89PNG\r\n\x1a\n"):
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: IMAGE_PROCESS_FAILED"},
                                     status=400)
        file_id = self.add_file(f["photo"])
        photo = [{"file_id": file_id, "file_unique_id": file_id + "u", "width": 1, "height": 1, "file_size": len(f["photo"])}]
        return self._ok(self._sent_message(p, photo=photo, **({"caption": p["caption"]} if p.get("caption") else {})))

    async def m_getFile(self, p, f):
        file_id = p["file_id"]
        if file_id not in self.files:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400)
        return self._ok({"file_id": file_id, "file_unique_id": file_id + "u", "file_size": len(self.files[file_id]),
                         "file_path": f"voice/{file_id}.oga"})

    async def m_getChatMember(self, p, f):
        chat, user = int(p["chat_id"]), int(p["user_id"])
        return self._ok(self._member(user, self.member_status.get((chat, user), "member")))

    async def m_getChatAdministrators(self, p, f):
        chat = int(p["chat_id"])
        return self._ok([self._member(u, st) for (c, u), st in self.member_status.items()
                         if c == chat and st in ("creator", "administrator")])

    def _member(self, user: int, status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": {"id": user, "is_bot": False, "first_name": f"User{user}"}}
        if status == "administrator":
            member.update({k: True for k in ("can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                                              "can_restrict_members", "can_promote_members", "can_change_info",
                                              "can_invite_users", "can_post_stories", "can_edit_stories",
                                              "can_delete_stories")})
            member.update(self.admin_rights.get(user, {}))
            member["is_anonymous"] = False
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if file_id not in self.files:
            return web.Response(status=404)
        self.calls.append(Call("downloadFile", {"file_id": file_id}))
        return web.Response(body=self.files[file_id])
