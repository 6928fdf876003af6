"""``python -m bot`` as an operator runs it: real process, real signals, logs read back."""

import asyncio
import os
import signal
import sys

import pytest

from tests.fakes.telegram_api import TOKEN, FakeTelegram


async def test_sigterm_finishes_the_request_in_progress_and_the_token_is_never_logged(tmp_path):
    fake = await FakeTelegram().start()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\npreload_clone_models = false\n'
                   f'[telegram]\nbase_url = "{fake.base_url}"\nbase_file_url = "{fake.base_file_url}"\n')
    env = {**os.environ, "TELEGRAM_TOKEN": TOKEN}
    env.pop("DISCORD_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "-v", "--config", str(cfg), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for("setMyCommands", 2, timeout=120)
        fake.message("/say " + "This sentence is long enough to still be in the making when the signal arrives. " * 3)
        await fake.wait_for("sendChatAction", timeout=60)  # the job is running now
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
        await fake.stop()
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    voices = fake.sent("sendVoice")  # drained: every part went out before the process ended
    assert voices and f"part {len(voices)}/{len(voices)}" in voices[-1].params.get("caption", "")
    assert "HTTP Request" in log and "[REDACTED]" in log  # request URLs were logged ...
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # ... without the token
    assert "Traceback" not in log


def test_redaction_covers_token_shapes_it_was_not_told_about():
    from bot.logsafe import redact

    line = "GET https://api.telegram.org/bot987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/getMe"
    assert redact(line) == "GET https://api.telegram.org/bot[REDACTED]/getMe"
    discord = "Authorization: Bot " + "M" + "x" * 25 + ".GaBcDe." + "y" * 38
    assert "[REDACTED]" in redact(discord) and "yyyy" not in redact(discord)
    assert redact("secret-abc in a url", ["secret-abc"]) == "[REDACTED] in a url"


async def _console_bot(tmp_path, bot_extra: str, stdin: int, before: str = "",
                       consent: str = "button") -> asyncio.subprocess.Process:
    """``python -m bot`` with no tokens (the console chat), ``consent`` mode, ``bot_extra`` in [bot]."""
    cfg = tmp_path / "c.toml"
    button = "i_understand_anyone_can_clone_anyone = true\n" if consent == "button" else ""
    cfg.write_text(f'{before}[bot]\ndata_dir = "{tmp_path / "data"}"\nconsent_mode = "{consent}"\n{button}'
                   f'preload_clone_models = false\n{bot_extra}')
    env = dict(os.environ)
    env.pop("TELEGRAM_TOKEN", None)
    env.pop("DISCORD_TOKEN", None)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--config", str(cfg), env=env, stdin=stdin,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_ctrl_c_at_the_console_prompt_exits_at_once(tmp_path):
    proc = await _console_bot(tmp_path, f'console_output_dir = "{tmp_path / "out"}"\n', asyncio.subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stdout.readline(), 120)
        assert b"local console" in banner
        proc.send_signal(signal.SIGINT)  # stdin stays open: the prompt is waiting for a line
        await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
    err = (await proc.stderr.read()).decode()
    assert proc.returncode == 0 and "Traceback" not in err


async def test_missing_indextts_weights_stop_start_up_with_one_line(tmp_path):
    pytest.importorskip("index_tts_2_5_onnx", reason="the indextts extra is not installed")
    engine = f'[engine]\nname = "indextts"\nmodel_dir = "{tmp_path / "no-weights"}"\n'
    proc = await _console_bot(tmp_path, "", asyncio.subprocess.DEVNULL, before=engine, consent="spoken")
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    lines = [line for line in err.decode().splitlines() if line.strip() and not line.startswith(("INFO", "WARNING"))]
    assert proc.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("cannot start: The IndexTTS-2.5 folder") and "model_dir" in lines[0]
    assert "Traceback" not in err.decode()


async def test_sighup_applies_new_rollout_rules_and_keeps_the_old_ones_when_the_file_is_bad(tmp_path):
    proc = await _console_bot(tmp_path, f'console_output_dir = "{tmp_path / "out"}"\n', asyncio.subprocess.PIPE)
    cfg = tmp_path / "c.toml"

    async def ask(line: str) -> str:
        proc.stdin.write(line.encode() + b"\n")
        await proc.stdin.drain()
        while True:
            reply = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if reply.strip().lstrip("> "):
                return reply

    try:
        assert b"local console" in await asyncio.wait_for(proc.stdout.readline(), 120)
        assert "from now on" in await ask("/engine default")
        cfg.write_text(cfg.read_text() + "[rollout]\nuser_choice = false\n")
        proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(1.0)
        assert "turned off" in await ask("/engine default")
        cfg.write_text(cfg.read_text().replace("user_choice = false", "user_choice = true\npercent = 500"))
        proc.send_signal(signal.SIGHUP)  # a bad file: logged, the running rules stay
        await asyncio.sleep(1.0)
        assert "turned off" in await ask("/engine default")
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
    err = (await proc.stderr.read()).decode()
    assert "config not reloaded" in err and "rollout.percent" in err and "Traceback" not in err
    assert "rollout changed by reload: user_choice: True → False" in err  # every change said, old → new


#: ``python -m bot`` with parts made to hang: the cloning models never finish loading, or a note
#: never finishes rendering (what a stop must not wait for, or must be able to abandon).
_HANGING = r"""
import sys, threading
import bot.app, bot.core.tasks
from bot.__main__ import main
if "preload" in sys.argv[1]:
    bot.app.load_clone_models = lambda runtime: threading.Event().wait()
if "render" in sys.argv[1]:
    bot.core.tasks.Runtime.render = lambda self, task: threading.Event().wait()
sys.exit(main(["--config", sys.argv[2]]))
"""


async def _hanging_bot(tmp_path, hang: str) -> asyncio.subprocess.Process:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\nconsent_mode = "button"\n'
                   f'i_understand_anyone_can_clone_anyone = true\npreload_clone_models = true\n'
                   f'console_output_dir = "{tmp_path / "out"}"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_TOKEN", "DISCORD_TOKEN")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _HANGING, hang, str(cfg), env=env,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    banner = await asyncio.wait_for(proc.stdout.readline(), 120)
    assert b"local console" in banner
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_stop_does_not_wait_for_the_cloning_models_still_loading(tmp_path, sig):
    proc = await _hanging_bot(tmp_path, "preload")
    try:
        proc.send_signal(sig)
        await asyncio.wait_for(proc.wait(), 20)  # the load never ends: waiting for it would never exit
    finally:
        if proc.returncode is None:
            proc.kill()
    err = (await proc.stderr.read()).decode()
    assert proc.returncode == 0 and "stopping" in err and "Traceback" not in err


async def test_a_stop_says_what_it_finishes_and_a_second_ctrl_c_stops_at_once(tmp_path):
    proc = await _hanging_bot(tmp_path, "render")
    try:
        proc.stdin.write(b"/say hello there\n")
        await proc.stdin.drain()
        while b"working on it" not in await asyncio.wait_for(proc.stdout.readline(), 60):
            pass  # the note is being made (and never will be)
        proc.send_signal(signal.SIGINT)
        said = b""
        while b"stopping" not in said:  # (after the log lines of start-up)
            said = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert b"stopping: finishing 1 request(s)" in said, said
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 130


async def _bot_with_telegram(tmp_path, base_url: str, token: str) -> asyncio.subprocess.Process:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\nconsent_mode = "button"\n'
                   f'i_understand_anyone_can_clone_anyone = true\npreload_clone_models = false\n'
                   f'[telegram]\nbase_url = "{base_url}"\n')
    env = {**os.environ, "TELEGRAM_TOKEN": token}
    env.pop("DISCORD_TOKEN", None)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--config", str(cfg), env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_telegram_unreachable_or_a_refused_token_is_one_line_and_exit_2(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    fake = await FakeTelegram().start()
    try:
        cases = [(f"http://127.0.0.1:{closed}/bot", TOKEN, "cannot reach Telegram"),
                 (fake.base_url, "999:REVOKED-TOKEN", "Telegram refused TELEGRAM_TOKEN")]
        for base_url, token, said in cases:
            proc = await _bot_with_telegram(tmp_path, base_url, token)
            _, raw = await asyncio.wait_for(proc.communicate(), 180)
            err = raw.decode()
            lines = [line for line in err.splitlines() if "cannot start" in line]
            assert proc.returncode == 2 and len(lines) == 1 and said in lines[0], err[-2000:]
            assert "Traceback" not in err and token not in err
        proc = await _bot_with_telegram(tmp_path, fake.base_url, TOKEN)  # a good token says whom it joined as
        try:
            await fake.wait_for("setMyCommands", 2, timeout=120)
            proc.send_signal(signal.SIGTERM)
            _, raw = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
    finally:
        await fake.stop()
    assert proc.returncode == 0 and "connected to Telegram as @" in raw.decode()
