"""Every command declared once.

Each command family module lists its :class:`CommandSpec` s next to its handlers.  From them come
the Telegram command menus (user and admin scopes, English and Chinese), the Discord slash
commands with their Chinese descriptions, ``/help`` on each platform, and every permission
decision (:func:`bot.core.permissions.decide` reads :attr:`CommandSpec.access`).  Adding a command
is its handler and its spec; the command layer refuses to start when the two disagree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Optional

Pair = tuple[str, str]  # (English, Chinese)

TELEGRAM = "telegram"
DISCORD = "discord"
CONSOLE = "console"
EVERYWHERE = frozenset({TELEGRAM, DISCORD, CONSOLE})
TEXT_CHATS = frozenset({TELEGRAM, CONSOLE})  # commands typed as "/name args"


class Access(enum.Enum):
    """Who may run a command (the rules themselves live in :mod:`bot.core.permissions`)."""

    OPEN = "open"  # information and one's own data: anyone, anywhere, blocked or not
    ADMIN = "admin"  # this server's admins
    CLONE = "clone"  # making a voice: the server's clone setting (admins always); not when blocked
    SPEAK = "speak"  # making the bot speak: the server's say mode; not when blocked
    STEER = "steer"  # voice-channel playback: anyone not blocked; whose playback it is decides
    CHECK = "check"  # work for the bot that speaks no voice (/verify): anyone not blocked


class DiscordShape(enum.Enum):
    """How the Discord adapter declares a command."""

    NONE = "none"  # not a Discord slash command (an event, or a text-chat-only command)
    PLAIN = "plain"  # no options: generated from the spec
    MEMBER = "member"  # one required member option (admin actions on a member): generated
    CUSTOM = "custom"  # typed options the Discord adapter declares itself (name and text from here)


class DiscordPlaces(enum.Enum):
    """Where a Discord command may be used."""

    DEFAULT = "default"  # servers that installed the bot and DMs with it
    ANYWHERE = "anywhere"  # also installed on a user's own account: any DM, any server
    SERVERS = "servers"  # servers only (voice channels, server settings)


@dataclass(frozen=True)
class HelpEntry:
    """A command's part of ``/help`` on one kind of client."""

    usage: Pair  # one line (for admin commands: a short fragment of the "Admins:" line)
    details: Pair = ("", "")  # a paragraph after the lists (the policy settings)


@dataclass(frozen=True)
class CommandSpec:
    """One command (or event) as every adapter, the help and the permission check see it."""

    name: str
    access: Access
    #: One line for the platform menus and Discord's description; empty for events nobody types.
    summary: Pair = ("", "")
    surfaces: frozenset[str] = EVERYWHERE  # where people can type it
    text_help: Optional[HelpEntry] = None  # /help on Telegram and the console
    discord_help: Optional[HelpEntry] = None  # /help on Discord
    discord: DiscordShape = DiscordShape.NONE
    discord_places: DiscordPlaces = DiscordPlaces.DEFAULT
    discord_group: Optional[str] = None  # a subcommand of this group (the server-admin one)
    #: Extra Discord subcommands the adapter declares for this command (``/voiceadmin set`` → policy).
    discord_aliases: tuple[str, ...] = ()

    @property
    def is_event(self) -> bool:
        """Buttons, recordings, plain text, inline queries, read-aloud: never typed as a command."""
        return not self.summary[0]

    def on(self, surface: str) -> bool:
        return not self.is_event and surface in self.surfaces

    def help_for(self, variant: str) -> Optional[HelpEntry]:
        return self.discord_help if variant == DISCORD else self.text_help


def event(name: str, access: Access = Access.OPEN) -> CommandSpec:
    """An invocation that is an event, not a command a user types."""
    return CommandSpec(name, access, surfaces=frozenset())


@dataclass
class CommandCatalog:
    """All specs in declaration order, looked up by name."""

    specs: tuple[CommandSpec, ...]
    by_name: dict[str, CommandSpec] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {}
        for spec in self.specs:
            if spec.name in self.by_name:
                raise ValueError(f"command /{spec.name} is declared twice")
            self.by_name[spec.name] = spec

    def __getitem__(self, name: str) -> CommandSpec:
        return self.by_name[name]

    def get(self, name: str) -> Optional[CommandSpec]:
        return self.by_name.get(name)

    def commands(self, surface: Optional[str] = None) -> list[CommandSpec]:
        """Typed commands (on ``surface`` when given), in declaration order."""
        return [s for s in self.specs if not s.is_event and (surface is None or surface in s.surfaces)]

    def menu(self, surface: str, admin: bool) -> list[CommandSpec]:
        """A platform's command menu: members see the non-admin commands, admins everything."""
        return [s for s in self.commands(surface) if admin or s.access is not Access.ADMIN]

    def help_text(self, variant: str, lang: str) -> str:
        """``/help`` for one kind of client (``discord`` or the text chats) in one language."""
        zh = lang == "zh"
        lines: list[str] = []
        admin: list[str] = []
        details: list[str] = []
        for spec in self.commands():
            entry = spec.help_for(variant)
            if entry is None:
                continue
            (admin if spec.access is Access.ADMIN else lines).append(entry.usage[zh])
            if entry.details[zh]:
                details.append(entry.details[zh])
        if admin:
            if variant == DISCORD:
                lines.append(("管理员（管理服务器权限）：/voiceadmin " if zh else "Admins (Manage Server): /voiceadmin ")
                             + " | ".join(admin) + ("。" if zh else "."))
            else:
                lines.append(("管理员：" if zh else "Admins: ") + ("、" if zh else ", ").join(admin) + ("。" if zh else "."))
        return "\n".join(lines + details)


def catalog(families: Iterable[Iterable[CommandSpec]]) -> CommandCatalog:
    return CommandCatalog(tuple(spec for family in families for spec in family))
