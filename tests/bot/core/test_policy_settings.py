"""Every policy setting declared once: the usage, /help, Discord's choices and the setter agree."""

import dataclasses

import pytest

from bot.core import policy_settings
from bot.core.errors import BadRequest
from bot.storage import Policy
from tests.bot.conftest import invocation

#: A valid value for each setting (a setting added without one here fails the first test)
EXAMPLES = {"clone": "off", "say": "role", "role": "Speakers", "cooldown": "30", "max_chars": "200", "shared": "on",
            "quota": "600", "member_quota": "60", "read_aloud": "here", "voice_idle": "120", "leave_alone": "off"}


def test_every_policy_field_has_a_setting_and_every_setting_is_announced():
    names = [s.name for s in policy_settings.SETTINGS]
    assert sorted(names) == sorted(EXAMPLES)
    inv = invocation("policy", role_names={"42": "Speakers"}, voice=object(), channel="777")
    before = Policy("test", "g1")
    after = before
    for name in names:
        after = policy_settings.apply_setting(after, name, EXAMPLES[name], inv)
    changed = {f.name for f in dataclasses.fields(Policy) if getattr(after, f.name) != getattr(before, f.name)}
    assert changed == {f.name for f in dataclasses.fields(Policy)} - {"platform", "server_id"}
    usage_en, usage_zh = policy_settings.usage()
    help_en, help_zh = policy_settings.help_text(voice=True)
    for name in names:
        assert f" {name} " in usage_en and f" {name} " in usage_zh and name in help_en and name in help_zh
    assert "read_aloud" not in policy_settings.help_text(voice=False)[0]


def test_an_unknown_setting_or_a_voice_setting_without_voice_channels_is_refused_by_name():
    inv = invocation("policy")
    with pytest.raises(BadRequest, match="leave_alone") as unknown:
        policy_settings.apply_setting(Policy("test", "g1"), "volume", "11", inv)
    assert "voice_idle" in unknown.value.message("zh")
    with pytest.raises(BadRequest, match="Discord servers"):
        policy_settings.apply_setting(Policy("test", "g1"), "voice_idle", "60", inv)
