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
import sys
from typing import Any, Optional

import discord
from discord import app_commands
from discord.http import Route

from ..core.invocation import Actor, AudioIn, BaseResponder, Button, Invocation, Place
from ..core.messages import language_of, too_large_note, tr
from ..core.say_args import SayOptions
from .discord_commands import CommandTranslator, attachment_audio, interaction_language, register_commands
from . import StartupError
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
    form: list[dict[str, Any]] = [
        {"name": "payload_json", "value": json.dumps(payload)},
        {"name": "files[0]", "value": ogg, "filename": "voice-message.ogg", "content_type": "audio/ogg"},
    ]
    return await http.request(route, form=form)


def _refused(exc: discord.HTTPException) -> bool:
    return exc.code in VOICE_REFUSED_CODES or exc.status == 403


class DiscordResponder(BaseResponder):
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
            lang = interaction_language(self.interaction)
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
            await self.text(tr(interaction_language(self.interaction), *too_large_note(len(ogg) / 1e6)))
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
        if caption:  # seen by whoever sees the note ("B's voice, requested by A" above all)
            await self.interaction.followup.send(caption[:2000], ephemeral=not self.public,
                                                 allowed_mentions=discord.AllowedMentions.none())

    async def image(self, png: bytes, caption: str) -> bool:
        await self.interaction.followup.send(caption[:2000], file=discord.File(_bytes_io(png), "usage.png"),
                                             ephemeral=not self.public, allowed_mentions=discord.AllowedMentions.none())
        return True

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
        if application_id is not None:  # else discord.py learns it at login
            options["application_id"] = application_id
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **options)
        self.commands = commands
        self.test_guild_id = test_guild_id
        self.voice_channels = VoiceChannels(self, voice_idle_seconds, voice_leave_when_alone)
        self.read_aloud = read_aloud
        self.tree = app_commands.CommandTree(self)
        register_commands(self.tree, self, commands.catalog)
        commands.services.notifiers[PLATFORM] = self.notify

    async def notify(self, user_id: str, message: str, buttons: list[Button]) -> None:
        """A DM to one user (a notice for the owner of a shared voice)."""
        user = self.get_user(int(user_id)) or await self.fetch_user(int(user_id))
        await user.send(message[:2000], view=_view(buttons) if buttons else discord.utils.MISSING)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CommandTranslator())  # the specs' Chinese descriptions
        guild = discord.Object(self.test_guild_id) if self.test_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def close(self) -> None:
        await self.voice_channels.close()
        await super().close()

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server (kicked, or the server deleted): its shares and rules end with it.
        Its blocks and its records of voices used stay for their retention."""
        try:
            await self.commands.forget_server(PLATFORM, str(guild.id))
        except Exception:  # logged; the gateway must go on
            log.exception("could not clear the server %s the bot was removed from", guild.id)

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
        # A server the bot is not in: the app came with this user's own install.  Nobody there is
        # the bot's admin (the operator's guest rules apply, which no one there can change).
        guest = interaction.guild_id is not None and interaction.is_user_integration() \
            and not interaction.is_guild_integration()
        perms = interaction.permissions
        guild = interaction.guild
        owner = guild is not None and getattr(guild, "owner_id", None) == user.id and not guest
        roles = tuple(str(r) for r in getattr(user, "_roles", ()))  # role ids
        return Invocation(
            command, args,
            Actor(PLATFORM, str(user.id), user.display_name, interaction_language(interaction),
                  is_platform_admin=bool(perms.manage_guild or perms.administrator) and not private and not guest,
                  is_owner=owner, roles=roles),
            Place(PLATFORM, f"dm:{user.id}" if private else f"channel:{interaction.channel_id}" if shared_dm
                  else str(interaction.guild_id), private, channel_id=str(interaction.channel_id or ""), guest=guest),
            audio=audio, mentions=mentions or {}, admin_mentions=admin_mentions, names=names or {},
            role_names=role_names or {},
            voice=MemberVoice(self.voice_channels, guild, user.id, interaction.channel_id or 0) if guild is not None else None)

    async def run_command(self, interaction: discord.Interaction, command: str, args: str = "", *,
                          public: bool = False, audio: Optional[AudioIn] = None,
                          mentions: Optional[dict[str, str]] = None, admin_mentions: frozenset[str] = frozenset(),
                          names: Optional[dict[str, str]] = None, with_roles: bool = False,
                          in_voice: bool = False, also_post: bool = False,
                          say_options: Optional[SayOptions] = None) -> None:
        """Acknowledge first (3 s deadline), then hand over to the command layer.  ``in_voice``:
        what the command speaks goes to the caller's voice channel instead of the text channel
        (``also_post``: to both); ``say_options``: /say's typed options, passed as they are."""
        await interaction.response.defer(thinking=True, ephemeral=not public)
        inv = self.invocation(interaction, command, args, audio, mentions, admin_mentions, names,
                              await self.role_names(interaction) if with_roles else None)
        inv.in_voice = in_voice  # the command layer checks the caller may speak there
        inv.say_options = say_options
        target = inv.voice if in_voice and isinstance(inv.voice, MemberVoice) else None
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
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
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
                             audio=attachment_audio(message.attachments[0], message.flags.voice))
        elif message.content.strip():
            inv = Invocation("text", message.content, actor, Place(PLATFORM, f"dm:{message.author.id}", True))
        else:
            return

        class ChannelResponder(BaseResponder):
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


class _AloudResponder(BaseResponder):
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


async def run_discord(app, token: str, stop: Optional[asyncio.Event] = None) -> None:
    """Connect to the gateway until ``stop`` is set (or forever)."""
    cfg = app.config.discord
    client = VoiceBotClient(app.commands, test_guild_id=cfg.test_guild_id, voice_idle_seconds=cfg.voice_idle_seconds,
                            voice_leave_when_alone=cfg.voice_leave_when_alone, read_aloud=cfg.read_aloud)
    import aiohttp

    async with client:
        try:
            await client.login(token)  # checks the token over HTTP before the gateway
        except discord.LoginFailure as exc:
            raise StartupError("Discord refused DISCORD_TOKEN (malformed or reset): copy the bot's token from the "
                               "Developer Portal (Bot → Reset Token) and set it again") from exc
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, discord.HTTPException) as exc:
            raise StartupError(f"cannot reach Discord: {exc}; check the network and start again") from exc
        me = client.user
        if me is not None:
            log.info("connected to Discord as %s (%s)", me, me.id)
            print(f"connected to Discord as {me} ({me.id})", file=sys.stderr, flush=True)
        task = asyncio.create_task(client.connect(reconnect=True))  # the gateway, with discord.py's back-off
        waiters = {task} | ({asyncio.ensure_future(stop.wait())} if stop is not None else set())
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending - {task}:
            waiter.cancel()
        if task in done:
            failure = task.exception()
            if isinstance(failure, discord.PrivilegedIntentsRequired):
                raise StartupError("Discord refused the privileged intents: tick Message Content (and Server "
                                   "Members) under Bot → Privileged Gateway Intents in the Developer Portal") from failure
            if failure is not None:
                raise StartupError(f"lost Discord's gateway: {failure}") from failure
            return
        await client.close()
        await asyncio.gather(task, return_exceptions=True)
