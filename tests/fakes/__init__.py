"""Fakes for the network edge we cannot reach (Telegram's and Discord's servers), speaking real HTTP."""

from __future__ import annotations

from typing import Optional

from aiohttp import web


class LoopbackServer:
    """An aiohttp app on 127.0.0.1 with an OS-chosen port; subclasses add routes in :meth:`routes`."""

    runner: Optional[web.AppRunner] = None
    port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self):
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
