"""``python -m bot``: start every adapter whose token is set; none set → the console chat.

SIGTERM (systemd, Docker) and SIGINT (Ctrl-C) both stop taking new requests, finish the ones in
progress, and exit 0.  Bad settings, an unusable data folder or database: one line, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from indextts_core import load_engine
from indextts_core.errors import EngineUnavailableError, IndexTTSError

from . import logsafe
from .adapters import StartupError
from .app import BotApp
from .config import Config, ConfigError, load_config
from .storage import StorageError

log = logging.getLogger("bot")
DEFAULT_CONFIG = Path("config.toml")


def check_writable(folder: Path, what: str) -> None:
    """Create ``folder`` and prove a write works there (permissions, full disk), or one clear error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-") as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise ConfigError(f"{what} {folder} is not usable: {exc.strerror or exc}") from exc


def _reload(app: BotApp, path: Optional[Path]) -> None:
    """SIGHUP: read the config again and apply the rollout rules (the rest needs a restart)."""
    try:
        fresh = load_config(path or DEFAULT_CONFIG, required=path is not None)
    except ConfigError as exc:
        log.error("config not reloaded, the old rules stay: %s", exc)
        return
    app.reload_rollout(fresh.rollout)


async def _run(config: Config, path: Optional[Path] = None) -> int:
    # The engines check their options now (models load in start()); with [queue] url they live in the workers.
    engines = None if config.queue.url else [load_engine(e.name, e.options) for e in config.all_engines]
    check_writable(config.bot.data_dir, "bot.data_dir")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    app = BotApp(config, engine=engines)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_stop_signal, app, stop)
    loop.add_signal_handler(signal.SIGHUP, _reload, app, path)
    try:
        # inside try: a failed start still closes what it opened; a stop during start-up does not
        # wait for the voices to finish loading
        starting = asyncio.ensure_future(app.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            return 0
        stopping.cancel()
        starting.result()
        runners = []
        if config.telegram_token:
            from .adapters.telegram import run_telegram

            runners.append(run_telegram(app, config.telegram_token, config.telegram.base_url,
                                        config.telegram.base_file_url, stop=stop))
        if config.discord_token:
            from .adapters.discord import run_discord

            runners.append(run_discord(app, config.discord_token, stop=stop))
        if not runners:
            from .adapters.console import ConsoleChat

            check_writable(config.bot.console_output_dir, "bot.console_output_dir")
            runners.append(ConsoleChat(app.commands, config.bot.console_output_dir).run(stop))
        await asyncio.gather(*runners)
    finally:
        await app.stop()
    return 0


def _on_stop_signal(app: BotApp, stop: asyncio.Event) -> None:
    """SIGINT or SIGTERM: stop taking requests and finish those in progress; a second one stops
    at once (what they were waiting for is lost)."""
    if stop.is_set():
        print("stopped at once", file=sys.stderr, flush=True)
        os._exit(130)
    stop.set()
    busy = app.in_flight
    print(f"stopping: finishing {busy} request(s)… (Ctrl-C again stops at once)" if busy else "stopping…",
          file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="IndexTTS Voice Bot")
    parser.add_argument("--config", type=Path, default=None, help=f"TOML settings (default: {DEFAULT_CONFIG} if present)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logsafe.install(args.verbose)
    try:
        config = load_config(args.config or DEFAULT_CONFIG, required=args.config is not None)
        logsafe.install(args.verbose, config.secrets)
        return asyncio.run(_run(config, args.config))
    except EngineUnavailableError as exc:  # engine package, weights or download missing
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, IndexTTSError, ValueError) as exc:  # bad settings
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:  # a platform unreachable, or its token refused
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:  # unusable database (read-only, full disk, damaged, newer schema)
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


if __name__ == "__main__":
    sys.exit(main())
