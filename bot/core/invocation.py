"""What adapters hand to the command layer, and what they must be able to render back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Protocol

if TYPE_CHECKING:
    from ..storage import Policy
    from .say_args import SayOptions
    from .permissions import Role


@dataclass(frozen=True)
class Actor:
    """The person who invoked a command, with the platform facts that decide their role."""

    platform: str
    user_id: str
    name: str = ""
    language: Optional[str] = "en"  # None: unknown here (a Discord DM message): keep the stored one
    is_platform_admin: bool = False  # Telegram chat admin / Discord manage_guild
    is_owner: bool = False  # group creator / guild owner / the console user
    roles: tuple[str, ...] = ()  # platform role ids (Discord), for policies that name a role
    handle: str = ""  # "@username" where the platform has one (blocks may name it)


@dataclass(frozen=True)
class Place:
    """Where it happened: a server/group (``server_id``) or a private chat."""

    platform: str
    server_id: str
    is_private: bool = False
    channel_id: str = ""  # the text channel, where the platform has several per server (Discord)
    #: a server the bot is not a member of, reached through one user's own install of the app
    #: (Discord): its admins cannot set rules or block anyone there, so the operator's guest rules apply
    guest: bool = False


@dataclass
class AudioIn:
    """An audio attachment, described before it is downloaded."""

    fetch: Callable[[], Awaitable[bytes]]
    size: Optional[int] = None
    duration: Optional[float] = None
    is_voice_note: bool = True  # recorded with the app's voice button
    forwarded: bool = False
    speaker_id: Optional[str] = None  # platform user id of who recorded it, when known (not forwarded)


@dataclass
class Invocation:
    command: str  # "say", "clone", ... or "button" / "audio" for non-command events
    args: str
    actor: Actor
    place: Place
    audio: Optional[AudioIn] = None
    reply_text: Optional[str] = None  # text of the message this one replies to
    reply_audio: Optional[AudioIn] = None  # voice note this one replies to
    mentions: dict[str, str] = field(default_factory=dict)  # "@name" as typed → platform user id
    admin_mentions: frozenset[str] = frozenset()  # mentioned members who are platform admins/owners
    names: dict[str, str] = field(default_factory=dict)  # mention handle → display name, for replies
    role_names: dict[str, str] = field(default_factory=dict)  # the server's role ids → names (Discord)
    voice: Optional["VoiceChannel"] = None  # the server's voice-channel playback, where the platform has one
    in_voice: bool = False  # what this speaks goes to ``voice`` (Discord /say voice:True, read-aloud)
    #: /say's options as a client typed them (Discord); then ``args`` is not parsed
    say_options: Optional["SayOptions"] = None
    #: What the command layer worked out once, before the handler ran (never set by an adapter)
    context: Optional["RequestContext"] = None


@dataclass(frozen=True)
class RequestContext:
    """The caller's role, the place's policy and whether the caller is blocked there, as the
    command layer decided them for this request; handlers read them here instead of again."""

    role: "Role"
    policy: "Policy"
    blocked: bool


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # ≤ 64 bytes (Telegram callback_data limit)


class Responder(Protocol):
    """How the command layer talks back; each adapter implements it."""

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None: ...

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None: ...

    async def recording(self) -> None:
        """Show "recording voice…"; called every few seconds while a job waits."""
        ...

    async def image(self, png: bytes, caption: str) -> bool:
        """Send a picture (the /usage chart); False where the platform shows none."""
        ...

    async def offer_private_chat(self, message: str, label: str, start: str = "clone") -> bool:
        """Answer with a button that opens a private chat with the bot (``start``: what it opens
        with, ``clone`` for the /clone flow); False where the platform has no such button (the
        caller then carries on where it is)."""
        ...

    def backlog_seconds(self) -> float:
        """How long sends to this chat are already queued on the platform's side."""
        ...

    async def buttons_done(self) -> None:
        """The buttons of the message a press came from are used up: remove them (called only for
        a press by the person they belong to, so nobody else can take them away)."""
        ...

    async def in_private(self) -> Optional["Responder"]:
        """Where to answer the caller alone: this responder when only they see its answers (a
        private chat, an ephemeral reply), a responder for their private chat with the bot, or None
        when they have none yet (they never started the bot)."""
        ...


class BaseResponder:
    """What a responder without these platform features answers (subclass it, then override)."""

    async def in_private(self) -> Optional["Responder"]:
        return self  # type: ignore[return-value]  # every subclass is a Responder

    async def buttons_done(self) -> None:
        return None

    async def offer_private_chat(self, message: str, label: str, start: str = "clone") -> bool:
        return False

    async def image(self, png: bytes, caption: str) -> bool:
        return False

    def backlog_seconds(self) -> float:
        return 0.0


class VoiceChannel(Protocol):
    """Speaking in a server's voice channel (Discord), as the adapter offers it to one invocation."""

    def caller_channel(self) -> Optional[str]:
        """Name of the voice channel the caller is in, or None."""
        ...

    def bot_channel(self) -> Optional[str]:
        """Name of the voice channel the bot is in, or None."""
        ...

    def caller_with_bot(self) -> bool:
        """Is the caller in the same voice channel as the bot (the same channel, not one of the same name)?"""
        ...

    def listeners(self) -> int:
        """People in the bot's voice channel other than the caller."""
        ...

    def others_waiting(self) -> bool:
        """Is something another member asked for playing or waiting?"""
        ...

    def room(self) -> None:
        """Raise :class:`~bot.core.errors.Busy` when the caller's request would not fit in the queue."""
        ...

    def set_guard(self, guard: Callable[[], Awaitable[bool]]) -> None:
        """Ask ``guard`` before each of this request's waiting parts plays; skip it when False (a
        shared voice revoked while it waited)."""
        ...

    async def join(self) -> str:
        """Join (or move to) the caller's voice channel; return its name."""
        ...

    async def leave(self) -> None: ...

    def apply_policy(self, idle_seconds: Optional[int], leave_when_alone: Optional[bool]) -> None:
        """The server's own choices of when the bot leaves (None: the operator's default)."""
        ...

    def now_playing_requester(self) -> Optional[str]:
        """User id of whoever asked for what is playing now, or None when nothing plays."""
        ...

    def skip(self) -> None:
        """End what is playing now; the queue goes on."""
        ...

    def stop(self, only_mine: bool = False) -> int:
        """End what is playing and empty the queue (``only_mine``: only the caller's requests);
        return how many waiting items were dropped."""
        ...
