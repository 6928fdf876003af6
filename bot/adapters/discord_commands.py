"""The Discord application commands, made from the command specs.

Commands without options and admin actions on one member are generated from their
:class:`~bot.core.command_spec.CommandSpec`; commands with typed options are declared here (their
names, descriptions and where they may be used still come from the spec).  Each callback only
converts Discord's options to the command layer's invocation.  Chinese descriptions reach Discord
as localizations through :class:`CommandTranslator`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, TypeVar

import discord
from discord import app_commands

from indextts_core.emotion import ALIASES, CHINESE_NAMES
from indextts_core.engine import EMOTIONS

from ..core.command_spec import DISCORD, CommandCatalog, CommandSpec, DiscordPlaces, DiscordShape
from ..core.invocation import AudioIn
from ..core.messages import NOT_ALLOWED_HERE, SOMETHING_WRONG, language_of, tr
from ..core.policy_settings import SETTINGS
from ..core.say_args import MAX_SPEED, MIN_SPEED, SayOptions

if TYPE_CHECKING:
    from .discord import VoiceBotClient

log = logging.getLogger(__name__)

Target = app_commands.CommandTree | app_commands.Group
Builder = Callable[["VoiceBotClient", CommandSpec, Target], None]
C = TypeVar("C")

#: Discord's Chinese locales: they get the spec's Chinese text.
CHINESE_LOCALES = frozenset({discord.Locale.chinese, discord.Locale.taiwan_chinese})


def interaction_language(interaction: discord.Interaction) -> str:
    return language_of(str(interaction.locale))


def attachment_audio(attachment: discord.Attachment, flagged_voice: bool = False) -> AudioIn:
    async def fetch() -> bytes:
        return await attachment.read()

    return AudioIn(fetch, size=attachment.size, duration=attachment.duration,
                   is_voice_note=flagged_voice or attachment.is_voice_message(), forwarded=False)


def is_audio(attachment: discord.Attachment) -> bool:
    return (attachment.content_type or "").startswith("audio/") or attachment.filename.lower().endswith(
        (".ogg", ".oga", ".opus", ".mp3", ".wav", ".flac", ".m4a"))


def described(spec: CommandSpec) -> app_commands.locale_str:
    """The spec's one-line summary, with its Chinese text for the translator."""
    return app_commands.locale_str(spec.summary[0], zh=spec.summary[1])


