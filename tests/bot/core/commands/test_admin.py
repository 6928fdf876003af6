"""Admin commands: policy, blocks (also of people the bot has never seen), trust, purge."""

import io

import numpy as np
import pytest
from PIL import Image

from bot.core import usage_chart
from bot.core.notes import estimate_seconds
from tests.bot.conftest import invocation
from tests.bot.core.commands.helpers import run, say


async def test_group_policy_enforced_and_admin_managed(app):
    assert "Only admins" in (await run(app, "policy", "set say admins")).last.text
    out = await run(app, "policy", "set say admins", user="boss", admin=True)
    assert "say (who may speak): admins" in out.last.text
    assert "only admins can make the bot speak" in (await say(app, "hello")).last.text
    assert (await say(app, "hello", user="boss", admin=True)).last.kind == "voice"
    assert "between 0 and 3600" in (await run(app, "policy", "set cooldown 99999", user="boss", admin=True)).last.text


async def test_block_someone_the_bot_has_never_seen_by_handle(app):
    out = await run(app, "block", "@stranger", user="boss", admin=True)
    assert "@stranger is blocked" in out.last.text
    assert await app.store.find_user("test", "s1") is None  # nothing stored about the stranger
    assert "blocked you" in (await say(app, "hello", user="s1", handle="@Stranger")).last.text
    assert (await say(app, "hello", user="s2", handle="@someone")).last.kind == "voice"
    await run(app, "unblock", "@stranger", user="boss", admin=True)
    assert (await say(app, "hello", user="s1", handle="@stranger")).last.kind == "voice"


async def test_admins_cannot_be_blocked_and_nobody_blocks_themselves(app):
    assert "blocked from" in (await run(app, "block", "@mod", user="boss", admin=True, mentions={"@mod": "mod"})).last.text
    inv = invocation("block", "@mod2", user="boss", admin=True, mentions={"@mod2": "mod2"})
    inv.admin_mentions = frozenset({"@mod2"})
    out = await run(app, "policy")  # any responder
    await app.commands.handle(inv, out)
    assert "can't be blocked" in out.last.text
    assert not await app.store.is_blocked("test", "g1", ("mod2",))
    assert "yourself" in (await run(app, "block", "@boss", user="boss", admin=True, mentions={"@boss": "boss"})).last.text


async def test_replies_name_members_by_name(app):
    inv = invocation("block", "@42", user="boss", admin=True, mentions={"@42": "42"})
    inv.names = {"@42": "Alice Smith"}
    out = await run(app, "policy", user="boss", admin=True)
    await app.commands.handle(inv, out)
    assert out.last.text == "Alice Smith is blocked from the voice bot here."


async def test_say_role_by_typed_name_resolves_and_shows_the_name(app):
    roles = {"555": "Speakers", "556": "Mods"}
    out = await run(app, "policy", "set role speakers", user="boss", admin=True, role_names=roles)
    assert "(Speakers)" in out.last.text and "555" not in out.last.text
    await run(app, "policy", "set say role", user="boss", admin=True, role_names=roles)
    assert "only members with the allowed role" in (await say(app, "hello", user="m1")).last.text
    assert (await say(app, "hello", user="m2", roles=("555",))).last.kind == "voice"
    assert "no role named 'DJs'" in (await run(app, "policy", "set role DJs", user="boss", admin=True, role_names=roles)).last.text


async def test_roles_on_a_platform_without_roles_point_to_trust(app):
    assert "/trust" in (await run(app, "policy", "set role Speakers", user="boss", admin=True)).last.text


async def test_trust_needs_a_known_member_and_purge(app):
    assert "reply to one of their messages" in (await run(app, "trust", "@ghost", user="boss", admin=True)).last.text
    await run(app, "policy", "set say role", user="boss", admin=True)
    assert (await say(app, "hi", user="t1")).last.kind == "text"
    await run(app, "trust", "@t1", user="boss", admin=True, mentions={"@t1": "t1"})
    assert (await say(app, "hi", user="t1")).last.kind == "voice"
    assert "deleted" in (await run(app, "purge", "@t1", user="boss", admin=True, mentions={"@t1": "t1"})).last.text
    row = await app.store.find_user("test", "t1")
    assert await app.store.last_generation(row.id, "test", "g1") is None


