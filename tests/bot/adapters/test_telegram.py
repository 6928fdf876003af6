"""The real PTB Application against a fake Bot API server on 127.0.0.1 (real HTTP, multipart)."""

import asyncio
import time

import pytest

from indextts_core.audio import ogg_opus_info
from tests.bot.conftest import spoken
from tests.probe import probe

GROUP = -100500




async def test_command_menus_come_from_the_specs_per_scope_and_language(tg):
    from bot.core.commands import CATALOG

    await tg.wait_for("setMyCommands", 4)
    menus = {(c.params["scope"]["type"], c.params.get("language_code")): {m["command"]: m["description"] for m in
                                                                         c.params["commands"]}
             for c in tg.sent("setMyCommands")}
    assert set(menus) == {("default", None), ("default", "zh"), ("all_chat_administrators", None),
                          ("all_chat_administrators", "zh")}
    members = {s.name for s in CATALOG.commands("telegram") if s.access.value != "admin"}
    admins = {s.name for s in CATALOG.commands("telegram")}
    assert set(menus["default", None]) == members and {"say", "clone", "verify", "forget"} <= members
    assert set(menus["all_chat_administrators", "zh"]) == admins and {"policy", "block", "purge", "usage"} <= admins
    assert not {"join", "readaloud", "inline", "audio", "button"} & admins  # Discord-only commands and events
    assert menus["default", "zh"]["say"] == "朗读" and menus["default", None]["say"] == CATALOG["say"].summary[0]


async def test_say_with_emotion_and_duration_uploads_valid_ogg_of_that_length(tg):
    tg.message("/say happy 0.8 2.5s Good morning everyone, have a lovely day!")
    (call,) = await tg.wait_for("sendVoice")
    ogg = call.files["voice"]
    info = ogg_opus_info(ogg)
    assert info.channels == 1 and info.input_rate == 48000
    assert abs(info.duration - 2.5) <= 0.02
    assert int(call.params["duration"]) == 2 or int(call.params["duration"]) == 3
    assert tg.sent("sendChatAction")[0].params["action"] == "record_voice"
    seen = probe(ogg)
    assert (seen.codec, seen.sample_rate, seen.channels) == ("opus", 48000, 1)
    assert seen.duration == pytest.approx(2.5, abs=0.02)


async def test_a_repeated_request_is_a_new_upload_with_its_own_watermark(tg):
    """Each note carries the id of its own audit row, so a stored file is never resent."""
    tg.message("/say Same words twice.")
    first = (await tg.wait_for("sendVoice"))[0]
    n = len(tg.calls)
    tg.message("/say Same words twice.")
    second = (await tg.wait_for("sendVoice", since=n))[0]
    assert "voice" in first.files and "voice" in second.files
    assert first.files["voice"] != second.files["voice"]


async def test_an_edited_command_does_not_run_again(tg):
    """Editing a sent /say (or /clone) must not make a second note: edits are not new requests."""
    said = tg.message("/say First words.")
    await tg.wait_for("sendVoice")
    tg.edit(said, "/say Other words.")
    tg.edit(said, "/clone")
    tg.message("/help")  # updates are handled in order: once /help is answered, the edits were seen
    await tg.wait_for("sendMessage")
    await asyncio.sleep(3)  # a note started by an edit would be uploaded by now
    assert len(tg.sent("sendVoice")) == 1
    (only,) = tg.sent("sendMessage")  # the one reply is the help text
    assert "/say" in only.params["text"]


async def test_a_message_sent_as_a_channel_gets_no_voice_and_cannot_be_blocked_by_reply(tg, app):
    """Everyone posting as the channel arrives as one placeholder user: it must own nothing."""
    chat = -100500
    tg.message("/clone", chat=chat, chat_type="supergroup", sender_chat=-100900)
    tg.message("/say hello from the channel", chat=chat, chat_type="supergroup", sender_chat=-100900)
    first, second = await tg.wait_for("sendMessage", count=2)
    assert all("from your own account" in c.params["text"] for c in (first, second))
    assert not tg.sent("sendVoice")
    assert await app.store.find_user("telegram", "136817688") is None  # no user row, no cooldown
    posted = tg.message("Channel post", chat=chat, chat_type="supergroup", sender_chat=-100900)
    n = len(tg.calls)
    tg.message("/block", chat=chat, chat_type="supergroup", user=5, reply_to=posted)
    (refusal,) = await tg.wait_for("sendMessage", since=n)
    assert "cannot block or trust" in refusal.params["text"]


