"""The Discord adapter driven with raw interaction payloads against a fake Discord HTTP API."""

import asyncio
import base64
import itertools

import pytest
from discord.http import Route

from bot.adapters.discord import VoiceBotClient, send_voice_message
from indextts_core.audio import ogg_opus_info
from tests.bot.conftest import spoken
from tests.fakes.discord_api import APP_ID, IS_VOICE_MESSAGE, FakeDiscord

GUILD = "7000"
CHANNEL = "7001"
ADMIN_PERMS = str(1 << 5)  # MANAGE_GUILD, as a string the way Discord sends it
_ids = itertools.count(900_000)


@pytest.fixture
async def dc(app, monkeypatch):
    fake = await FakeDiscord().start()
    monkeypatch.setattr(Route, "BASE", fake.base)
    client = VoiceBotClient(app.commands, application_id=APP_ID)
    await client.login("fake-token")  # static login + setup_hook (command sync)
    fake.client = client
    yield fake
    await client.close()
    await fake.stop()


def _user(uid):
    return {"id": str(uid), "username": f"user{uid}", "discriminator": "0", "global_name": f"User {uid}", "avatar": None}


def interaction(name, options=(), *, user=1, guild=True, perms="0", resolved=None, itype=2, data_extra=None, locale="en-US",
                context=None):
    payload = {
        "id": str(next(_ids)), "application_id": str(APP_ID), "type": itype, "token": f"tok{next(_ids)}", "version": 1,
        "locale": locale, "app_permissions": str((1 << 11) | (1 << 15) | (1 << 46)), "entitlements": [],
        "authorizing_integration_owners": {}, "context": context if context is not None else 0 if guild else 1, "attachment_size_limit": 10 * 1024 * 1024,
        "channel_id": CHANNEL, "channel": ({"id": CHANNEL, "type": 0, "guild_id": GUILD, "name": "general", "position": 0, "flags": 0,
                     "permission_overwrites": [], "nsfw": False, "parent_id": None, "rate_limit_per_user": 0}
                    if guild else {"id": CHANNEL, "type": 1, "flags": 0, "recipients": [_user(user)]}),
        "data": {"id": str(next(_ids)), "name": name, "type": 1, "options": list(options), **(data_extra or {})},
    }
    if resolved:
        payload["data"]["resolved"] = resolved
    if guild:
        payload["guild_id"] = GUILD
        payload["guild_locale"] = "en-US"
        payload["member"] = {"user": _user(user), "roles": [], "permissions": perms, "joined_at": "2026-01-01T00:00:00+00:00",
                             "deaf": False, "mute": False, "flags": 0}
    else:
        payload["user"] = _user(user)
    return payload


def opt(name, value, otype=3):
    return {"name": name, "type": otype, "value": value}


def dispatch(dc, payload):
    dc.client._connection.parse_interaction_create(payload)
    return payload


def _voice_followups(dc, since=0):
    return [r for r in dc.find("POST", f"/webhooks/{APP_ID}/", since) if r.json and r.json.get("flags", 0) & IS_VOICE_MESSAGE]


async def test_every_discord_command_of_the_specs_is_synced_with_its_chinese_description(dc):
    from bot.core.commands import CATALOG

    (sync,) = dc.find("PUT", f"/applications/{APP_ID}/commands")
    synced = {c["name"]: c for c in sync.json}
    admin = {o["name"]: o for o in synced["voiceadmin"]["options"]}
    for spec in CATALOG.commands("discord"):
        command = admin[spec.name] if spec.discord_group else synced[spec.name]
        assert command["description"] == spec.summary[0]
        assert command["description_localizations"]["zh-CN"] == spec.summary[1], spec.name
    assert "set" in admin and admin["set"]["description_localizations"]["zh-CN"]
    assert {"start", "cancel"}.isdisjoint(synced)  # text-chat commands only
    assert synced["join"]["contexts"] == [0] and synced["say"]["integration_types"] == [0, 1]


async def test_commands_are_synced_with_admin_group_guild_only(dc):
    (sync,) = dc.find("PUT", f"/applications/{APP_ID}/commands")
    names = {c["name"]: c for c in sync.json}
    assert {"say", "clone", "voice", "forget", "share", "emotions", "help", "voiceadmin"} <= set(names)
    admin = names["voiceadmin"]
    assert str(admin["default_member_permissions"]) == ADMIN_PERMS and admin["dm_permission"] is False


