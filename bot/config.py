"""Configuration: a TOML file for settings, the environment for secrets.

Unknown keys, wrong types and values out of range are refused with one line naming the key,
so a typo never runs silently on defaults.
"""

from __future__ import annotations

import os
import tomllib
import typing
import urllib.parse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from indextts_core import watermark

from .core.rollout import Rollout
from .logsafe import without_credentials
from .queue_seal import MIN_SECRET_CHARS, SECRET_ENV

#: Where the watermark keys come from (bot and workers alike): hex keys, newest first, commas between.
WATERMARK_KEYS_ENV = "VOICEBOT_WATERMARK_KEYS"


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
    # "button" consent clones any voice note a user forwards or plays: only for test set-ups, and
    # only with this set to say so (refused otherwise, whatever the engine).
    i_understand_anyone_can_clone_anyone: bool = False
    workers: int = 1
    max_pending: int = 64
    per_user: int = 2
    max_wait_seconds: int = 45  # /say answers "busy" at once when the first note would take longer than this
    voice_use_retention_days: int = 180  # a server's record of each use of someone else's voice is kept this long
    console_output_dir: Path = Path("out")
    preload_clone_models: bool = True  # load the speaker encoder and Whisper in the background at start
    metrics_port: int = 0  # Prometheus /metrics and /health on this port (0: off)
    metrics_host: str = "127.0.0.1"  # where they listen (0.0.0.0 for a scraper on another machine)
    # How strongly every note is watermarked: 1.0 (the least change of the note) to 1.5; 1.3 also
    # carries a reverberant replay through a phone, at a change a listener can hear (README, Watermark).
    watermark_strength: float = 1.0
    # /clone recordings a person may send per day (every one checked costs a transcription), and how
    # long /clone stays closed to an account that sent the bot's own speech or another member's voice.
    clone_attempts_per_day: int = 5
    clone_lockout_hours: int = 24


@dataclass(frozen=True)
class TelegramConfig:
    base_url: Optional[str] = None  # a self-hosted Bot API server, e.g. "http://127.0.0.1:8081/bot"
    base_file_url: Optional[str] = None  # its file URL, e.g. "http://127.0.0.1:8081/file/bot"
    inline_storage_chat_id: Optional[int] = None  # inline mode uploads notes here (unset: the user's private chat)


@dataclass(frozen=True)
class DiscordConfig:
    test_guild_id: Optional[int] = None
    voice_idle_seconds: int = 300  # leave a voice channel after this long with nothing to say (0: stay)
    voice_leave_when_alone: bool = True  # leave when no person is left in the voice channel
    read_aloud: bool = False  # servers may bind a text channel to be read aloud (needs the message-content intent)
    # Servers the bot is not in, where a user brings the app with their own install: nobody there can
    # set rules or block anyone, so these careful ones apply (README, Discord user installs).
    guest_cloned_voices: bool = False  # people's own cloned voices there (false: the default voice)
    guest_cooldown_seconds: int = 30  # between one person's notes there
    guest_member_quota_seconds: int = 120  # seconds of speech a day for each person there (0: none)


@dataclass(frozen=True)
class QueueConfig:
    url: Optional[str] = None  # "redis://host:6379/0": synthesis in `python -m bot.worker` processes (unset: in this process)
    prefix: str = "voicebot"  # key prefix, so several bots can share one Redis
    lease_seconds: int = 30  # a worker silent this long is presumed dead: its job goes to another worker
    job_timeout_seconds: int = 300  # the bot stops waiting for a job after this long and says so
    tls_ca_file: Optional[Path] = None  # with rediss://: the CA of the server's certificate (unset: the system's)


