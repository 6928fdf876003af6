"""/join /leave /skip /stop: who may do what, with a voice channel that records what it was told."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from bot.storage import Policy
from tests.bot.core.commands.helpers import run


@dataclass
class RecordingVoice:
    """A server's voice channel as the command layer sees it (the Discord one is tested in adapters)."""

    caller: Optional[str] = "Lounge"
    bot: Optional[str] = None
    requester: Optional[str] = None
    waiting: int = 0
    listening: int = 1  # people in the bot's channel besides the caller
    others: bool = False  # someone else's request plays or waits
    calls: list[str] = field(default_factory=list)
    policy: tuple = ()

    def caller_with_bot(self):
        return self.caller is not None and self.caller == self.bot

    def listeners(self):
        return self.listening

    def others_waiting(self):
        return self.others

    def room(self):
        return None

    def set_guard(self, guard):
        self.guard = guard

    def caller_channel(self):
        return self.caller

    def bot_channel(self):
        return self.bot

    async def join(self):
        self.calls.append("join")
        self.bot = self.caller
        return self.caller

    async def leave(self):
        self.calls.append("leave")
        self.bot = None

    def apply_policy(self, idle_seconds, leave_when_alone):
        self.policy = (idle_seconds, leave_when_alone)

    def now_playing_requester(self):
        return self.requester

    def skip(self):
        self.calls.append("skip")

    def stop(self, only_mine=False):
        self.calls.append("stop mine" if only_mine else "stop")
        return self.waiting


async def test_join_needs_the_caller_in_voice_and_leave_needs_the_bot_there(app):
    voice = RecordingVoice(caller=None)
    assert "Join a voice channel first" in (await run(app, "join", voice=voice)).last.text
    voice.caller = "Lounge"
    assert "I'm in Lounge" in (await run(app, "join", voice=voice)).last.text
    assert (await run(app, "leave", voice=voice)).last.text == "I left the voice channel."
    assert (await run(app, "leave", voice=voice)).last.text == "I'm not in a voice channel."
    assert voice.calls == ["join", "leave"]


async def test_join_follows_the_servers_say_rule_and_blocks(app):
    await app.store.set_policy(Policy("test", "g1", say_mode="admins"))
    voice = RecordingVoice()
    assert "only admins" in (await run(app, "join", voice=voice)).last.text
    assert "I'm in" in (await run(app, "join", voice=voice, user="boss", admin=True)).last.text
    await app.store.set_policy(Policy("test", "g1"))
    await run(app, "block", "@u2", user="boss", admin=True, mentions={"@u2": "u2"})
    assert "blocked you" in (await run(app, "join", voice=voice, user="u2")).last.text
    assert "blocked you" in (await run(app, "skip", voice=voice, user="u2")).last.text


async def test_only_the_requester_or_a_moderator_skips_or_stops(app):
    voice = RecordingVoice(bot="Lounge", requester="u1", waiting=2)
    assert "Only the member who asked" in (await run(app, "skip", voice=voice, user="u2")).last.text
    assert "Only the member who asked" in (await run(app, "stop", voice=voice, user="u2")).last.text
    assert voice.calls == []
    assert (await run(app, "skip", voice=voice, user="u1")).last.text == "Skipped."
    assert (await run(app, "stop", voice=voice, user="mod", admin=True)).last.text == "Stopped; 2 waiting message(s) dropped."
    assert voice.calls == ["skip", "stop"]
    voice.requester = None
    assert (await run(app, "skip", voice=voice, user="u1")).last.text == "Nothing is playing."


async def test_voice_commands_outside_a_discord_server_say_where_they_work(app):
    assert "Discord server" in (await run(app, "join")).last.text  # a platform without voice channels
    assert "Discord server" in (await run(app, "join", voice=RecordingVoice(), private=True)).last.text
    assert "Discord 服务器" in (await run(app, "skip", language="zh")).last.text


async def test_admins_bind_a_read_aloud_channel_and_members_opt_out(app):
    voice = RecordingVoice()
    out = await run(app, "policy", "set read_aloud here", voice=voice, channel="7001", user="boss", admin=True)
    assert "read aloud in voice: <#7001>" in out.last.text and (await app.store.policy("test", "g1")).read_aloud_channel == "7001"
    assert "Only admins" in (await run(app, "policy", "set read_aloud off", voice=voice)).last.text
    await run(app, "policy", "set read_aloud off", voice=voice, user="boss", admin=True)
    assert (await app.store.policy("test", "g1")).read_aloud_channel is None
    assert "Discord servers" in (await run(app, "policy", "set read_aloud here", user="boss", admin=True)).last.text
    assert "will not be read aloud" in (await run(app, "readaloud", "off", voice=voice)).last.text
    user = await app.store.find_user("test", "u1")
    assert await app.store.read_aloud_opted_out(user.id, "test", "g1")
    await run(app, "readaloud", "on", voice=voice)
    assert not await app.store.read_aloud_opted_out(user.id, "test", "g1")
    assert "/readaloud off" in (await run(app, "readaloud", "maybe", voice=voice)).last.text


async def test_each_server_chooses_when_the_bot_leaves_voice(app):
    voice = RecordingVoice()
    await run(app, "join", voice=voice)
    assert voice.policy == (None, None)  # the operator's defaults
    out = await run(app, "policy", "set voice_idle 60", voice=voice, user="boss", admin=True)
    assert "leave voice after idle: 60 s" in out.last.text and voice.policy == (60, None)
    await run(app, "policy", "set leave_alone off", voice=voice, user="boss", admin=True)
    await run(app, "join", voice=voice)
    assert voice.policy == (60, False)  # every voice request carries the server's current choice
    assert "0 (stay) to 86400" in (await run(app, "policy", "set voice_idle soon", voice=voice, user="boss", admin=True)).last.text
    await run(app, "policy", "set voice_idle default", voice=voice, user="boss", admin=True)
    assert (await app.store.policy("test", "g1")).voice_idle_s is None
    assert "Discord servers" in (await run(app, "policy", "set voice_idle 5", user="boss", admin=True)).last.text


async def test_the_bot_is_moved_or_sent_away_only_when_nobody_else_uses_it(app):
    elsewhere = RecordingVoice(caller="Lounge", bot="Quiet", listening=2)  # two people listen in Quiet
    assert "Others are using me" in (await run(app, "join", voice=elsewhere)).last.text
    assert "Others are using me" in (await run(app, "leave", voice=elsewhere)).last.text
    assert "I'm in Lounge" in (await run(app, "join", voice=elsewhere, user="mod", admin=True)).last.text
    assert "already in Lounge" in (await run(app, "join", voice=elsewhere)).last.text
    busy = RecordingVoice(bot="Lounge", requester="u2", others=True)
    assert "Others are using me" in (await run(app, "leave", voice=busy)).last.text
    busy.listening = 0  # everyone else left: the caller is alone with the bot
    assert (await run(app, "leave", voice=busy)).last.text == "I left the voice channel."
    idle = RecordingVoice(bot="Lounge")  # others listen, but nobody else's request plays or waits
    assert (await run(app, "leave", voice=idle)).last.text == "I left the voice channel."
    assert elsewhere.calls == ["join"] and busy.calls == ["leave"] and idle.calls == ["leave"]


async def test_the_requesters_stop_drops_only_their_own_requests(app):
    voice = RecordingVoice(bot="Lounge", requester="u1", waiting=1, others=True)
    await run(app, "stop", voice=voice, user="u1")
    voice.listening = 0
    await run(app, "stop", voice=voice, user="u1")  # alone with the bot: everything
    assert voice.calls == ["stop mine", "stop"]