async def test_say_defers_in_time_and_follows_up_with_a_native_voice_message(dc):
    p = dispatch(dc, interaction("say", [opt("text", "Hello everyone, welcome to the server!"), opt("emotion", "happy"),
                                         opt("intensity", 0.6, 10), opt("speed", 1.1, 10)]))
    t0 = asyncio.get_running_loop().time()
    (cb,) = await dc.wait_for("POST", f"/interactions/{p['id']}/{p['token']}/callback")
    assert cb.json["type"] == 5 and cb.at - t0 < 3.0  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE within the deadline
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    (msg,) = _voice_followups(dc)
    att = msg.json["attachments"][0]
    ogg = msg.files["files[0]"][1]
    info = ogg_opus_info(ogg)
    assert msg.json["flags"] == IS_VOICE_MESSAGE and info.channels == 1 and info.input_rate == 48000
    assert abs(att["duration_secs"] - info.duration) < 0.001
    assert 0 < len(base64.b64decode(att["waveform"])) <= 256
    assert "content" not in msg.json


async def test_refused_voice_message_falls_back_to_a_plain_ogg_attachment(dc, caplog):
    dc.refuse_voice = True
    p = dispatch(dc, interaction("say", [opt("text", "This channel refuses voice messages.")]))
    reqs = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=2)
    plain = [r for r in reqs if not (r.json or {}).get("flags", 0) & IS_VOICE_MESSAGE]
    assert plain and any(fn == "voice.ogg" for fn, _ in plain[0].files.values())
    ogg = next(data for fn, data in plain[0].files.values() if fn == "voice.ogg")
    assert ogg_opus_info(ogg).duration > 0.5
    assert "50173" in caplog.text


async def test_errors_are_ephemeral_never_silent(dc):
    p = dispatch(dc, interaction("say", [opt("text", "😀😀😀")]))
    await dc.wait_for("DELETE", f"/webhooks/{APP_ID}/{p['token']}/messages/@original")
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "nothing left to say" in follow.json["content"] and follow.json["flags"] & (1 << 6)


async def test_emotion_autocomplete_accepts_chinese_names(dc):
    p = interaction("say", [opt("text", "hi"), {"name": "emotion", "type": 3, "value": "愤", "focused": True}], itype=4)
    dispatch(dc, p)
    (cb,) = await dc.wait_for("POST", f"/interactions/{p['id']}/{p['token']}/callback")
    assert cb.json["type"] == 8
    assert [c["value"] for c in cb.json["data"]["choices"]] == ["angry"]


async def test_admin_policy_enforced_the_same_way_as_on_telegram(dc):
    p = dispatch(dc, interaction("voiceadmin", [{"name": "set", "type": 1, "options": [opt("setting", "say"), opt("value", "admins")]}], user=5))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "Only admins" in follow.json["content"]
    p = dispatch(dc, interaction("voiceadmin", [{"name": "set", "type": 1, "options": [opt("setting", "say"), opt("value", "admins")]}],
                                 user=6, perms=ADMIN_PERMS))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "say (who may speak): admins" in follow.json["content"]
    p = dispatch(dc, interaction("say", [opt("text", "Can I still talk?")], user=5))
    await dc.wait_for("DELETE", f"/webhooks/{APP_ID}/{p['token']}/messages/@original")
    assert "only admins" in (await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0].json["content"]


async def test_usage_comes_with_its_chart_as_a_png_attachment(dc):
    p = dispatch(dc, interaction("say", [opt("text", "Counting this one.")], user=5))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")  # the voice message
    p = dispatch(dc, interaction("voiceadmin", [{"name": "usage", "type": 1, "options": []}], user=6, perms=ADMIN_PERMS))
    report, chart = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=2)
    assert "1 voice note," in report.json["content"] and "Minutes of speech per day" in chart.json["content"]
    (name, png), = chart.files.values()
    assert name == "usage.png" and png.startswith(b"\x89PNG")


