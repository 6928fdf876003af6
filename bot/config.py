"""Configuration: a TOML file for settings, the environment for secrets.  Unknown keys are errors."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class EngineConfig:
    name: str = "default"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BotConfig:
    data_dir: Path = Path("data")
    consent_mode: str = "spoken"  # spoken | button
    workers: int = 1
    max_pending: int = 64
    per_user: int = 2
    console_output_dir: Path = Path("out")


@dataclass(frozen=True)
class DiscordConfig:
    test_guild_id: Optional[int] = None


@dataclass(frozen=True)
class Config:
    engine: EngineConfig = field(default_factory=EngineConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    telegram_token: Optional[str] = None
    discord_token: Optional[str] = None

    @property
    def database_path(self) -> Path:
        return self.bot.data_dir / "bot.sqlite3"


def _table(cls, data: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"Unknown key(s) in [{where}]: {', '.join(unknown)}")
    values = {}
    for key, value in data.items():
        kind = known[key].type
        if "Path" in str(kind):
            value = Path(value)
        values[key] = value
    return cls(**values)


def load_config(path: Optional[Path] = None, env: Optional[dict[str, str]] = None) -> Config:
    """Read ``path`` (when it exists) and take tokens from ``env`` (``os.environ`` by default)."""
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    if path is not None and Path(path).exists():
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    unknown = sorted(set(data) - {"engine", "bot", "discord"})
    if unknown:
        raise ConfigError(f"Unknown table(s) in config: {', '.join(unknown)} (tokens belong in the environment)")
    engine_data = dict(data.get("engine", {}))
    name = engine_data.pop("name", "default")
    bot = _table(BotConfig, data.get("bot", {}), "bot")
    if bot.consent_mode not in ("spoken", "button"):
        raise ConfigError("[bot] consent_mode must be 'spoken' or 'button'")
    return Config(
        engine=EngineConfig(name, engine_data),
        bot=bot,
        discord=_table(DiscordConfig, data.get("discord", {}), "discord"),
        telegram_token=env.get("TELEGRAM_TOKEN") or None,
        discord_token=env.get("DISCORD_TOKEN") or None,
    )
