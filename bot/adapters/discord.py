"""Discord adapter (discord.py 2): slash commands in, native voice messages out.

Only translation lives here.  Every interaction is deferred at once (Discord's 3 s deadline),
then followed up.  Replies are sent as real voice messages (flag IS_VOICE_MESSAGE, one OGG/Opus
attachment with ``duration_secs`` and a base64 ``waveform``) through the documented request
shape, which discord.py does not offer; when Discord refuses one we fall back to a plain file.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any, Optional

import discord
from discord import app_commands
from discord.http import Route

from indextts_core.emotion import ALIASES, CHINESE_NAMES
from indextts_core.engine import EMOTIONS

from ..core.invocation import Actor, AudioIn, Button, Invocation, Place
from ..core.messages import NOT_ALLOWED_HERE, SOMETHING_WRONG, language_of, too_large_note, tr
from ..core.say_args import MAX_SPEED, MIN_SPEED
from .discord_voice import MemberVoice, VoiceChannels

log = logging.getLogger(__name__)

PLATFORM = "discord"
IS_VOICE_MESSAGE = 1 << 13
EPHEMERAL = 1 << 6
#: Discord's "cannot send a voice message here" family, plus a few peers.
VOICE_REFUSED_CODES = frozenset({50159, 50160, 50161, 50162, 50173})
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
BUTTON_PREFIX = "vb:"


async def send_voice_message(http: discord.http.HTTPClient, route: Route, ogg: bytes, duration: float,
                             waveform: bytes, flags: int = 0) -> Any:
    """POST a native voice message to ``route`` (a channel or an interaction webhook)."""
    payload = {
        "flags": IS_VOICE_MESSAGE | flags,
        "attachments": [{
            "id": "0", "filename": "voice-message.ogg", "duration_secs": round(duration, 3),
            "waveform": base64.b64encode(waveform[:256]).decode(),
        }],
    }
    form = [
        {"name": "payload_json", "value": json.dumps(payload)},
        {"name": "files[0]", "value": ogg, "filename": "voice-message.ogg", "content_type": "audio/ogg"},
    ]
    return await http.request(route, form=form)


def _refused(exc: discord.HTTPException) -> bool:
    return exc.code in VOICE_REFUSED_CODES or exc.status == 403


class DiscordResponder:
    """Follow-ups for one deferred interaction.

    ``public`` commands (/say) defer visibly; a text reply there is an error or a hint, so the
    public "thinking" message is removed and the text sent ephemerally.
    """

    def __init__(self, client: "VoiceBotClient", interaction: discord.Interaction, public: bool,
                 voice_channel: Optional[MemberVoice] = None, also_post: bool = False) -> None:
        self.client = client
        self.interaction = interaction
        self.public = public
        self.voice_channel = voice_channel  # /say voice:True — speak there ...
        self.also_post = also_post  # ... and, with also_post:True, post the voice message as well
        self.spoke = False

    async def text(self, message: str, buttons: Optional[list[Button]] = None) -> None:
        view = _view(buttons) if buttons else discord.utils.MISSING
        if self.public and not self.spoke:
            try:
                await self.interaction.delete_original_response()
            except discord.HTTPException:
                pass
        await self.interaction.followup.send(message[:2000], ephemeral=True, view=view,
                                             allowed_mentions=discord.AllowedMentions.none())

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption: Optional[str] = None,
                    cache_key: Optional[str] = None) -> None:
        if self.voice_channel is not None:
            lang = _language(self.interaction)
            place = await self.voice_channel.play(ogg, lang)
            where = self.voice_channel.bot_channel() or "?"
            who = self.interaction.user.display_name
            # Public, in the text channel: everyone in voice can see who made the bot say this.
            await self.interaction.followup.send(
                tr(lang, f"🔊 Speaking in {where} for {who}" + (f" (number {place} in line)." if place > 1 else "."),
                   f"🔊 正在 {where} 里为 {who} 说话" + (f"（排在第 {place} 位）。" if place > 1 else "。"))
                + (f"\n{caption}" if caption and not self.also_post else ""),
                allowed_mentions=discord.AllowedMentions.none())
            self.spoke = True
            if not self.also_post:
                return
        limit = self.interaction.guild.filesize_limit if self.interaction.guild else DEFAULT_UPLOAD_LIMIT
        if len(ogg) > limit:
            await self.text(tr(_language(self.interaction), *too_large_note(len(ogg) / 1e6)))
            return
        route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                      webhook_id=self.interaction.application_id, webhook_token=self.interaction.token)
        flags = 0 if self.public else EPHEMERAL
        try:
            await send_voice_message(self.client.http, route, ogg, duration, waveform, flags)
        except discord.HTTPException as exc:
            if not _refused(exc):
                raise
            log.warning("voice message refused (status %s, code %s): sending a plain OGG attachment", exc.status, exc.code)
            await self.interaction.followup.send(file=discord.File(_bytes_io(ogg), "voice.ogg"), ephemeral=not self.public)
        self.spoke = True
        if caption:
            await self.interaction.followup.send(caption, ephemeral=True)

    async def recording(self) -> None:
        return None  # the deferred "thinking…" state is Discord's indicator


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def _view(buttons: list[Button]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for b in buttons:
        style = discord.ButtonStyle.danger if b.data.endswith(":yes") else discord.ButtonStyle.secondary
        view.add_item(discord.ui.Button(label=b.label, custom_id=BUTTON_PREFIX + b.data, style=style))
    return view


def _language(interaction: discord.Interaction) -> str:
    return language_of(str(interaction.locale))


class VoiceBotClient(discord.Client):
    """A client with only the intents it needs: guilds, direct messages, guild message events (to
    notice a /clone recording posted in a server by mistake), voice states; the privileged message
    content only when the operator turns read-aloud on."""

    def __init__(self, commands, *, application_id: Optional[int] = None, test_guild_id: Optional[int] = None,
                 voice_idle_seconds: int = 300, voice_leave_when_alone: bool = True, read_aloud: bool = False,
                 **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.dm_messages = True
        intents.guild_messages = True
        intents.voice_states = True  # who is in which voice channel (not privileged)
        intents.message_content = read_aloud  # privileged: switch it on in the Developer Portal too
        super().__init__(intents=intents, application_id=application_id,
                         allowed_mentions=discord.AllowedMentions.none(), **options)
        self.commands = commands
        self.test_guild_id = test_guild_id
        self.voice_channels = VoiceChannels(self, voice_idle_seconds, voice_leave_when_alone)
        self.read_aloud = read_aloud
        self.tree = app_commands.CommandTree(self)
        register_commands(self.tree, self)
        commands.services.notifiers[PLATFORM] = self.notify

    async def notify(self, user_id: str, message: str, buttons: list[Button]) -> None:
        """A DM to one user (a notice for the owner of a shared voice)."""
        user = self.get_user(int(user_id)) or await self.fetch_user(int(user_id))
        await user.send(message[:2000], view=_view(buttons) if buttons else discord.utils.MISSING)

    async def setup_hook(self) -> None:
        guild = discord.Object(self.test_guild_id) if self.test_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def close(self) -> None:
        await self.voice_channels.close()
        await super().close()

    async def on_voice_state_update(self, member: discord.Member, before: discord.VoiceState,
                                    after: discord.VoiceState) -> None:
        await self.voice_channels.on_voice_state_update(member, before, after)

    # ------------------------------------------------------------------ translation
    def invocation(self, interaction: discord.Interaction, command: str, args: str = "",
                   audio: Optional[AudioIn] = None, mentions: Optional[dict[str, str]] = None,
                   admin_mentions: frozenset[str] = frozenset(), names: Optional[dict[str, str]] = None,
                   role_names: Optional[dict[str, str]] = None) -> Invocation:
        user = interaction.user
        # A DM or group DM with other people (the app installed on the user's account) is not a
        # private chat with the bot: the others hear what is said there.
        shared_dm = interaction.guild_id is None and interaction.context.private_channel
        private = interaction.guild_id is None and not shared_dm
        perms = interaction.permissions
        guild = interaction.guild
        owner = guild is not None and getattr(guild, "owner_id", None) == user.id
        roles = tuple(str(r) for r in getattr(user, "_roles", ()))  # role ids
        return Invocation(
            command, args,
            Actor(PLATFORM, str(user.id), user.display_name, _language(interaction),
                  is_platform_admin=bool(perms.manage_guild or perms.administrator) and not private,
                  is_owner=owner, roles=roles),
            Place(PLATFORM, f"dm:{user.id}" if private else f"channel:{interaction.channel_id}" if shared_dm
                  else str(interaction.guild_id), private, channel_id=str(interaction.channel_id or "")),
            audio=audio, mentions=mentions or {}, admin_mentions=admin_mentions, names=names or {},
            role_names=role_names or {},
            voice=MemberVoice(self.voice_channels, guild, user.id, interaction.channel_id or 0) if guild is not None else None)

    async def run_command(self, interaction: discord.Interaction, command: str, args: str = "", *,
                          public: bool = False, audio: Optional[AudioIn] = None,
                          mentions: Optional[dict[str, str]] = None, admin_mentions: frozenset[str] = frozenset(),
                          names: Optional[dict[str, str]] = None, with_roles: bool = False,
                          in_voice: bool = False, also_post: bool = False) -> None:
        """Acknowledge first (3 s deadline), then hand over to the command layer.  ``in_voice``:
        what the command speaks goes to the caller's voice channel instead of the text channel
        (``also_post``: to both)."""
        await interaction.response.defer(thinking=True, ephemeral=not public)
        inv = self.invocation(interaction, command, args, audio, mentions, admin_mentions, names,
                              await self.role_names(interaction) if with_roles else None)
        inv.in_voice = in_voice  # the command layer checks the caller may speak there
        target = inv.voice if in_voice else None
        await self.commands.handle(inv, DiscordResponder(self, interaction, public, target, also_post and in_voice))

    async def role_names(self, interaction: discord.Interaction) -> dict[str, str]:
        """The server's role ids → names (the cache when the gateway filled it, else one HTTP call)."""
        guild = interaction.guild
        if guild is not None and guild.roles:
            return {str(r.id): r.name for r in guild.roles}
        if interaction.guild_id is None:
            return {}
        try:
            return {str(r["id"]): r["name"] for r in await self.http.get_roles(interaction.guild_id)}
        except discord.HTTPException as exc:
            log.warning("could not list the server's roles: %s", exc)
            return {}

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = (interaction.data or {}).get("custom_id", "")
        if not custom_id.startswith(BUTTON_PREFIX):
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        await self.commands.handle(self.invocation(interaction, "button", custom_id[len(BUTTON_PREFIX):]),
                                   DiscordResponder(self, interaction, public=False))

    async def read_aloud_message(self, message: discord.Message, actor: Actor) -> None:
        """A server message, spoken if the command layer finds it in the read-aloud channel from a
        member in voice with the bot (and allowed to speak there)."""
        assert message.guild is not None
        voice = MemberVoice(self.voice_channels, message.guild, message.author.id, message.channel.id)
        place = Place(PLATFORM, str(message.guild.id), False, channel_id=str(message.channel.id))
        inv = Invocation("aloud", message.content, actor, place, voice=voice, in_voice=True)
        await self.commands.handle(inv, _AloudResponder(voice, language_of(str(message.guild.preferred_locale))))

    async def on_message(self, message: discord.Message) -> None:
        """DM: a voice message continues a /clone in progress; text gets a hint.  Server channel:
        a voice message from someone whose /clone waits for a recording gets "send it in a DM"."""
        if message.author.bot or message.author.id == getattr(self.user, "id", None):
            return
        # A message carries no locale: language None keeps the one stored from their slash commands.
        actor = Actor(PLATFORM, str(message.author.id), message.author.display_name, language=None)
        if message.guild is not None:
            if not message.flags.voice:
                if self.read_aloud and message.content.strip():
                    await self.read_aloud_message(message, actor)
                return  # otherwise ordinary conversation (we cannot read its content, and need not)
            inv = Invocation("audio", "", actor, Place(PLATFORM, str(message.guild.id), False))
        elif message.attachments:
            inv = Invocation("audio", "", actor, Place(PLATFORM, f"dm:{message.author.id}", True),
                             audio=_attachment_audio(message.attachments[0], message.flags.voice))
        elif message.content.strip():
            inv = Invocation("text", message.content, actor, Place(PLATFORM, f"dm:{message.author.id}", True))
        else:
            return

        class ChannelResponder:
            async def text(_, text: str, buttons=None) -> None:
                await message.channel.send(text[:2000], view=_view(buttons) if buttons else discord.utils.MISSING)

            async def voice(_, ogg: bytes, duration: float, waveform: bytes, caption=None, cache_key=None) -> None:
                route = Route("POST", "/channels/{channel_id}/messages", channel_id=message.channel.id)
                try:
                    await send_voice_message(self.http, route, ogg, duration, waveform)
                except discord.HTTPException as exc:
                    if not _refused(exc):
                        raise
                    log.warning("voice message refused (code %s): plain attachment", exc.code)
                    await message.channel.send(file=discord.File(_bytes_io(ogg), "voice.ogg"))

            async def recording(_) -> None:
                await message.channel.typing()

        await self.commands.handle(inv, ChannelResponder())