async def test_usage_shows_this_servers_last_30_days_per_member_and_engine(app):
    assert "Only admins" in (await run(app, "usage", user="bob")).last.text
    assert "No voice notes here" in (await run(app, "usage", user="boss", admin=True)).last.text
    for who, text in (("bob", "Hello there, friends."), ("bob", "And once more."), ("carol", "Good evening.")):
        assert (await say(app, text, user=who)).last.kind == "voice"
    await say(app, "Somewhere else entirely.", user="bob", server="g2")
    shown = await run(app, "usage", user="boss", admin=True)
    report, chart = shown.replies[-2].text, shown.last
    assert "3 voice notes" in report
    by_member = report.split("By member:")[1].split("By engine:")[0]
    assert by_member.index("user bob: 2 notes") < by_member.index("user carol: 1 note,")  # most speech first
    assert f"{app.engine.name}: 3 notes" in report.split("By engine:")[1]
    members, engines = await app.store.usage("test", "g1", 0)
    assert sum(r.characters for r in members) == len("Hello there, friends.") + len("And once more.") + len("Good evening.")
    assert all(r.compute_s > 0 and r.audio_s > 0 and r.wait_s >= 0 for r in engines)
    await app.store.forget((await app.store.find_user("test", "bob")).id)
    after = (await run(app, "usage", user="boss", admin=True)).replies[-2].text
    assert "3 voice notes" in after and "a deleted account: 2 notes" in after  # the server's record, unlinked
    # the chart: today's bar in the first engine's colour, nothing on the other days
    assert chart.kind == "image" and "Minutes of speech per day" in chart.text
    image = Image.open(io.BytesIO(chart.ogg)).convert("RGB")
    assert image.size == (usage_chart.WIDTH, usage_chart.HEIGHT)
    pixels = np.asarray(image)
    bar = np.all(pixels == usage_chart.PALETTE[0], axis=2)
    columns = np.flatnonzero(bar[: usage_chart.HEIGHT - usage_chart.BOTTOM].any(axis=0))
    assert columns.size and columns.min() > usage_chart.WIDTH * 0.9  # one bar, at the right: today


ONE_MORE = "And here is one more sentence for you."


async def test_daily_speech_quotas_per_member_and_per_server(app):
    out = await run(app, "policy", "set member_quota 3", user="boss", admin=True)
    assert "daily speech quota (server / member): off / 3 s" in out.last.text
    assert (await say(app, "Hello there, this uses up my allowance.", user="bob")).last.kind == "voice"
    spent = (await app.store.spend.spent("member:test:g1:bob")).audio_s
    members, _ = await app.store.usage("test", "g1", 0)
    assert spent == pytest.approx(sum(r.audio_s for r in members)) and spent > 3 - estimate_seconds(ONE_MORE)
    # what is left does not hold this text: refused before anything is made, saying what is left
    refused = (await say(app, ONE_MORE, user="bob")).last
    assert refused.kind == "text" and "Your daily voice allowance here (3 s of speech)" in refused.text
    assert f"has {round(3 - spent)} s left today" in refused.text or "is used up" in refused.text
    assert (await say(app, "Someone else may still speak.", user="carol")).last.kind == "voice"
    assert (await say(app, "Elsewhere bob is not limited.", user="bob", server="g2")).last.kind == "voice"
    members, _ = await app.store.usage("test", "g1", 0)
    spoken = sum(r.audio_s for r in members)
    await run(app, "policy", f"set quota {int(spoken)}", user="boss", admin=True)
    await run(app, "policy", "set member_quota off", user="boss", admin=True)
    full = (await say(app, "The whole server is out of speech today.", user="dave")).last
    assert full.kind == "text" and "daily voice allowance" in full.text and "renews at 00:00 UTC" in full.text
    assert "needs seconds of speech" in (await run(app, "policy", "set quota lots", user="boss", admin=True)).last.text