async def test_block_member_by_option(dc):
    member = {"users": {"8": _user(8)}, "members": {"8": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                                                         "deaf": False, "mute": False, "flags": 0, "permissions": "0"}}}
    p = dispatch(dc, interaction("voiceadmin", [{"name": "block", "type": 1, "options": [opt("member", "8", 6)]}],
                                 user=6, perms=ADMIN_PERMS, resolved=member))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "blocked" in follow.json["content"]
    p = dispatch(dc, interaction("say", [opt("text", "let me speak")], user=8))
    assert "blocked you" in (await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0].json["content"]


async def test_a_member_with_manage_server_cannot_be_blocked(dc):
    admin = {"users": {"12": _user(12)}, "members": {"12": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                                                           "deaf": False, "mute": False, "flags": 0, "permissions": ADMIN_PERMS}}}
    p = dispatch(dc, interaction("voiceadmin", [{"name": "block", "type": 1, "options": [opt("member", "12", 6)]}],
                                 user=6, perms=ADMIN_PERMS, resolved=admin))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "can't be blocked" in follow.json["content"]


async def test_clone_with_consent_buttons_and_a_voice_message_attachment(dc, app, engine):
    p = dispatch(dc, interaction("clone", guild=False, user=11))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    button = follow.json["components"][0]["components"][0]
    assert button["custom_id"].startswith("vb:consent:yes:") and follow.json["flags"] & (1 << 6)
    press = interaction("", guild=False, user=11, itype=3)
    press["data"] = {"custom_id": button["custom_id"], "component_type": 2}
    press["message"] = {**dc._message(CHANNEL, "consent"), "flags": 64}
    dispatch(dc, press)
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{press['token']}")
    sentence = follow.json["content"].split("\n\n", 1)[1]

    plain = dc.add_attachment("plain.ogg", b"OggS" + b"\0" * 500)
    resolved = {"attachments": {"55": {"id": "55", "filename": "plain.ogg", "size": 504, "url": plain, "proxy_url": plain,
                                       "content_type": "audio/ogg"}}}
    p = dispatch(dc, interaction("clone", [opt("recording", "55", 11)], guild=False, user=11, resolved=resolved))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "microphone button" in follow.json["content"]

    for attempt in range(3):  # Whisper tiny mishears a digit now and then: record again
        data = spoken(engine, sentence, pitch_hz=170.0 + 25 * attempt)
        url = dc.add_attachment(f"voice{attempt}.ogg", data)
        resolved = {"attachments": {"56": {"id": "56", "filename": "voice-message.ogg", "size": len(data), "url": url,
                                           "proxy_url": url, "content_type": "audio/ogg",
                                           "duration_secs": ogg_opus_info(data).duration, "waveform": "AAAA", "flags": 0}}}
        n = len(dc.requests)
        p = dispatch(dc, interaction("clone", [opt("recording", "56", 11)], guild=False, user=11, resolved=resolved))
        working, verdict = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=2, since=n)
        assert working.json["content"].startswith("Got it")  # said at once, before the slow part
        if "ready" in verdict.json["content"]:
            break
    assert "ready" in verdict.json["content"]
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=3, since=n)
    assert _voice_followups(dc, n)  # the preview, as an (ephemeral) voice message
    user = await app.store.find_user("discord", "11")
    assert await app.store.voice(user.id) is not None


async def test_an_unknown_emotion_option_is_refused_not_spoken(dc):
    p = dispatch(dc, interaction("say", [opt("text", "hello there"), opt("emotion", "bogus")]))
    await dc.wait_for("DELETE", f"/webhooks/{APP_ID}/{p['token']}/messages/@original")
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "Unknown emotion 'bogus'" in follow.json["content"]
    assert not _voice_followups(dc)


async def test_an_emotion_option_without_intensity_is_still_an_emotion(dc, app):
    p = dispatch(dc, interaction("say", [opt("text", "calm down please"), opt("emotion", "calm")]))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert _voice_followups(dc)
    user = await app.store.find_user("discord", "1")
    for _ in range(50):  # the audit row is written just after the voice message is sent
        async with app.db.conn.execute("SELECT emotion FROM audit_log WHERE user_id=?", (user.id,)) as cur:
            row = await cur.fetchone()
        if row:
            break
        await asyncio.sleep(0.1)
    assert row[0].startswith("calm")