class CommandTranslator(app_commands.Translator):
    """Gives Discord each command's Chinese description (from its spec) for Chinese clients."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> Optional[str]:
        if locale in CHINESE_LOCALES:
            return string.extras.get("zh")
        return None


def anywhere(command: C) -> C:
    """A command people can also install on their own account and use in DMs and in servers the
    bot is not in (Discord's user-install contexts): the same command layer and rules apply there,
    with that place's defaults where no admin has set a policy."""
    command = app_commands.allowed_installs(guilds=True, users=True)(command)
    return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(command)


def _placed(spec: CommandSpec, command: C) -> C:
    if spec.discord_group is not None:
        return command  # the group decides (the admin group is servers-only)
    if spec.discord_places is DiscordPlaces.ANYWHERE:
        return anywhere(command)
    if spec.discord_places is DiscordPlaces.SERVERS:
        return app_commands.guild_only()(command)
    return command


def _add(target: Target, spec: CommandSpec, callback: Callable[..., Awaitable[None]],
         name: Optional[str] = None, description: Optional[app_commands.locale_str] = None) -> None:
    command: app_commands.Command = app_commands.Command(name=name or spec.name, description=description or described(spec),
                                                         callback=callback)  # type: ignore[arg-type]  # any signature
    target.add_command(_placed(spec, command))


def _add_menu(target: Target, name: str, callback: Callable[..., Awaitable[None]]) -> None:
    """A message context menu: the top level only (Discord has no menus inside a group)."""
    if not isinstance(target, app_commands.CommandTree):
        raise RuntimeError(f"the context menu {name!r} needs its command at the top level, not in a group")
    target.add_command(app_commands.ContextMenu(name=name, callback=callback))  # type: ignore[arg-type]


def _emotion_choices(current: str) -> list[app_commands.Choice[str]]:
    current = current.strip().lower()
    out = []
    for e in EMOTIONS:
        names = [e, CHINESE_NAMES[e]] + [a for a, c in ALIASES.items() if c == e and a not in (e, CHINESE_NAMES[e])]
        if not current or any(n.startswith(current) or current in n for n in names):
            out.append(app_commands.Choice(name=f"{e} / {CHINESE_NAMES[e]}", value=e))
    return out[:25]


async def _autocomplete_emotion(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return _emotion_choices(current)


def _plain(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    async def plain(interaction: discord.Interaction) -> None:
        await client.run_command(interaction, spec.name)
    _add(target, spec, plain)


def _member(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(member="The member")
    async def on_member(interaction: discord.Interaction, member: discord.Member) -> None:
        perms = getattr(member, "resolved_permissions", None)
        is_admin = perms is not None and (perms.manage_guild or perms.administrator)
        handle = f"@{member.id}"
        await client.run_command(interaction, spec.name, handle, mentions={handle: str(member.id)},
                                 admin_mentions=frozenset({handle}) if is_admin else frozenset(),
                                 names={handle: member.display_name})
    _add(target, spec, on_member)


def _say(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(text="What to say", emotion="One of 8 emotions (English or Chinese name)",
                           intensity="Emotion intensity 0–1", speed="Speed: 1.2 = 20 % faster, 0.8 = 20 % slower",
                           seconds="Exact duration in seconds", emotion_text="Describe the emotion, e.g. trembling with fear",
                           as_member="Use a voice this member shared here",
                           voice="Speak it in your voice channel instead of posting a voice message",
                           also_post="With voice: also post it as a voice message")
    @app_commands.autocomplete(emotion=_autocomplete_emotion)
    async def say(interaction: discord.Interaction, text: str, emotion: Optional[str] = None,
                  intensity: Optional[app_commands.Range[float, 0.0, 1.0]] = None,
                  speed: Optional[app_commands.Range[float, MIN_SPEED, MAX_SPEED]] = None,
                  seconds: Optional[app_commands.Range[float, 0.5, 120.0]] = None,
                  emotion_text: Optional[str] = None, as_member: Optional[discord.Member] = None,
                  voice: bool = False, also_post: bool = False) -> None:
        mentions: dict[str, str] = {}
        names: dict[str, str] = {}
        handle = None
        if as_member is not None:
            handle = f"@{as_member.id}"
            mentions[handle] = str(as_member.id)
            names[handle] = as_member.display_name
        options = SayOptions(text, emotion=emotion, intensity=intensity, description=emotion_text, speed=speed,
                             seconds=seconds, as_mention=handle)
        await client.run_command(interaction, spec.name, text, public=True, mentions=mentions, names=names,
                                 in_voice=voice, also_post=also_post, say_options=options)

    _add(target, spec, say)

    @anywhere
    async def say_message(interaction: discord.Interaction, message: discord.Message) -> None:
        # A message command carries its message's content without the message-content intent;
        # it is only text (no options), spoken in the caller's own voice under /say's rules.
        await client.run_command(interaction, spec.name, message.content, public=True,
                                 say_options=SayOptions(message.content))
    _add_menu(target, "Say in my voice", say_message)


def _clone(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(recording="A voice message of you reading the consent sentence")
    async def clone(interaction: discord.Interaction, recording: Optional[discord.Attachment] = None) -> None:
        audio = attachment_audio(recording) if recording is not None else None
        await client.run_command(interaction, spec.name, "recording" if audio else "", audio=audio)
    _add(target, spec, clone)


def _engine(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(name="An engine to use for your notes, or auto (empty: show which engines run)")
    async def engine(interaction: discord.Interaction, name: Optional[str] = None) -> None:
        await client.run_command(interaction, spec.name, name or "")
    _add(target, spec, engine)


def _verify(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(recording="The voice message or audio file to check (re-uploads are fine)")
    async def verify(interaction: discord.Interaction, recording: discord.Attachment) -> None:
        await client.run_command(interaction, spec.name, audio=attachment_audio(recording))
    _add(target, spec, verify)

    @anywhere
    async def verify_message(interaction: discord.Interaction, message: discord.Message) -> None:
        audio = next((a for a in message.attachments if is_audio(a)), None)
        await client.run_command(interaction, spec.name, audio=attachment_audio(audio) if audio is not None else None)
    _add_menu(target, "Verify voice", verify_message)


def _readaloud(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(allow="False: never read my messages aloud here")
    async def readaloud(interaction: discord.Interaction, allow: bool) -> None:
        await client.run_command(interaction, spec.name, "on" if allow else "off")
    _add(target, spec, readaloud)


def _share(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    @app_commands.describe(off="Stop sharing (in a DM: everywhere, or only the place numbered in 'place')",
                           place="In a DM: the number of a place from the list",
                           notify="A DM each time someone uses your shared voice (with a button to stop sharing there)")
    async def share(interaction: discord.Interaction, off: bool = False,
                    place: Optional[app_commands.Range[int, 1, 1000]] = None, notify: Optional[bool] = None) -> None:
        if notify is not None:
            args = "notify on" if notify else "notify off"
        else:
            args = ("off" if off else "") + (f" {place}" if off and place is not None else "")
        await client.run_command(interaction, spec.name, args)
    _add(target, spec, share)


def _policy(client: "VoiceBotClient", spec: CommandSpec, target: Target) -> None:
    async def policy(interaction: discord.Interaction) -> None:
        await client.run_command(interaction, spec.name, with_roles=True)
    _add(target, spec, policy)

    @app_commands.choices(setting=[app_commands.Choice(name=s.name, value=s.name) for s in SETTINGS])
    @app_commands.describe(value="on/off, everyone/role/admins, a number (voice_idle: seconds), a role name, or default",
                           role="For 'role': pick the role (instead of typing its name)",
                           channel="For 'read_aloud': the text channel to read aloud in voice (value 'off' turns it off)")
    async def set_policy(interaction: discord.Interaction, setting: app_commands.Choice[str], value: str = "",
                         role: Optional[discord.Role] = None, channel: Optional[discord.TextChannel] = None) -> None:
        if setting.value == "role" and role is not None:
            value = str(role.id)
        if setting.value == "read_aloud" and channel is not None:
            value = str(channel.id)
        await client.run_command(interaction, spec.name, f"set {setting.value} {value}".strip(), with_roles=True)
    _add(target, spec, set_policy, name="set",
         description=app_commands.locale_str("Change a policy setting", zh="修改一项语音规则"))


#: Commands whose typed options this adapter declares.
CUSTOM: dict[str, Builder] = {"engine": _engine, "say": _say, "clone": _clone, "verify": _verify, "readaloud": _readaloud,
                              "share": _share, "policy": _policy}
GENERATED: dict[DiscordShape, Builder] = {DiscordShape.PLAIN: _plain, DiscordShape.MEMBER: _member}


def register_commands(tree: app_commands.CommandTree, client: "VoiceBotClient", catalog: CommandCatalog) -> None:
    """Declare every Discord command of the catalog on ``tree``."""
    groups: dict[str, app_commands.Group] = {
        "voiceadmin": app_commands.Group(
            name="voiceadmin", description=app_commands.locale_str("Voice bot settings for this server",
                                                                   zh="本服务器的语音机器人设置"),
            guild_only=True, default_permissions=discord.Permissions(manage_guild=True)),
    }
    custom = set(CUSTOM)
    for spec in catalog.commands(DISCORD):
        target: Target = groups[spec.discord_group] if spec.discord_group else tree
        if spec.discord is DiscordShape.CUSTOM:
            if spec.name not in CUSTOM:
                raise RuntimeError(f"/{spec.name} is declared with Discord options nobody defined")
            CUSTOM[spec.name](client, spec, target)
            custom.discard(spec.name)
        elif spec.discord in GENERATED:
            GENERATED[spec.discord](client, spec, target)
    if custom:
        raise RuntimeError(f"Discord options for commands that are not declared: {sorted(custom)}")
    for group in groups.values():
        tree.add_command(group)

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command failed", exc_info=error)
        pair = NOT_ALLOWED_HERE if isinstance(error, app_commands.CheckFailure) else SOMETHING_WRONG
        message = tr(interaction_language(interaction), *pair)
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)


__all__ = ["CommandTranslator", "attachment_audio", "interaction_language", "is_audio", "register_commands"]