class _AloudResponder:
    """Replies to a message read aloud: the speech goes to the voice channel, and nothing is
    written back (a busy channel would fill with "slow down" notes); refusals are only logged."""

    def __init__(self, voice: MemberVoice, language: str) -> None:
        self.voice_channel = voice
        self.language = language

    async def text(self, message: str, buttons=None) -> None:
        log.info("read-aloud message not spoken: %s", message)

    async def voice(self, ogg: bytes, duration: float, waveform: bytes, caption=None, cache_key=None) -> None:
        await self.voice_channel.play(ogg, self.language)

    async def recording(self) -> None:
        return None


def _attachment_audio(attachment: discord.Attachment, flagged_voice: bool = False) -> AudioIn:
    async def fetch() -> bytes:
        return await attachment.read()

    return AudioIn(fetch, size=attachment.size, duration=attachment.duration,
                   is_voice_note=flagged_voice or attachment.is_voice_message(), forwarded=False)


def _is_audio(attachment: discord.Attachment) -> bool:
    return (attachment.content_type or "").startswith("audio/") or attachment.filename.lower().endswith(
        (".ogg", ".oga", ".opus", ".mp3", ".wav", ".flac", ".m4a"))


def _emotion_choices(current: str) -> list[app_commands.Choice[str]]:
    current = current.strip().lower()
    out = []
    for e in EMOTIONS:
        names = [e, CHINESE_NAMES[e]] + [a for a, c in ALIASES.items() if c == e and a not in (e, CHINESE_NAMES[e])]
        if not current or any(n.startswith(current) or current in n for n in names):
            label = f"{e} / {CHINESE_NAMES[e]}"
            out.append(app_commands.Choice(name=label, value=e))
    return out[:25]


