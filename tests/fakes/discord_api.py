"""A fake Discord HTTP API on 127.0.0.1 (real HTTP) that records what the bot sends.

Covers login (GET /users/@me), command sync, interaction callbacks, webhook follow-ups (JSON and
multipart), original-response edits/deletes, channel messages and attachment downloads.  Set
``refuse_voice`` to answer voice messages with Discord's error 50173, ``refuse_login`` to refuse the token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web

from . import LoopbackServer

APP_ID = 4242
BOT_USER = {"id": str(APP_ID), "username": "voicebot", "discriminator": "0", "global_name": "VoiceBot",
            "avatar": None, "bot": True, "flags": 0}
IS_VOICE_MESSAGE = 1 << 13


def _json(obj: Any, status: int = 200) -> web.Response:
    # Discord answers "application/json" with no charset; discord.py compares it exactly.
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


@dataclass
class Request:
    method: str
    path: str
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class FakeDiscord(LoopbackServer):
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.refuse_voice = False
        self.refuse_login = False  # answer login as Discord does for a reset token
        self.attachments: dict[str, bytes] = {}
        self.roles: list[dict[str, Any]] = []  # GET /guilds/{id}/roles
        self._ids = itertools.count(10_000)
        self._event = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/attachments/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._api)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def add_attachment(self, name: str, data: bytes) -> str:
        self.attachments[name] = data
        return f"http://127.0.0.1:{self.port}/attachments/{name}"

    def find(self, method: str, prefix: str, since: int = 0) -> list[Request]:
        return [r for r in self.requests[since:] if r.method == method and r.path.startswith(prefix)]

    async def wait_for(self, method: str, prefix: str, count: int = 1, since: int = 0, timeout: float = 120) -> list[Request]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, prefix, since)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} {prefix}; got {[(r.method, r.path) for r in self.requests]}")
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), 0.5)
            except asyncio.TimeoutError:
                pass

    def _message(self, channel_id: str, content: str = "", flags: int = 0, attachments: Optional[list] = None) -> dict:
        return {"id": str(next(self._ids)), "channel_id": channel_id, "type": 0, "content": content,
                "author": BOT_USER, "attachments": attachments or [], "embeds": [], "mentions": [],
                "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
                "timestamp": "2026-11-21T00:00:00+00:00", "edited_timestamp": None, "flags": flags, "components": []}

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(request.match_info["name"])
        return web.Response(status=404) if data is None else web.Response(body=data)

    async def _api(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        req = Request(request.method, path)
        if request.content_type == "application/json" and request.can_read_body:
            req.json = await request.json()
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename:
                    req.files[part.name] = (part.filename, bytes(await part.read()))
                else:
                    value = (await part.read()).decode()
                    req.form[part.name] = json.loads(value) if part.name == "payload_json" else value
            req.json = req.form.get("payload_json")
        self.requests.append(req)
        self._event.set()
        body = req.json or {}
        if path == "/users/@me":
            if self.refuse_login:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json({"id": str(APP_ID), "name": "VoiceBot", "icon": None, "description": "", "bot_public": True,
                          "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0, "owner": BOT_USER,
                          "team": None, "rpc_origins": [], "summary": ""})
        if request.method == "GET" and path.startswith("/guilds/") and path.endswith("/roles"):
            return _json(self.roles)
        if request.method == "PUT" and path.endswith("/commands"):
            # Discord answers every command with a description: "" for message and user commands.
            return _json([{"description": "", **c, "id": str(next(self._ids)), "application_id": str(APP_ID),
                           "version": "1"} for c in body])
        if path.startswith("/interactions/") and path.endswith("/callback"):
            if request.query.get("with_response") not in ("1", "true"):
                return web.Response(status=204)
            flags = int((body.get("data") or {}).get("flags", 0) or 0)
            return _json({"interaction": {"id": path.split("/")[2], "type": 2, "response_message_loading": body.get("type") == 5,
                                          "response_message_ephemeral": bool(flags & 64)},
                          "resource": {"type": body.get("type", 5)}})
        if path.startswith("/webhooks/") or (path.startswith("/channels/") and path.endswith("/messages")):
            if request.method == "DELETE":
                return web.Response(status=204)
            flags = int(body.get("flags", 0) or 0)
            if self.refuse_voice and flags & IS_VOICE_MESSAGE:
                return _json({"code": 50173, "message": "Cannot send voice messages in this channel"}, status=400)
            atts = [{"id": str(next(self._ids)), "filename": fn, "size": len(data), "url": "http://x", "proxy_url": "http://x"}
                    for fn, data in req.files.values()]
            return _json(self._message("1", body.get("content", "") or "", flags, atts))
        return _json({"code": 0, "message": f"404: Not Found {path}"}, status=404)
