"""`python -m bot` with no token: the console chat driven through stdin, as a user would script it."""

import subprocess
import sys
import time
from pathlib import Path

from indextts_core.audio import ogg_opus_info


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\nconsent_mode = "spoken"\nconsole_output_dir = "{tmp_path / "out"}"\n'
                   'preload_clone_models = false\n')
    return cfg


def _env():
    import os

    env = dict(os.environ)
    env.pop("TELEGRAM_TOKEN", None)
    env.pop("DISCORD_TOKEN", None)
    return env


def test_piped_say_writes_a_voice_note(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(_config(tmp_path))],
                          input="/say angry 0.6 hello there, how are you?\n/say 😀😀\n", capture_output=True, text=True,
                          timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("voice note: "))
    path = Path(line.split("voice note: ")[1].split(" (")[0])
    assert abs(ogg_opus_info(path.read_bytes()).duration - float(line.split("(")[1].split(" s)")[0])) < 0.01
    assert "nothing left to say" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_interactive_clone_then_forget(tmp_path, engine):
    from tests.bot.conftest import spoken

    proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(_config(tmp_path))], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())

    def send(line):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    def read_until(pred, limit=240):
        deadline = time.time() + limit
        lines = []
        while time.time() < deadline:
            ln = proc.stdout.readline()
            if not ln:
                break
            lines.append(ln.rstrip("\n"))
            if pred(lines[-1]):
                return lines
        raise AssertionError("\n".join(lines))

    try:
        send("/clone")
        read_until(lambda s: s.strip().startswith("[1] I agree"))
        send("1")
        sentence = read_until(lambda s: s.startswith("I agree that my voice"))[-1]
        for attempt in range(3):
            clip = tmp_path / f"consent{attempt}.ogg"
            clip.write_bytes(spoken(engine, sentence, pitch_hz=170.0 + 25 * attempt))
            send(f"/clone {clip}")
            # A retake follows a misheard code, a sentence read unlike it, or a chance match with the mark's key.
            last = read_until(lambda s: s.startswith("voice note: ") or any(w in s for w in ("code", "match", "watermark")))[-1]
            if last.startswith("voice note: "):
                break
        assert last.startswith("voice note: ")
        assert not list((tmp_path / "data" / "uploads").glob("*"))
        send("/voice")
        assert "Your voice: made" in read_until(lambda s: s.startswith("Your voice"))[-1]
        send("/forget")
        read_until(lambda s: "[1] Yes" in s)
        send("1")
        read_until(lambda s: s.startswith("Done"))
        send("/voice")
        read_until(lambda s: s.startswith("You have no voice"))
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    import sqlite3
    con = sqlite3.connect(tmp_path / "data" / "bot.sqlite3")
    assert con.execute("SELECT COUNT(*) FROM voices").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM consents").fetchone()[0] == 0
