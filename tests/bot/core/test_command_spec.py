"""The command catalog: one declaration per command, and the command layer holds it to that."""

import pytest

from bot.core.command_spec import Access, CommandCatalog, CommandSpec, HelpEntry, catalog
from bot.core.commands import CATALOG, CommandLayer


def test_a_command_declared_twice_is_refused():
    with pytest.raises(ValueError, match="/say"):
        catalog([(CommandSpec("say", Access.SPEAK, ("a", "甲")),), (CommandSpec("say", Access.OPEN, ("b", "乙")),)])


@pytest.mark.parametrize("change", ["spec without handler", "handler without spec"])
async def test_the_command_layer_refuses_specs_and_handlers_that_disagree(app, change):
    specs = list(CATALOG.specs)
    if change == "spec without handler":
        specs.append(CommandSpec("frobnicate", Access.OPEN, ("Frobnicate", "摆弄")))
    else:
        specs = [s for s in specs if s.name != "usage"]
    with pytest.raises(RuntimeError, match="frobnicate" if change == "spec without handler" else "usage"):
        CommandLayer(app.store, app.engine, app.jobs, catalog=CommandCatalog(tuple(specs)))


@pytest.mark.parametrize("variant", ["telegram", "discord"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_help_lists_every_command_that_declares_help_for_that_client(variant, lang):
    text = CATALOG.help_text(variant, lang)
    zh = lang == "zh"
    for spec in CATALOG.commands():
        entry = spec.help_for(variant)
        if entry is not None:
            assert entry.usage[zh] in text and entry.details[zh] in text, spec.name
    assert text.count("\n") >= 8


def test_a_new_command_reaches_menus_and_help_from_its_spec_alone():
    new = CommandSpec("weather", Access.OPEN, ("Today's weather", "今天的天气"),
                      text_help=HelpEntry(("/weather — today's weather", "/weather —— 今天的天气")))
    extended = CommandCatalog(CATALOG.specs + (new,))
    assert "/weather — today's weather" in extended.help_text("telegram", "en")
    assert new in extended.menu("telegram", admin=False) and new in extended.menu("console", admin=False)
    assert "/weather" not in extended.help_text("discord", "en")  # no Discord help declared for it