async def test_help_shows_discord_syntax(dc):
    p = dispatch(dc, interaction("help"))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "/say text:" in follow.json["content"] and "mobile app" in follow.json["content"]


async def test_a_typed_role_name_is_resolved_and_replies_show_names(dc):
    dc.roles = [{"id": "555", "name": "Speakers", "permissions": "0", "position": 1, "color": 0, "hoist": False,
                 "managed": False, "mentionable": False, "flags": 0}]
    p = dispatch(dc, interaction("voiceadmin", [{"name": "set", "type": 1, "options": [opt("setting", "role"), opt("value", "speakers")]}],
                                 user=6, perms=ADMIN_PERMS))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "(Speakers)" in follow.json["content"] and "555" not in follow.json["content"]
    member = {"users": {"8": _user(8)}, "members": {"8": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                                                         "deaf": False, "mute": False, "flags": 0, "permissions": "0"}}}
    p = dispatch(dc, interaction("voiceadmin", [{"name": "block", "type": 1, "options": [opt("member", "8", 6)]}],
                                 user=6, perms=ADMIN_PERMS, resolved=member))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert follow.json["content"] == "User 8 is blocked from the voice bot here."


def _dm_message(user, *, content="", attachments=(), flags=0, guild=False):
    data = {"id": str(next(_ids)), "channel_id": "8800" if not guild else CHANNEL, "author": _user(user), "content": content,
            "type": 0, "attachments": list(attachments), "embeds": [], "mentions": [], "mention_roles": [], "pinned": False,
            "mention_everyone": False, "tts": False, "timestamp": "2026-11-21T00:00:00+00:00", "edited_timestamp": None,
            "flags": flags, "components": []}
    if guild:
        data["guild_id"] = GUILD
        data["member"] = {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0}
    return data


async def test_dm_messages_keep_the_users_language(dc, app):
    p = dispatch(dc, interaction("help", user=31, locale="zh-CN"))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    n = len(dc.requests)
    dc.client._connection.parse_message_create(_dm_message(31, content="你好"))
    (reply,) = await dc.wait_for("POST", "/channels/8800/messages", since=n)
    assert "发送 /say" in reply.json["content"]
    assert (await app.store.find_user("discord", "31")).language == "zh"


async def test_a_voice_message_in_a_server_during_clone_is_pointed_to_dms(dc):
    p = dispatch(dc, interaction("clone", guild=False, user=32))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    press = interaction("", guild=False, user=32, itype=3)
    press["data"] = {"custom_id": follow.json["components"][0]["components"][0]["custom_id"], "component_type": 2}
    press["message"] = {**dc._message(CHANNEL, "consent"), "flags": 64}
    dispatch(dc, press)
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{press['token']}")
    n = len(dc.requests)
    # The gateway's GUILD_CREATE would have cached the server; do it by hand.
    dc.client._connection._add_guild_from_data({
        "id": GUILD, "name": "Guild", "owner_id": "1", "roles": [], "members": [], "emojis": [], "stickers": [],
        "features": [], "channels": [{"id": CHANNEL, "type": 0, "name": "general", "position": 0,
                                      "permission_overwrites": [], "guild_id": GUILD}]})
    dc.client._connection.parse_message_create(_dm_message(32, flags=IS_VOICE_MESSAGE, guild=True))
    (reply,) = await dc.wait_for("POST", f"/channels/{CHANNEL}/messages", since=n)
    assert "private chat" in reply.json["content"]


async def test_channel_voice_message_route(dc):
    from indextts_core.audio import encode_ogg_opus
    import numpy as np

    ogg = encode_ogg_opus(np.zeros(22050, np.float32), 22050)
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=CHANNEL)
    await send_voice_message(dc.client.http, route, ogg, 1.0, bytes(300))
    (req,) = dc.find("POST", f"/channels/{CHANNEL}/messages")
    assert req.json["flags"] == IS_VOICE_MESSAGE and len(base64.b64decode(req.json["attachments"][0]["waveform"])) == 256


# The permission matrix, through this adapter: each case's reply must carry the denial reason
# exactly when the written table says "deny".
from bot.core.commands import CATALOG  # noqa: E402
from bot.core.permissions import Role, decide  # noqa: E402
from bot.storage import Policy  # noqa: E402
from tests.bot.core.test_permissions import POLICIES, expected  # noqa: E402