def anywhere(command):
    """A command people can also install on their own account and use in DMs and in servers the
    bot is not in (Discord's user-install contexts): the same command layer and rules apply there,
    with that place's defaults where no admin has set a policy."""
    command = app_commands.allowed_installs(guilds=True, users=True)(command)
    return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(command)


def register_commands(tree: app_commands.CommandTree, client: VoiceBotClient) -> None:
    """Declare the slash commands; each one only converts options to the command layer's text."""

    @tree.command(name="say", description="Speak text as a voice message in your voice")
    @anywhere
    @app_commands.describe(text="What to say", emotion="One of 8 emotions (English or Chinese name)",
                           intensity="Emotion intensity 0–1", speed="Speed: 1.2 = 20 % faster, 0.8 = 20 % slower",
                           seconds="Exact duration in seconds", emotion_text="Describe the emotion, e.g. trembling with fear",
                           as_member="Use a voice this member shared here",
                           voice="Speak it in your voice channel instead of posting a voice message",
                           also_post="With voice: also post it as a voice message")
    async def say(interaction: discord.Interaction, text: str, emotion: Optional[str] = None,
                  intensity: Optional[app_commands.Range[float, 0.0, 1.0]] = None,
                  speed: Optional[app_commands.Range[float, MIN_SPEED, MAX_SPEED]] = None,
                  seconds: Optional[app_commands.Range[float, 0.5, 120.0]] = None,
                  emotion_text: Optional[str] = None, as_member: Optional[discord.Member] = None,
                  voice: bool = False, also_post: bool = False) -> None:
        parts: list[str] = []
        mentions: dict[str, str] = {}
        names: dict[str, str] = {}
        if as_member is not None:
            parts.append(f"as @{as_member.id}")
            mentions[f"@{as_member.id}"] = str(as_member.id)
            names[f"@{as_member.id}"] = as_member.display_name
        if emotion:
            parts.append("emotion=" + emotion.replace(" ", ""))  # explicit: an unknown name is refused, not spoken
            if intensity is not None:
                parts.append(f"{intensity:g}")
        if emotion_text:
            parts.append('"' + emotion_text.replace('"', "'") + '"')
        if speed is not None:
            parts.append(f"x{speed:g}")
        if seconds is not None:
            parts.append(f"{seconds:g}s")
        await client.run_command(interaction, "say", " ".join(parts + ["--", text]), public=True, mentions=mentions,
                                 names=names, in_voice=voice, also_post=also_post)

    @say.autocomplete("emotion")
    async def emotion_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _emotion_choices(current)

    @tree.command(name="clone", description="Make your own voice (consent first; then send a voice message)")
    @app_commands.describe(recording="A voice message of you reading the consent sentence")
    async def clone(interaction: discord.Interaction, recording: Optional[discord.Attachment] = None) -> None:
        audio = _attachment_audio(recording) if recording is not None else None
        await client.run_command(interaction, "clone", "recording" if audio else "", audio=audio)

    @tree.command(name="verify", description="Check whether this bot made a voice message or audio file")
    @anywhere
    @app_commands.describe(recording="The voice message or audio file to check (re-uploads are fine)")
    async def verify(interaction: discord.Interaction, recording: discord.Attachment) -> None:
        await client.run_command(interaction, "verify", audio=_attachment_audio(recording))

    @tree.context_menu(name="Verify voice")
    @anywhere
    async def verify_message(interaction: discord.Interaction, message: discord.Message) -> None:
        audio = next((a for a in message.attachments if _is_audio(a)), None)
        await client.run_command(interaction, "verify", audio=_attachment_audio(audio) if audio is not None else None)

    @tree.context_menu(name="Say in my voice")
    @anywhere
    async def say_message(interaction: discord.Interaction, message: discord.Message) -> None:
        # A message command carries its message's content without the message-content intent.
        # "--": the message is only text, spoken in the caller's own voice, under /say's rules.
        await client.run_command(interaction, "say", "-- " + message.content, public=True)

    for name, description in (("voice", "About your voice"), ("forget", "Delete everything the bot keeps about you"),
                              ("emotions", "The 8 emotions"), ("help", "How to use the voice bot")):
        async def simple(interaction: discord.Interaction, _name: str = name) -> None:
            await client.run_command(interaction, _name)
        tree.command(name=name, description=description)(_drop_default(simple))

    for name, description in (("join", "Join your voice channel"), ("leave", "Leave the voice channel"),
                              ("skip", "Skip what is being said in the voice channel"),
                              ("stop", "Stop speaking in the voice channel and clear its queue")):
        async def voice_cmd(interaction: discord.Interaction, _name: str = name) -> None:
            await client.run_command(interaction, _name)
        tree.command(name=name, description=description)(app_commands.guild_only()(_drop_default(voice_cmd)))

    @tree.command(name="readaloud", description="Whether your messages in the read-aloud channel are spoken in voice")
    @app_commands.guild_only()
    @app_commands.describe(allow="False: never read my messages aloud here")
    async def readaloud(interaction: discord.Interaction, allow: bool) -> None:
        await client.run_command(interaction, "readaloud", "on" if allow else "off")

    @tree.command(name="share", description="Let this server use your voice (/say as_member); in a DM: where it is shared")
    @app_commands.describe(off="Stop sharing (in a DM: everywhere, or only the place numbered in 'place')",
                           place="In a DM: the number of a place from the list",
                           notify="A DM each time someone uses your shared voice (with a button to stop sharing there)")
    async def share(interaction: discord.Interaction, off: bool = False,
                    place: Optional[app_commands.Range[int, 1, 1000]] = None, notify: Optional[bool] = None) -> None:
        if notify is not None:
            args = "notify on" if notify else "notify off"
        else:
            args = ("off" if off else "") + (f" {place}" if off and place is not None else "")
        await client.run_command(interaction, "share", args)

    admin = app_commands.Group(name="voiceadmin", description="Voice bot settings for this server", guild_only=True,
                               default_permissions=discord.Permissions(manage_guild=True))

    @admin.command(name="policy", description="Show this server's voice policy")
    async def policy(interaction: discord.Interaction) -> None:
        await client.run_command(interaction, "policy", with_roles=True)

    @admin.command(name="usage", description="This server's voice notes over the last 30 days, per member and engine")
    async def usage(interaction: discord.Interaction) -> None:
        await client.run_command(interaction, "usage")

    @admin.command(name="set", description="Change a policy setting")
    @app_commands.choices(setting=[app_commands.Choice(name=n, value=n) for n in
                                   ("clone", "say", "role", "cooldown", "max_chars", "shared", "quota",
                                    "member_quota", "read_aloud", "voice_idle", "leave_alone")])
    @app_commands.describe(value="on/off, everyone/role/admins, a number (voice_idle: seconds), a role name, or default",
                           role="For 'role': pick the role (instead of typing its name)",
                           channel="For 'read_aloud': the text channel to read aloud in voice (value 'off' turns it off)")
    async def set_policy(interaction: discord.Interaction, setting: app_commands.Choice[str], value: str = "",
                         role: Optional[discord.Role] = None, channel: Optional[discord.TextChannel] = None) -> None:
        if setting.value == "role" and role is not None:
            value = str(role.id)
        if setting.value == "read_aloud" and channel is not None:
            value = str(channel.id)
        await client.run_command(interaction, "policy", f"set {setting.value} {value}".strip(), with_roles=True)

    for verb, description in (("block", "Block a member from the voice bot here"), ("unblock", "Unblock a member"),
                              ("trust", "Trust a member"), ("untrust", "Remove trust"),
                              ("purge", "Delete a member's shares and history in this server")):
        async def member_cmd(interaction: discord.Interaction, member: discord.Member, _verb: str = verb) -> None:
            perms = getattr(member, "resolved_permissions", None)
            is_admin = perms is not None and (perms.manage_guild or perms.administrator)
            handle = f"@{member.id}"
            await client.run_command(interaction, _verb, handle, mentions={handle: str(member.id)},
                                     admin_mentions=frozenset({handle}) if is_admin else frozenset(),
                                     names={handle: member.display_name})
        admin.command(name=verb, description=description)(
            app_commands.describe(member="The member")(_drop_default(member_cmd, "_verb")))

    tree.add_command(admin)

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command failed", exc_info=error)
        pair = NOT_ALLOWED_HERE if isinstance(error, app_commands.CheckFailure) else SOMETHING_WRONG
        message = tr(_language(interaction), *pair)
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)


def _drop_default(fn, name: str = "_name"):
    """Hide the loop-binding default argument from discord.py's signature inspection."""
    import functools
    import inspect

    sig = inspect.signature(fn)
    bound = sig.parameters[name].default

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        return await fn(*args, **{name: bound, **kwargs})

    wrapper.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != name])  # type: ignore[attr-defined]
    return wrapper


async def run_discord(app, token: str, stop: Optional[asyncio.Event] = None) -> None:
    """Connect to the gateway until ``stop`` is set (or forever)."""
    cfg = app.config.discord
    client = VoiceBotClient(app.commands, test_guild_id=cfg.test_guild_id, voice_idle_seconds=cfg.voice_idle_seconds,
                            voice_leave_when_alone=cfg.voice_leave_when_alone, read_aloud=cfg.read_aloud)
    async with client:
        task = asyncio.create_task(client.start(token))
        if stop is None:
            await task
        else:
            await stop.wait()
            await client.close()
            await asyncio.gather(task, return_exceptions=True)
