"""Every message a user can read exists in English and Chinese.

A static check over the sources, so a new message without a Chinese version fails here before any
user meets it:

* every ``raise`` of an error a user sees (the core's input, reference and profile errors, the
  bot's refusals) passes a Chinese text as well, and a literal one contains Chinese;
* every ``tr(lang, en, zh)`` has Chinese in its ``zh`` literal;
* the command layer and the adapters never send a bare English literal to a chat.

Operator-facing errors (configuration, missing packages, storage) and the English-only CLI are out
of scope: people who run the bot read those, not its users.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import bot.core.errors as bot_errors
import indextts_core.errors as core_errors

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
OPERATOR_ONLY = {"EngineConfigError", "EngineUnavailableError", "IndexTTSError"}
CLI = {ROOT / "indextts_core" / "__main__.py"}


def _user_error_names() -> set[str]:
    names = set()
    for module, base in ((core_errors, core_errors.IndexTTSError), (bot_errors, bot_errors.BotError)):
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, base) and name not in OPERATOR_ONLY:
                names.add(name)
    return names


USER_ERRORS = _user_error_names()


def _sources() -> list[Path]:
    files = sorted((ROOT / "indextts_core").rglob("*.py")) + sorted((ROOT / "bot").rglob("*.py"))
    return [f for f in files if f not in CLI]


def _literal(node: ast.AST) -> str | None:
    """The text of a string literal or f-string (placeholders dropped); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _problems(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc.func) in USER_ERRORS:
            call = node.exc
            if any(isinstance(a, ast.Starred) for a in call.args):
                continue  # raise BadRequest(*PAIR): the pair is checked where it is defined
            if not call.args and not call.keywords:  # an error that carries its own fixed text: read it
                error = getattr(bot_errors, _name(call.func), None) or getattr(core_errors, _name(call.func))
                try:
                    zh_text = error().message("zh")
                except TypeError:
                    zh_text = ""
                if not CJK.search(zh_text):
                    found.append(f"{where}:{node.lineno}: {_name(call.func)} without a Chinese message")
                continue
            zh = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "zh"), None)
            text = _literal(zh) if zh is not None else None
            if zh is None or (text is not None and not CJK.search(text)):
                found.append(f"{where}:{node.lineno}: {_name(call.func)} without a Chinese message")
        if isinstance(node, ast.Call) and _name(node.func) == "tr" and len(node.args) == 3:
            text = _literal(node.args[2])
            if text is not None and not CJK.search(text):
                found.append(f"{where}:{node.lineno}: tr() whose Chinese text has no Chinese")
        if (isinstance(node, ast.Call) and _name(node.func) in {"text", "reply_text", "send_message", "send"}
                and node.args and "bot" in where.parts[:1]):
            text = _literal(node.args[0])
            if text is not None and re.search(r"[A-Za-z]{3}", text) and not CJK.search(text):
                found.append(f"{where}:{node.lineno}: an English-only literal sent to a chat")
    return found


def test_the_check_finds_a_message_without_chinese(tmp_path):
    """The check itself works: an English-only refusal in a fake bot module is reported."""
    module = tmp_path / "bot" / "fake.py"
    module.parent.mkdir()
    module.write_text("def f(out, lang):\n"
                      "    raise BadRequest('No.')\n"
                      "    tr(lang, 'Yes', 'Yes')\n"
                      "    out.text('Hello there')\n")
    assert len(_problems(module, tmp_path)) == 3


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_user_message_has_a_chinese_version(path):
    assert _problems(path) == []


def test_paired_messages_have_chinese():
    """Message pairs kept as constants (``POLICY_USAGE`` …) and used as ``tr(lang, *PAIR)``."""
    from bot.core.commands import admin, clone, info

    pairs = [admin.POLICY_USAGE, *clone.WHERE_TO_RECORD.values()]
    pairs += [p for p in vars(info).values() if isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)]
    assert pairs
    for en, zh in pairs:
        assert CJK.search(zh) and not CJK.search(en), (en, zh)


def test_every_declared_command_has_both_languages():
    """Menus, Discord descriptions and /help are made from the specs: each text has its Chinese twin."""
    from bot.core.commands import CATALOG

    for spec in CATALOG.commands():
        pairs = [spec.summary] + [p for entry in (spec.text_help, spec.discord_help) if entry
                                  for p in (entry.usage, entry.details) if p[0]]
        for en, zh in pairs:
            assert CJK.search(zh) or zh == en, (spec.name, zh)  # "policy | set": command names only
            assert re.search(r"[A-Za-z]{3}", en) and len(spec.summary[0]) <= 100, (spec.name, en)