_MEMBER_9 = {"users": {"9": _user(9)}, "members": {"9": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                                                       "deaf": False, "mute": False, "flags": 0, "permissions": "0"}}}
_CASES = {
    "say": lambda: ("say", [opt("text", "Permission check.")], None),
    "share": lambda: ("share", [], None),
    "clone": lambda: ("clone", [], None),
    "policy": lambda: ("voiceadmin", [{"name": "policy", "type": 1, "options": []}], None),
    "block": lambda: ("voiceadmin", [{"name": "block", "type": 1, "options": [opt("member", "9", 6)]}], _MEMBER_9),
}


@pytest.mark.parametrize("command", list(_CASES))
@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
@pytest.mark.parametrize("policy", ["default", "no-clone", "say-admins"])
async def test_permission_matrix_through_discord(dc, app, command, role, policy):
    await app.store.set_policy(Policy("discord", GUILD, **{k: getattr(POLICIES[policy], k) for k in
                                                          ("clone_allowed", "say_mode", "shared_voices_allowed")}))
    name, options, resolved = _CASES[command]()
    p = dispatch(dc, interaction(name, options, user=20 + role, perms=ADMIN_PERMS if role == Role.ADMIN else "0",
                                 resolved=resolved))
    first = (await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0]
    content = (first.json or {}).get("content") or ""
    reason = decide(CATALOG[command].access, Role.USER, POLICIES[policy], False).reason_en or "\0never"
    allowed = expected(command, role, policy, False)
    assert (reason not in content) == allowed, (command, role, policy, content)


async def test_verify_voice_message_command_reads_the_watermark_of_a_reposted_note(dc):
    (sync,) = dc.find("PUT", f"/applications/{APP_ID}/commands")
    assert any(c["name"] == "Verify voice" and c["type"] == 3 for c in sync.json)  # Apps → Verify voice
    p = dispatch(dc, interaction("say", [opt("text", "The last train leaves at ten, so we should hurry up and finish "
                                                     "our dinner before it gets late tonight.")]))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    (note,) = _voice_followups(dc)
    ogg = note.files["files[0]"][1]
    url = dc.add_attachment("reposted.ogg", ogg)  # someone saved it and posted it again as a file
    message = {**dc._message(CHANNEL, ""), "id": "900", "author": _user(5),
               "attachments": [{"id": "57", "filename": "reposted.ogg", "size": len(ogg), "url": url, "proxy_url": url,
                                "content_type": "audio/ogg"}]}
    n = len(dc.requests)
    p = dispatch(dc, interaction("Verify voice", user=3, data_extra={"type": 3, "target_id": "900",
                                                                    "resolved": {"messages": {"900": message}}}))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", since=n)
    assert "Made by this bot" in follow.json["content"]


