"""The CLI contract: exit codes, one-line errors, printed duration, real files."""

import subprocess
import sys

import pytest

from indextts_core.audio import ogg_opus_info
from tests.conftest import wav_bytes


def run(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "indextts_core", *args], capture_output=True, text=True, timeout=timeout)


def _one_line_error(proc):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    return lines[0]


def test_say_writes_a_voice_note_and_prints_its_duration(tmp_path):
    out = tmp_path / "a.ogg"
    proc = run("say", "I can not believe it!", "--emotion", "愤怒", "--intensity", "0.7", "--seconds", "1.2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    info = ogg_opus_info(out.read_bytes())
    assert abs(info.duration - 1.2) <= 0.02
    assert proc.stdout.strip().endswith(f"{info.duration:.3f} s")
    assert info.tags["DESCRIPTION"] == "synthetic speech"


def test_clone_then_say_with_profile(tmp_path, reference_clip):
    ref = tmp_path / "me.wav"
    ref.write_bytes(wav_bytes(reference_clip, 22050))
    prof = tmp_path / "me.voice"
    assert run("clone", str(ref), "--out", str(prof)).returncode == 0
    proc = run("say", "hello from my voice", "--voice", str(prof), "--emotion-vector", "0", "0", "0", "0", "0", "0", "1", "0",
               "--ratio", "1.1", "--out", str(tmp_path / "b.ogg"))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args,message", [
    (["say", "hi", "--ratio", "2", "--out", "x.ogg"], "between 0.75 and 1.25"),
    (["say", "hi", "--emotion", "grumpy", "--out", "x.ogg"], "Unknown emotion"),
    (["say", "hi", "--intensity", "0.5", "--out", "x.ogg"], "--intensity goes with --emotion"),
    (["say", "hi", "--emotion-text", "?!", "--out", "x.ogg"], "could not find an emotion"),
    (["say", "!!!", "--out", "x.ogg"], "nothing left to say"),
    (["say", "https://example.com 😀", "--out", "x.ogg"], "nothing left to say"),
    (["say", "!!!", "--raw", "--out", "x.ogg"], "nothing to say"),
    (["say", "こんにちは", "--out", "x.ogg"], "Japanese kana"),
    (["say", "hi", "--voice", "nope.voice", "--out", "x.ogg"], "does not exist"),
    (["say", "hi"], "required"),
    (["clone", "missing.wav", "--out", "p"], "does not exist"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "indextts_core", *args], capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert message in _one_line_error(proc)


def test_clone_rejects_corrupt_and_silent_clips(tmp_path):
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS" + b"\x00" * 200)
    assert "could not be read" in _one_line_error(run("clone", str(bad), "--out", str(tmp_path / "p")))
    silent = tmp_path / "silent.wav"
    import numpy as np
    silent.write_bytes(wav_bytes(np.zeros(22050 * 5, np.float32), 22050))
    assert "could not hear any speech" in _one_line_error(run("clone", str(silent), "--out", str(tmp_path / "p")))
    assert not (tmp_path / "p").exists()


def test_inspect_shows_normalised_text_runs_and_pinyin():
    proc = run("inspect", "银行[yín xíng]有5个人. Hello!")
    assert proc.returncode == 0, proc.stderr
    assert "normalized: 银行有五个人. Hello!" in proc.stdout
    assert "行=xing2*" in proc.stdout and "五=wu3" in proc.stdout
    assert "phonemes: " in proc.stdout


def test_the_indextts_engine_takes_its_options_on_the_command_line(tmp_path, tiny_model_dir, reference_clip):
    ref = tmp_path / "me.wav"
    ref.write_bytes(wav_bytes(reference_clip, 22050))
    opts = ["--engine", "indextts", "--option", f"model_dir={tiny_model_dir}", "--option", "seed=3",
            "--option", "diffusion_steps=4"]
    proc = run(*opts, "clone", str(ref), "--out", str(tmp_path / "me.voice"))
    assert proc.returncode == 0 and "indextts 2.5-onnx/" in proc.stdout and "similarity" not in proc.stdout, proc.stderr
    proc = run(*opts, "say", "Hello from the real engine.", "--voice", str(tmp_path / "me.voice"), "--seconds", "4",
               "--out", str(tmp_path / "b.ogg"))
    assert proc.returncode == 0, proc.stderr
    assert abs(ogg_opus_info((tmp_path / "b.ogg").read_bytes()).duration - 4.0) <= 0.02
    proc = run("--engine", "indextts", "--option", "seed=-2", "say", "hi", "--out", str(tmp_path / "c.ogg"))
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == ["error: engine.seed must be a whole number of 0 or more (got -2)"]
