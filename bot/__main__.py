"""``python -m bot``: start every adapter whose token is set; none set → the console chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from indextts_core.errors import IndexTTSError

from .app import BotApp
from .config import ConfigError, load_config

log = logging.getLogger("bot")


async def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    app = BotApp(config)
    try:
        await app.start()  # inside try: a failed start still closes what it opened
        runners = []
        if config.telegram_token:
            from .adapters.telegram import run_telegram

            runners.append(run_telegram(app, config.telegram_token))
        if config.discord_token:
            from .adapters.discord import run_discord

            runners.append(run_discord(app, config.discord_token))
        if not runners:
            from .adapters.console import ConsoleChat

            runners.append(ConsoleChat(app.commands, config.bot.console_output_dir).run())
        await asyncio.gather(*runners)
    finally:
        await app.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="IndexTTS Voice Bot")
    parser.add_argument("--config", type=Path, default=Path("config.toml"), help="TOML settings (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_run(args))
    except (ConfigError, ValueError, IndexTTSError) as exc:  # bad settings: one line, no traceback
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # e.g. a database from a newer version, ASR missing for spoken consent
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