async def test_say_in_my_voice_speaks_a_messages_text_and_the_app_works_where_it_is_installed(dc):
    (sync,) = dc.find("PUT", f"/applications/{APP_ID}/commands")
    commands = {c["name"]: c for c in sync.json}
    assert commands["Say in my voice"]["type"] == 3  # right-click a message → Apps → Say in my voice
    for name in ("say", "verify", "Say in my voice", "Verify voice"):  # user-installable, usable in DMs too
        assert set(commands[name]["integration_types"]) == {0, 1} and set(commands[name]["contexts"]) == {0, 1, 2}
    assert commands["join"].get("integration_types") in (None, [0])  # voice channels need the bot in the server
    message = {**dc._message(CHANNEL, "Dinner is at eight, see you there!"), "id": "901", "author": _user(5)}
    p = dispatch(dc, interaction("Say in my voice", user=3, data_extra={"type": 3, "target_id": "901",
                                                                        "resolved": {"messages": {"901": message}}}))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    (note,) = _voice_followups(dc)
    assert note.json["flags"] & (1 << 13) and not note.json["flags"] & (1 << 6)  # a public voice message
    n = len(dc.requests)
    empty = {**dc._message(CHANNEL, ""), "id": "902", "author": _user(5)}
    p = dispatch(dc, interaction("Say in my voice", user=3, data_extra={"type": 3, "target_id": "902",
                                                                        "resolved": {"messages": {"902": empty}}}))
    assert "What should I say?" in (await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", since=n))[0].json["content"]
    # in a DM between two people, where the app is installed on the caller's account
    n = len(dc.requests)
    p = dispatch(dc, interaction("say", [opt("text", "Hello from our DM.")], user=3, guild=False, context=2))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", since=n)
    assert len(_voice_followups(dc)) == 2


async def test_discord_unreachable_or_a_refused_token_is_a_startup_error_not_silence(app, monkeypatch):
    import socket

    from bot.adapters import StartupError
    from bot.adapters.discord import run_discord

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{closed}/api/v10")
    with pytest.raises(StartupError, match="cannot reach Discord"):
        await asyncio.wait_for(run_discord(app, "fake-token", stop=asyncio.Event()), 60)
    fake = await FakeDiscord().start()
    fake.refuse_login = True
    monkeypatch.setattr(Route, "BASE", fake.base)
    try:
        with pytest.raises(StartupError, match="Discord refused DISCORD_TOKEN"):
            await asyncio.wait_for(run_discord(app, "reset-token", stop=asyncio.Event()), 60)
    finally:
        await fake.stop()


def _user_installed(payload, user):
    """The interaction as Discord sends it in a server the bot is not in: the app was authorised by
    the user's own install (key 1), not the server's (key 0)."""
    payload["authorizing_integration_owners"] = {"1": str(user)}
    return payload


async def test_a_server_without_the_bot_gets_the_careful_guest_rules_nobody_there_can_change(dc, app, engine):
    from tests.bot.conftest import clone

    await clone(app, engine, user="5", platform="discord")
    await app.store.set_policy(Policy("discord", GUILD, cooldown_s=0))  # rules set while the bot was in: not for guests
    p = dispatch(dc, _user_installed(interaction("say", [opt("text", "Hello from a server without the bot.")],
                                                 user=5, perms=ADMIN_PERMS), 5))
    await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=2)
    caption = [r for r in dc.find("POST", f"/webhooks/{APP_ID}/{p['token']}") if r.json and "content" in r.json][0]
    # the default voice (cloned voices are off for guests), said where everyone sees the note
    assert "Cloned voices are turned off here" in caption.json["content"] and not caption.json.get("flags", 0) & (1 << 6)
    p = dispatch(dc, _user_installed(interaction("say", [opt("text", "And again at once.")], user=5, perms=ADMIN_PERMS), 5))
    await dc.wait_for("DELETE", f"/webhooks/{APP_ID}/{p['token']}/messages/@original")
    assert "Slow down" in (await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0].json["content"]
    # the server's own admin (by Discord permissions) cannot change them there
    p = dispatch(dc, _user_installed(interaction(
        "voiceadmin", [{"name": "set", "type": 1, "options": [opt("setting", "clone"), opt("value", "on")]}],
        user=6, perms=ADMIN_PERMS), 6))
    (follow,) = await dc.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}")
    assert "not a member of this server" in follow.json["content"]
    assert (await app.store.policy("discord", GUILD)).clone_allowed


async def test_removing_the_bot_from_a_server_ends_the_shares_and_rules_there(dc, app, engine):
    from tests.bot.conftest import clone

    await clone(app, engine, user="5", platform="discord")
    owner = await app.store.find_user("discord", "5")
    await app.store.set_policy(Policy("discord", GUILD, shared_voices_allowed=True, cooldown_s=9))
    await app.store.set_shared(owner.id, "discord", GUILD, True)
    await app.store.set_shared(owner.id, "discord", "8000", True)
    state = dc.client._connection
    state._add_guild_from_data({"id": GUILD, "name": "G", "owner_id": "1", "roles": [], "emojis": [], "stickers": [],
                                "features": [], "channels": [], "members": [], "voice_states": [], "member_count": 1})
    state.parse_guild_delete({"id": GUILD})
    for _ in range(50):
        if not await app.store.is_shared(owner.id, "discord", GUILD):
            break
        await asyncio.sleep(0.1)
    assert not await app.store.is_shared(owner.id, "discord", GUILD)
    assert await app.store.is_shared(owner.id, "discord", "8000")  # another server's share stays
    assert (await app.store.policy("discord", GUILD)).cooldown_s == 0  # back to the defaults