@dataclass(frozen=True)
class LimitsConfig:
    """Each person's daily budgets across every place, and inline mode's rules (README, Limits)."""

    speech_seconds_per_user_per_day: int = 1800  # seconds of voice notes a person may get a day, anywhere (0: no limit)
    compute_seconds_per_user_per_day: int = 3600  # seconds of engine time a person may use a day, failures too (0: none)
    compute_per_speech_second: float = 1.0  # the reservation's estimate of engine time per second of speech
    inline: bool = True  # Telegram inline mode (@bot text in any chat)
    inline_own_voice: bool = True  # offer the person's own cloned voice inline (false: the default voice only)
    inline_cooldown_seconds: int = 10  # between one person's inline notes
    inline_refuse_blocked: bool = True  # no inline notes for anyone blocked in any group the bot knows them from


@dataclass(frozen=True)
class StorageConfig:
    url: Optional[str] = None  # "sqlite:///data/bot.sqlite3" (unset: bot.data_dir/bot.sqlite3) or "postgresql://…"


#: Allowed ranges for numbers, by "table.key".
_RANGES = {"bot.workers": (1, 64), "bot.max_pending": (1, 100_000), "bot.per_user": (1, 1000), "bot.max_wait_seconds": (5, 3600),
           "bot.voice_use_retention_days": (1, 3650), "bot.watermark_strength": watermark.STRENGTHS,
           "bot.clone_attempts_per_day": (1, 100), "bot.clone_lockout_hours": (0, 24 * 30),
           "bot.metrics_port": (0, 65_535),
           "limits.speech_seconds_per_user_per_day": (0, 86_400), "limits.compute_seconds_per_user_per_day": (0, 86_400),
           "limits.compute_per_speech_second": (0.01, 100.0), "limits.inline_cooldown_seconds": (0, 86_400),
           "discord.test_guild_id": (1, 2**63 - 1), "discord.voice_idle_seconds": (0, 86_400),
           "discord.guest_cooldown_seconds": (0, 86_400), "discord.guest_member_quota_seconds": (0, 86_400),
           "queue.lease_seconds": (2, 3600), "queue.job_timeout_seconds": (5, 86_400)}
_CHOICES = {"bot.consent_mode": ("spoken", "button")}


@dataclass(frozen=True)
class Config:
    engine: EngineConfig = field(default_factory=EngineConfig)
    #: engines that run beside the primary one (``[engines.NAME]`` tables), in the file's order
    engines: tuple[EngineConfig, ...] = ()
    rollout: Rollout = field(default_factory=Rollout)
    bot: BotConfig = field(default_factory=BotConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    telegram_token: Optional[str] = None
    discord_token: Optional[str] = None
    queue_secret: Optional[str] = None  # VOICEBOT_QUEUE_SECRET: seals jobs and results (bot/queue_seal.py)
    #: VOICEBOT_WATERMARK_KEYS: the watermark keys, newest first (empty: kept in the database)
    watermark_keys: tuple[watermark.WatermarkKey, ...] = ()
    redis_password: Optional[str] = None  # REDIS_PASSWORD: the password of [queue] url's user

    @property
    def all_engines(self) -> tuple[EngineConfig, ...]:
        """The primary engine first, then the others."""
        return (self.engine, *self.engines)

    @property
    def database_url(self) -> str:
        return self.storage.url or f"sqlite:///{self.bot.data_dir / 'bot.sqlite3'}"

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs."""
        passwords = [urllib.parse.urlsplit(u).password for u in (self.queue.url, self.storage.url) if u]
        keys = [k.secret.hex() for k in self.watermark_keys]
        return [t for t in (self.telegram_token, self.discord_token, self.queue_secret, self.redis_password, *passwords,
                            *keys) if t]


def _convert(where: str, value: Any, kind: Any) -> Any:
    """``value`` checked against the field's type (Path, int, bool, str, Optional[...])."""
    optional = typing.get_origin(kind) is typing.Union and type(None) in typing.get_args(kind)
    if optional:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    names = {Path: "a path (text in quotes)", int: "a whole number", float: "a number", bool: "true or false",
             str: "text in quotes"}
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {Path: isinstance(value, str) and value.strip() != "", int: number and isinstance(value, int),
          float: number, bool: isinstance(value, bool), str: isinstance(value, str)}[kind]
    if not ok:
        raise ConfigError(f"{where} must be {names[kind]} (got {value!r})")
    if kind is float:
        value = float(value)
    if kind in (int, float) and where in _RANGES:
        lo, hi = _RANGES[where]
        if not lo <= value <= hi:
            raise ConfigError(f"{where} must be between {lo} and {hi} (got {value})")
    if where in _CHOICES and value not in _CHOICES[where]:
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, _CHOICES[where]))} (got {value!r})")
    return Path(value) if kind is Path else value


