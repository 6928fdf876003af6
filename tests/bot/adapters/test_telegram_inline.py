"""Telegram inline mode through the real PTB Application against the fake Bot API: ``@bot text`` in
any chat → cached voice results made exactly as /say (watermark, audit row), debounced per user."""

import asyncio
import hashlib

import numpy as np

from indextts_core import watermark
from indextts_core.audio import read_audio
from tests.bot.conftest import clone
from tests.bot.core.commands.helpers import spoken_hashes


async def _answer(fake, query_id: str):
    """The answer to query ``query_id`` (waiting for it); exactly one is sent."""
    while not (answers := [c for c in fake.sent("answerInlineQuery") if c.params["inline_query_id"] == query_id]):
        await fake.wait_for("answerInlineQuery", count=len(fake.sent("answerInlineQuery")) + 1, timeout=120)
    assert len(answers) == 1
    return answers[0].params


async def test_inline_offers_the_users_own_voice_and_the_default_one_answering_only_the_last_keystroke(tg, app, engine):
    await clone(app, engine, user="1", platform="telegram")
    tg.inline("hap")
    tg.inline("happy Hello th")
    last = tg.inline("happy Hello there, this is me speaking from inline mode, in my own voice, to everyone in this chat.")
    answer = await _answer(tg, last)
    await asyncio.sleep(1.5)
    assert len(tg.sent("answerInlineQuery")) == 1  # the earlier keystrokes were never answered
    results = answer["results"]
    assert [r["type"] for r in results] == ["voice", "voice"]
    assert [r["title"] for r in results] == ["Your voice", "Default voice"]
    assert answer["is_personal"] and int(answer["cache_time"]) == 0
    uploads = tg.sent("sendVoice")
    assert {int(c.params["chat_id"]) for c in uploads} == {1}  # to the user's own private chat, silently
    assert len(tg.sent("deleteMessage")) == 2  # and removed again: only the file_id was needed
    user = await app.store.find_user("telegram", "1")
    marks = [r[0] for r in await app.db.fetchall("SELECT mark FROM audit_log WHERE user_id=? AND mark IS NOT NULL "
                                                 "ORDER BY id", user.id)][-2:]
    keys = app.commands.services.watermark_keys
    for result, mark in zip(results, marks):
        audio = read_audio(tg.files[result["voice_file_id"]])
        found = watermark.detect(audio.samples, audio.sample_rate, keys)
        # marked, and where the clip is long enough to read the payload, with its own audit row's id
        assert found.marked and found.payload in (None, mark)
    assert len(set(marks)) == 2
    own, default = (read_audio(tg.files[r["voice_file_id"]]).samples for r in results)
    n = min(len(own), len(default))
    assert float(np.corrcoef(own[:n], default[:n])[0, 1]) < 0.5  # two different renderings, not one note twice
    # the same text again (the user reopened inline mode): offered at once, not made again
    again = await _answer(tg, tg.inline("happy Hello there, this is me speaking from inline mode, in my own voice, to everyone in this chat."))
    assert [r["voice_file_id"] for r in again["results"]] == [r["voice_file_id"] for r in results]
    assert len(tg.sent("sendVoice")) == 2


async def test_someone_who_never_started_the_bot_gets_a_start_button_and_nothing_is_made(tg, app):
    tg.not_started.add(7)
    answer = await _answer(tg, tg.inline("Hello from a stranger.", user=7))
    assert answer["results"] == [] and answer["button"]["start_parameter"] == "inline"
    assert "Start me first" in answer["button"]["text"]
    assert not tg.sent("sendVoice") and await app.store.find_user("telegram", "7") is None


async def test_what_say_refuses_is_offered_as_its_message(tg, app):
    answer = await _answer(tg, tg.inline("https://example.com/only-a-link", user=3))
    (result,) = answer["results"]
    assert result["type"] == "article" and "nothing left to say" in result["description"]
    mandarin = "今天天气很好，我们一起去公园散步吧。" * 9  # 153 characters: within Telegram's 256, over a minute spoken
    long = await _answer(tg, tg.inline(mandarin, user=4, language="zh"))
    assert "太长" in long["results"][0]["description"]
    hint = await _answer(tg, tg.inline("", user=5))
    assert hint["results"] == [] and "Type what I should say" in hint["button"]["text"]
    assert not tg.sent("sendVoice")


async def test_say_replying_to_a_caption_a_forwarded_text_or_a_quote_speaks_it(tg, app):
    photo = {"message_id": 77, "date": 0, "chat": {"id": 1, "type": "private", "first_name": "U"},
             "photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}],
             "caption": "A caption under a photo."}
    forwarded = {"message_id": 78, "date": 0, "chat": {"id": 1, "type": "private", "first_name": "U"},
                 "text": "A text someone forwarded here.",
                 "forward_origin": {"type": "hidden_user", "date": 0, "sender_user_name": "Someone"}}
    longer = {**forwarded, "message_id": 79, "text": "Only this part. Not the rest of it."}
    for count, (reply, quote) in enumerate([(photo, None), (forwarded, None), (longer, "Only this part.")], 1):
        tg.message("/say", reply_to=reply, quote=quote)
        await tg.wait_for("sendVoice", count=count)
    expected = ["A caption under a photo.", "A text someone forwarded here.", "Only this part."]
    assert await spoken_hashes(app, "1", platform="telegram") == [hashlib.sha256(t.encode()).hexdigest() for t in expected]


async def test_inline_follows_the_strictest_rule_that_could_apply(tg, app):
    """Inline has no group to ask: a member blocked in any group gets nothing (the same text as
    inline turned off), one person's inline notes are spaced by the inline cooldown, and the
    operator's switches hold."""
    from dataclasses import replace

    group = -100777
    tg.member_status[(group, 2)] = "creator"
    target = tg.message("hi", user=8, chat=group, chat_type="supergroup", username="mallory")
    tg.message("/block", user=2, chat=group, chat_type="supergroup", reply_to=target)
    await tg.wait_for("sendMessage")
    blocked = await _answer(tg, tg.inline("Hello from a blocked member.", user=8))
    (result,) = blocked["results"]
    assert result["type"] == "article" and "can't be made in inline mode" in result["description"]

    first = await _answer(tg, tg.inline("The first inline note of the minute.", user=9))
    assert [r["type"] for r in first["results"]] == ["voice"]
    second = await _answer(tg, tg.inline("And a second one right after it.", user=9))
    assert "Slow down" in second["results"][0]["description"]
    assert len(tg.sent("sendVoice")) == 1

    services = app.commands.services
    services.settings = replace(services.settings, inline=replace(services.settings.inline, enabled=False))
    off = await _answer(tg, tg.inline("Inline is off now.", user=10))
    assert off["results"][0]["description"] == result["description"]  # one text: nobody learns they are blocked
    assert len(tg.sent("sendVoice")) == 1


async def test_the_operator_can_offer_only_the_default_voice_inline(tg, app, engine):
    from dataclasses import replace

    await clone(app, engine, user="1", platform="telegram")
    services = app.commands.services
    services.settings = replace(services.settings, inline=replace(services.settings.inline, own_voice=False))
    answer = await _answer(tg, tg.inline("Only the house voice, please."))
    assert [r["title"] for r in answer["results"]] == ["Voice note"]
    user = await app.store.find_user("telegram", "1")
    owners = [r[0] for r in await app.db.fetchall("SELECT voice_owner_id FROM audit_log WHERE user_id=?", user.id)]
    assert owners[-1:] == [None]
