"""Console chat: the command layer in a terminal, or fed line by line from a pipe.

You are the owner of a local server.  Buttons print as numbered choices; type the number.
``/clone PATH`` hands a recording to the consent step; ``/say`` writes OGG files to a folder.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import threading
import time
from pathlib import Path
from typing import Optional, TextIO

from ..core.invocation import Actor, AudioIn, BaseResponder, Button, Invocation, Place

_MENTION = re.compile(r"@([A-Za-z0-9_]{1,32})")


class ConsoleResponder(BaseResponder):
    def __init__(self, chat: "ConsoleChat") -> None:
        self.chat = chat
        self.working_since: Optional[float] = None  # when the command in progress began to wait

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        self.chat.write(message)
        self.chat.buttons = list(buttons or [])
        for i, b in enumerate(self.chat.buttons, 1):
            self.chat.write(f"  [{i}] {b.label}")

    def _save(self, kind: str, suffix: str, data: bytes) -> Path:
        self.chat.out_dir.mkdir(parents=True, exist_ok=True)
        self.chat.counter += 1
        path = self.chat.out_dir / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{self.chat.counter:03d}.{suffix}"
        path.write_bytes(data)
        return path

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        path = self._save("voice", "ogg", ogg)
        self.chat.write(f"voice note: {path} ({duration:.2f} s)" + (f" — {caption}" if caption else ""))

    async def image(self, png: bytes, caption: str) -> bool:
        self.chat.write(f"picture: {self._save('chart', 'png', png)} — {caption}")
        return True

    async def recording(self) -> None:
        """Where Telegram shows "recording a voice message…": say so once, then how long it has
        taken at every later ping (a first /clone loads models for up to a minute)."""
        now = time.monotonic()
        if self.working_since is None:
            self.working_since = now
            self.chat.write("… working on it")
        elif now - self.working_since >= 2:
            self.chat.write(f"… still working ({now - self.working_since:.0f} s)")


class ConsoleChat:
    """Reads commands from ``stdin`` and prints replies to ``stdout``."""

    def __init__(self, commands, out_dir: Path, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 user: str = "local", language: str = "en") -> None:
        self.commands = commands
        self.out_dir = Path(out_dir)
        self.stdin = stdin
        self.stdout = stdout
        self.user = user
        self.language = language
        self.buttons: list[Button] = []
        self.counter = 0
        self.interactive = stdin.isatty()

    def write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _invocation(self, line: str) -> Optional[Invocation]:
        actor = Actor("console", self.user, self.user, self.language, is_platform_admin=True, is_owner=True,
                      handle=f"@{self.user}")
        place = Place("console", "local", is_private=False)
        if line.isdigit() and self.buttons:
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                self.write(f"Choose 1–{len(self.buttons)}.")
                return None
            button, self.buttons = self.buttons[index], []
            return Invocation("button", button.data, actor, place)
        if not line.startswith("/"):
            return Invocation("text", line, actor, place)
        command, _, args = line[1:].partition(" ")
        command = command.split("@")[0].lower()
        mentions = {f"@{m}": m for m in _MENTION.findall(args)}
        audio = None
        if command == "clone" and args.strip():
            path = Path(args.strip()).expanduser()
            if not path.is_file():
                self.write(f"No such file: {path}")
                return None
            audio = AudioIn(fetch=functools.partial(asyncio.to_thread, path.read_bytes), size=path.stat().st_size)
        return Invocation(command, args.strip(), actor, place, audio=audio, mentions=mentions)

    def _start_reader(self) -> "asyncio.Queue[str]":
        """Lines from stdin through a daemon thread: a blocked ``readline`` must never keep the
        process alive after Ctrl-C or SIGTERM (a worker-pool thread would)."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            while True:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop has closed
                    return
                if not line:
                    return

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        return lines

    async def _next_line(self, lines: "asyncio.Queue[str]", stop: Optional[asyncio.Event]) -> Optional[str]:
        """The next line, or None at end of input or when ``stop`` is set."""
        if stop is None:
            return await lines.get() or None
        getter = asyncio.ensure_future(lines.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            return None
        stopper.cancel()
        return getter.result() or None

    async def run(self, stop: Optional[asyncio.Event] = None) -> None:
        """Answer commands until end of input, /quit, or ``stop`` (a command in progress finishes first)."""
        responder = ConsoleResponder(self)
        self.write("IndexTTS Voice Bot — local console. You own this local server. /help lists commands; Ctrl-D quits.")
        lines = self._start_reader()
        while stop is None or not stop.is_set():
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await self._next_line(lines, stop)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            inv = self._invocation(line)
            if inv is not None:
                responder.working_since = None
                await self.commands.handle(inv, responder)