def _table(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"Unknown key(s) in [{where}]: {', '.join(unknown)}")
    return cls(**{key: _convert(f"{where}.{key}", value, hints[key]) for key, value in data.items()})


def _check_urls(table, where: str, schemes: tuple[str, ...]):
    url = table.url
    if url is None:
        return table
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in schemes:
        raise ConfigError(f"{where}.url must start with {' or '.join(s + '://' for s in schemes)} (got {without_credentials(url)!r})")
    return table


def _engines(data: Any, primary: str) -> tuple[EngineConfig, ...]:
    """``[engines.NAME]`` tables: each NAME an engine of the registry, with its options."""
    if not isinstance(data, dict):
        raise ConfigError("[engines] must hold one table per engine, e.g. [engines.indextts]")
    out = []
    for name, options in data.items():
        if not isinstance(options, dict):
            raise ConfigError(f"[engines.{name}] must be a table of that engine's options")
        if name == primary:
            raise ConfigError(f"[engines.{name}] is already the primary engine ([engine] name); set its options in [engine]")
        out.append(EngineConfig(name, dict(options)))
    return tuple(out)


def _rollout(data: Any, engines: tuple[str, ...]) -> Rollout:
    """``[rollout]``: canary engine, allow-listed servers, a percentage of users, user choice."""
    if not isinstance(data, dict):
        raise ConfigError("[rollout] must be a table")
    unknown = sorted(set(data) - {"canary", "servers", "percent", "user_choice"})
    if unknown:
        raise ConfigError(f"Unknown key(s) in [rollout]: {', '.join(unknown)}")
    canary = data.get("canary")
    if canary is not None and canary not in engines:
        raise ConfigError(f"rollout.canary must name a configured engine ({', '.join(engines)}; got {canary!r})")
    servers = data.get("servers", [])
    if not isinstance(servers, list) or not all(isinstance(x, str) and ":" in x for x in servers):
        raise ConfigError('rollout.servers must be a list of "platform:server_id" texts, e.g. ["discord:1234"]')
    percent = data.get("percent", 0)
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
        raise ConfigError(f"rollout.percent must be a number from 0 to 100 (got {percent!r})")
    choice = data.get("user_choice", True)
    if not isinstance(choice, bool):
        raise ConfigError(f"rollout.user_choice must be true or false (got {choice!r})")
    return Rollout(canary, frozenset(servers), float(percent), choice)


def _watermark_keys(text: str) -> tuple[watermark.WatermarkKey, ...]:
    """``VOICEBOT_WATERMARK_KEYS``: hex keys separated by commas, the newest (the one that marks)
    first; the older ones only verify notes made before a rotation."""
    keys = []
    for n, part in enumerate(p for p in text.split(",") if p.strip()):
        try:
            keys.append(watermark.WatermarkKey.from_text(part))
        except ValueError:
            # Never echo the value: it is a secret.
            raise ConfigError(f"{WATERMARK_KEYS_ENV}: key {n + 1} is not {2 * watermark.MIN_KEY_BYTES}+ hex digits "
                              "(make one with python3 -c 'import secrets; print(secrets.token_hex(32))')") from None
    return tuple(keys)


