"""Small drivers shared by the command-family tests."""

from __future__ import annotations

from tests.bot.conftest import RecordingResponder, invocation


async def run(app, command: str, args: str = "", out: RecordingResponder | None = None, **kw) -> RecordingResponder:
    out = out or RecordingResponder()
    await app.commands.handle(invocation(command, args, **kw), out)
    return out


async def say(app, args: str, **kw) -> RecordingResponder:
    return await run(app, "say", args, **kw)


async def press(app, out: RecordingResponder, label_index: int = 0, *, reply_index: int = -1, **kw) -> RecordingResponder:
    """Press a button of a reply in ``out`` (by default the last one), as ``kw`` describes the presser."""
    data = out.replies[reply_index].buttons[label_index].data
    await app.commands.handle(invocation("button", data, **kw), out)
    return out


async def spoken_hashes(app, user: str, platform: str = "test") -> list[str]:
    """sha256 of every text spoken for ``user``, in order (the audit log)."""
    row = await app.store.find_user(platform, user)
    return [r[0] for r in await app.db.fetchall("SELECT text_sha256 FROM audit_log WHERE user_id=? ORDER BY id", row.id)]