async def test_full_clone_flow_with_spoken_consent_then_forget(tg, app, engine):
    tg.message("/clone", user=7)
    consent = (await tg.wait_for("sendMessage"))[0]
    keyboard = consent.params["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"].startswith("consent:yes:")
    n = len(tg.calls)
    tg.press(keyboard[0][0]["callback_data"], {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": consent.params["text"]}, user=7)
    await tg.wait_for("answerCallbackQuery", since=n)
    msg = (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    sentence = msg.split("\n\n", 1)[1]
    for attempt in range(3):  # Whisper tiny mishears a digit now and then; the user records again
        n = len(tg.calls)
        tg.voice_note(spoken(engine, sentence, pitch_hz=170.0 + 25 * attempt), duration=6, user=7)
        working, verdict = await tg.wait_for("sendMessage", count=2, since=n)
        assert working.params["text"].startswith("Got it")
        reply = verdict.params["text"]
        if "ready" in reply:
            break
    assert "ready" in reply
    preview = (await tg.wait_for("sendVoice", since=n))[0]
    assert ogg_opus_info(preview.files["voice"]).duration > 1.0
    assert [c for c in tg.calls[n:] if c.method == "downloadFile"]
    user = await app.store.find_user("telegram", "7")
    assert (await app.store.voice(user.id)) is not None and len(await app.store.consents(user.id)) == 1

    # the cloned voice speaks intelligibly
    from tests.evaluation import transcribe, wer

    said = "Please remember to bring your umbrella because it might rain this afternoon."
    n = len(tg.calls)
    tg.message(f"/say {said}", user=7)
    (cloned,) = await tg.wait_for("sendVoice", since=n)
    import io

    import soundfile as sf

    pcm, rate = sf.read(io.BytesIO(cloned.files["voice"]), dtype="float32")
    assert "caption" not in cloned.params  # their own voice, not the default
    edits, words = wer(said, transcribe(pcm, rate, "en"))
    assert edits / words <= 0.2

    n = len(tg.calls)
    tg.message("/forget", user=7)
    confirm = (await tg.wait_for("sendMessage", since=n))[0]
    data = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("forget:yes:")
    n = len(tg.calls)
    tg.press(data, {"message_id": 2, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "x"}, user=7)
    done = (await tg.wait_for("sendMessage", since=n))[0]
    assert "deleted" in done.params["text"]
    assert await app.store.count_rows(user.id) == 0


async def test_forwarded_voice_and_audio_files_are_refused_before_download(tg, engine):
    tg.message("/clone", user=8)
    consent = (await tg.wait_for("sendMessage"))[0]
    n = len(tg.calls)
    yes = consent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    tg.press(yes, {"message_id": 1, "date": 0, "chat": {"id": 8, "type": "private"}, "text": consent.params["text"]}, user=8)
    await tg.wait_for("sendMessage", since=n)
    n = len(tg.calls)
    tg.voice_note(b"OggS" + b"\0" * 1000, duration=6, user=8, forwarded=True)
    assert "forwarded" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    file_id = tg.add_file(b"ID3" + b"\0" * 1000)
    tg.message(user=8, audio={"file_id": file_id, "file_unique_id": "x", "duration": 6, "file_size": 1003, "mime_type": "audio/mpeg"})
    assert "microphone button" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.voice_note(b"OggS" + b"\0" * 1000, duration=600, user=8)
    assert "600 s long" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    assert not tg.sent("downloadFile")


async def test_clone_in_a_group_points_to_the_private_chat(tg):
    tg.message("/clone", user=9, chat=GROUP, chat_type="supergroup")
    reply = (await tg.wait_for("sendMessage"))[0]
    url = reply.params["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert url == "https://t.me/voice_test_bot?start=clone"


async def test_group_policy_is_enforced_with_admins_from_getchatmember(tg):
    tg.member_status[(GROUP, 2)] = "administrator"
    tg.message("/policy set say admins", user=3, chat=GROUP, chat_type="supergroup")
    assert "Only admins" in (await tg.wait_for("sendMessage"))[0].params["text"]
    n = len(tg.calls)
    tg.message("/policy set say admins", user=2, chat=GROUP, chat_type="supergroup")
    assert "say (who may speak): admins" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say hello everyone", user=3, chat=GROUP, chat_type="supergroup")
    assert "only admins" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say hello everyone", user=2, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendVoice", since=n)
    assert len(tg.sent("getChatAdministrators")) == 1 and not tg.sent("getChatMember")  # one lookup per group


async def test_usage_and_a_daily_quota_through_telegram(tg):
    tg.member_status[(GROUP, 2)] = "administrator"
    tg.member_status[(GROUP, 6)] = "administrator"
    tg.message("/policy set member_quota 4", user=2, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendMessage")
    n = len(tg.calls)
    tg.message("/say hello everyone, this uses up my allowance", user=3, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendVoice", since=n)
    n = len(tg.calls)
    tg.message("/say and once more, with a longer sentence this time", user=3, chat=GROUP, chat_type="supergroup")
    assert "daily voice allowance" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/usage", user=2, chat=GROUP, chat_type="supergroup")
    photo = (await tg.wait_for("sendPhoto", since=n))[0]
    said = {int(c.params["chat_id"]): c.params["text"] for c in tg.sent("sendMessage")[-2:]}
    # the report names members: to the admin's private chat, and the group is only told so
    assert "1 voice note," in said[2] and "user 3" in said[2] and int(photo.params["chat_id"]) == 2
    assert "Minutes of speech per day" in photo.params["caption"]
    assert "sent you the report in a private message" in said[GROUP] and "user 3" not in said[GROUP]
    # an admin who never started the bot gets a button to open the chat, and nothing is posted
    tg.not_started.add(6)
    n = len(tg.calls)
    tg.message("/usage", user=6, chat=GROUP, chat_type="supergroup")
    (offer,) = await tg.wait_for("sendMessage", since=n)
    assert "Open a chat with me" in str(offer.params["reply_markup"]) and "voice note" not in offer.params["text"]
    assert int(offer.params["chat_id"]) == GROUP and not [c for c in tg.calls[n:] if c.method == "sendPhoto"]
    # a member's own usage, to them alone
    n = len(tg.calls)
    tg.message("/myusage", user=3, chat=GROUP, chat_type="supergroup")
    mine = {int(c.params["chat_id"]): c.params["text"] for c in await tg.wait_for("sendMessage", count=2, since=n)}
    assert "speech:" in mine[3] and "of 1800 s" in mine[3] and "1 voice note," in mine[3]
    assert "private message" in mine[GROUP]


async def test_a_title_only_admin_is_not_a_bot_admin_and_a_demotion_counts_within_a_minute(tg, monkeypatch):
    from bot.adapters import telegram as adapter

    tg.member_status[(GROUP, 2)] = "administrator"
    tg.member_status[(GROUP, 3)] = "administrator"
    tg.admin_rights[3] = {k: False for k in ("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                                             "can_restrict_members", "can_promote_members", "can_change_info",
                                             "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories")}
    tg.message("/policy set cooldown 5", user=3, chat=GROUP, chat_type="supergroup")
    assert "Only admins" in (await tg.wait_for("sendMessage"))[0].params["text"]  # an admin in title only
    n = len(tg.calls)
    tg.message("/policy set cooldown 5", user=2, chat=GROUP, chat_type="supergroup")
    assert "cooldown" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    del tg.member_status[(GROUP, 2)]  # demoted

    class AMinuteLater:  # the adapter's clock only (the event loop keeps the real one)
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def monotonic():
            return time.monotonic() + 61

    monkeypatch.setattr(adapter, "time", AMinuteLater())
    n = len(tg.calls)
    tg.message("/policy set cooldown 9", user=2, chat=GROUP, chat_type="supergroup")
    assert "Only admins" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    assert len(tg.sent("getChatAdministrators")) == 2


async def test_admin_blocks_a_member_by_replying_to_them(tg):
    tg.member_status[(GROUP, 2)] = "creator"
    target = tg.message("hi all", user=4, chat=GROUP, chat_type="supergroup", username="dave")
    tg.message("/block", user=2, chat=GROUP, chat_type="supergroup", reply_to=target)
    assert "blocked" in (await tg.wait_for("sendMessage"))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say let me talk", user=4, chat=GROUP, chat_type="supergroup", username="dave")
    assert "blocked you" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]


async def test_a_group_admin_cannot_be_blocked(tg):
    tg.member_status[(GROUP, 2)] = "creator"
    tg.member_status[(GROUP, 5)] = "administrator"
    target = tg.message("I moderate here", user=5, chat=GROUP, chat_type="supergroup", username="erin")
    tg.message("/block", user=2, chat=GROUP, chat_type="supergroup", reply_to=target)
    assert "can't be blocked" in (await tg.wait_for("sendMessage"))[0].params["text"]


def _group_press(tg, data, user):
    tg.press(data, {"message_id": 5, "date": 0, "chat": {"id": GROUP, "type": "supergroup", "title": "G"}, "text": "x"}, user=user)


async def test_another_member_cannot_press_my_forget_button_and_forged_data_does_nothing(tg, app):
    tg.message("/say hello from the victim", user=21, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendVoice")
    n = len(tg.calls)
    tg.message("/forget", user=21, chat=GROUP, chat_type="supergroup")
    data = (await tg.wait_for("sendMessage", since=n))[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for presser, payload, answer in ((22, data, "not for you"), (22, "forget:yes", "no longer active"),
                                     (21, "forget:yes", "no longer active")):
        n = len(tg.calls)
        _group_press(tg, payload, presser)
        assert answer in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    assert await app.store.find_user("telegram", "21") is not None  # nothing was deleted
    # nobody but its owner takes the keyboard away (edited or removed)
    assert not [c for c in tg.calls if c.method.startswith("editMessage")]
    n = len(tg.calls)
    _group_press(tg, data, 21)
    assert "deleted" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    (removed,) = [c for c in tg.calls[n:] if c.method.startswith("editMessage")]
    assert removed.method == "editMessageReplyMarkup" and int(removed.params["message_id"]) == 5
    assert await app.store.find_user("telegram", "21") is None


async def test_block_by_username_of_someone_never_seen_survives_their_forget(tg):
    tg.member_status[(GROUP, 2)] = "creator"
    tg.message("/block @stranger", user=2, chat=GROUP, chat_type="supergroup")
    assert "@stranger is blocked" in (await tg.wait_for("sendMessage"))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say let me talk", user=40, chat=GROUP, chat_type="supergroup", username="Stranger")
    assert "blocked you" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/forget", user=40, chat=40)
    data = (await tg.wait_for("sendMessage", since=n))[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    n = len(tg.calls)
    tg.press(data, {"message_id": 5, "date": 0, "chat": {"id": 40, "type": "private"}, "text": "x"}, user=40)
    assert "deleted" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say let me talk", user=40, chat=GROUP, chat_type="supergroup", username="Stranger")
    assert "blocked you" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]


async def test_unknown_commands_and_plain_text_in_private_get_an_answer_not_in_groups(tg):
    tg.message("/frobnicate", user=50)
    assert "Unknown command /frobnicate" in (await tg.wait_for("sendMessage"))[0].params["text"]
    n = len(tg.calls)
    tg.message("hello bot", user=50)
    assert "/say" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/frobnicate", user=50, chat=GROUP, chat_type="supergroup")  # meant for some other bot
    tg.message("/frobnicate@voice_test_bot", user=50, chat=GROUP, chat_type="supergroup")
    (reply,) = await tg.wait_for("sendMessage", since=n)
    await asyncio.sleep(0.5)
    assert "Unknown command" in reply.params["text"] and len(tg.sent("sendMessage")[n:]) <= 1


async def test_clone_off_in_a_group_is_visible(tg):
    tg.member_status[(GROUP, 2)] = "creator"
    tg.message("/policy set clone off", user=2, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendMessage")
    n = len(tg.calls)
    tg.message("/clone", user=60, chat=GROUP, chat_type="supergroup", language="zh-hans")
    assert "已关闭声音克隆" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]


async def test_clone_deep_link_text_in_the_users_language(tg):
    tg.message("/clone", user=61, chat=GROUP, chat_type="supergroup", language="zh-hans")
    reply = (await tg.wait_for("sendMessage"))[0]
    assert "私聊" in reply.params["text"] and reply.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "打开私聊"


async def test_twenty_members_in_one_group_fit_the_group_limit(tg):
    """Telegram allows ~20 messages a minute per group: lookups and "recording…" must not use it up."""
    tg.group_limit = 20
    for user in range(100, 120):
        tg.message(f"/say Hello from member {user}.", user=user, chat=GROUP, chat_type="supergroup")
    voices = await tg.wait_for("sendVoice", count=20, timeout=180)
    assert len({c.params["caption"] for c in voices}) == 1 and len(voices) == 20
    assert len(tg.sent("getChatAdministrators")) == 1 and not tg.sent("getChatMember")
    assert len(tg.sent("sendChatAction")) <= 10  # one indicator per chat every few seconds, not one per job


async def test_a_chinese_say_is_understood_by_asr(tg):
    from tests.evaluation import cer, transcribe

    text = "我们明天上午去银行办事，然后一起去公园散步。"
    tg.message(f"/say {text}", user=70, language="zh-hans")
    (call,) = await tg.wait_for("sendVoice")
    import io

    import soundfile as sf

    pcm, rate = sf.read(io.BytesIO(call.files["voice"]), dtype="float32")
    edits, chars = cer(text, transcribe(pcm, rate, "zh"))
    assert edits / chars <= 0.2


async def test_the_owner_of_a_shared_voice_hears_of_each_use_and_stops_sharing_with_one_tap(tg, app, engine):
    from bot.storage import Policy
    from tests.bot.conftest import clone

    await clone(app, engine, user="1", platform="telegram")
    await app.store.set_policy(Policy("telegram", str(GROUP), shared_voices_allowed=True))
    tg.message("I am here", user=1, chat=GROUP, chat_type="supergroup", username="alice")  # the bot learns @alice
    tg.message("/share", user=1, chat=GROUP, chat_type="supergroup", username="alice")
    await tg.wait_for("sendMessage")
    n = len(tg.calls)
    tg.message("/share notify on", user=1)
    assert "message you privately" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    n = len(tg.calls)
    tg.message("/say as @alice Good morning, everyone in the group!", user=2, chat=GROUP, chat_type="supergroup")
    await tg.wait_for("sendVoice", since=n)
    notice = next(c for c in (await tg.wait_for("sendMessage", since=n)) if int(c.params["chat_id"]) == 1)
    assert "User2 used your shared voice" in notice.params["text"] and "Good morning" in notice.params["text"]
    button = notice.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Stop sharing there"
    n = len(tg.calls)
    tg.press(button["callback_data"], {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                       "text": notice.params["text"]}, user=1)
    assert "no longer shared there" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
    owner = await app.store.find_user("telegram", "1")
    assert await app.store.shares(owner.id) == []
    n = len(tg.calls)
    tg.message("/say as @alice Again?", user=2, chat=GROUP, chat_type="supergroup")
    assert "has not shared their voice here" in (await tg.wait_for("sendMessage", since=n))[0].params["text"]