def load_config(path: Optional[Path] = None, env: Optional[dict[str, str]] = None, *, required: bool = False) -> Config:
    """Read ``path`` and take tokens from ``env`` (``os.environ`` by default).

    A missing file means defaults, unless ``required`` (the path was named explicitly).
    """
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if p.is_file():
            try:
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: {exc}") from exc
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        elif required or p.exists():
            raise ConfigError(f"config file {path} not found" if not p.exists() else f"{path} is not a file")
    unknown = sorted(set(data) - {"engine", "engines", "rollout", "bot", "telegram", "discord", "queue", "storage",
                                "limits"})
    if unknown:
        raise ConfigError(f"Unknown table(s) in config: {', '.join(unknown)} (tokens belong in the environment)")
    engine_data = dict(data.get("engine", {}))
    name = engine_data.pop("name", "default")
    if not isinstance(name, str):
        raise ConfigError(f"engine.name must be text in quotes (got {name!r})")
    bot = _table(BotConfig, data.get("bot", {}), "bot")
    engines = _engines(data.get("engines", {}), name)
    names = (name, *(e.name for e in engines))
    if bot.consent_mode == "button" and not bot.i_understand_anyone_can_clone_anyone:
        # A button accepts any voice note: anyone's voice, forwarded or played into a phone.
        raise ConfigError("bot.consent_mode = 'button' lets anyone clone anyone's voice (a button accepts any voice "
                          "note); use 'spoken', or for a test set-up also set [bot] "
                          "i_understand_anyone_can_clone_anyone = true")
    if bot.consent_mode == "button" and "indextts" in names:
        # A button accepts any voice note the user forwards: with an engine that copies a real
        # voice closely, that is cloning anyone.  Only spoken consent proves whose voice it is.
        raise ConfigError("bot.consent_mode = 'button' cannot be used with engine.name = 'indextts': a button "
                          "accepts anyone's forwarded voice note; use consent_mode = 'spoken'")
    queue = _check_urls(_table(QueueConfig, data.get("queue", {}), "queue"), "queue", ("redis", "rediss", "unix"))
    secret = env.get(SECRET_ENV) or None
    if queue.url and (secret is None or len(secret) < MIN_SECRET_CHARS):
        # Unsigned jobs would let anyone who reaches Redis post forged notes or voices.
        raise ConfigError(f"[queue] url needs {SECRET_ENV} in the environment: the same random value (at least "
                          f"{MIN_SECRET_CHARS} characters, e.g. from python3 -c 'import secrets; "
                          "print(secrets.token_hex(32))') on the bot and every worker, so jobs and results are signed")
    keys = _watermark_keys(env.get(WATERMARK_KEYS_ENV, ""))
    if queue.url and not keys:
        # Workers mark the notes and have no database: the keys reach them (and every bot) only here.
        raise ConfigError(f"[queue] url needs {WATERMARK_KEYS_ENV} in the environment: the same random key on the bot "
                          "and every worker, so every note is marked and verified with the deployment's own secret "
                          "(python3 -c 'import secrets; print(secrets.token_hex(32))'; README, Provenance)")
    if queue.tls_ca_file is not None and not queue.tls_ca_file.is_file():
        raise ConfigError(f"queue.tls_ca_file {str(queue.tls_ca_file)!r} is not a file")
    return Config(
        engine=EngineConfig(name, engine_data),
        engines=engines,
        rollout=_rollout(data.get("rollout", {}), names),
        bot=bot,
        telegram=_table(TelegramConfig, data.get("telegram", {}), "telegram"),
        discord=_table(DiscordConfig, data.get("discord", {}), "discord"),
        queue=queue,
        storage=_check_urls(_table(StorageConfig, data.get("storage", {}), "storage"), "storage",
                            ("sqlite", "postgresql", "postgres")),
        limits=_table(LimitsConfig, data.get("limits", {}), "limits"),
        telegram_token=env.get("TELEGRAM_TOKEN") or None,
        discord_token=env.get("DISCORD_TOKEN") or None,
        queue_secret=secret,
        watermark_keys=keys,
        redis_password=env.get("REDIS_PASSWORD") or None,
    )
