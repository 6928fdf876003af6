"""The IndexTTS-2.5 backend running the real ``index-tts-2.5-onnx`` code on a tiny random-weight model.

The audio is noise; everything around it is real: the package's feature extraction, tokenizer,
GPT sampling loop, CFM solver and vocoder call, our profile bytes, emotion paths and exact length.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pytest

from indextts_core import load_engine
from indextts_core.audio import encode_ogg_opus
from indextts_core.backends.indextts import PROFILE_ARRAYS, model_text
from indextts_core.emotion import PRESETS
from indextts_core.engine import DurationSpec, EmotionSpec, VoiceProfile
from indextts_core.errors import (
    EngineConfigError, EngineUnavailableError, NoSpeechError, ProfileError, ProfileVersionError, TextError,
)
from indextts_core.frontend import analyze
from tests.conftest import speech_clip, wav_bytes
from tests.probe import probe

pytest.importorskip("index_tts_2_5_onnx", reason="the indextts extra is not installed")

TEXT = "Hello there, this is the real engine. It reads two sentences."
RATE = 22050


def loudness_lufs(samples: np.ndarray, rate: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


@pytest.fixture(scope="module")
def other_speaker(engine) -> np.ndarray:
    return speech_clip(engine, "We walked down to the harbour after lunch and watched the old fishing boats come slowly in "
                               "with the tide, one after another.", pitch_hz=120.0, formant=0.9)


@pytest.fixture(scope="module")
def profile(itts, reference_clip) -> VoiceProfile:
    return itts.create_voice(wav_bytes(reference_clip, RATE))


def _npz(payload: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_a_profile_holds_the_models_conditioning_and_names_model_and_package(itts, profile, reference_clip):
    again = VoiceProfile.from_bytes(profile.to_bytes())
    assert (again.engine, again.version) == ("indextts", itts.version)
    assert itts.version.startswith("2.5-onnx/0.1.0/")  # implementation / package version / weights fingerprint
    arrays = _npz(again.payload)
    assert sorted(arrays) == sorted(PROFILE_ARRAYS)  # conditioning only: no samples of the recording
    assert arrays["conds"].shape == (1, 3, 1280) and arrays["style"].shape == (1, 192)
    assert arrays["ref_mel"].shape[1] == 80 and arrays["prompt_condition"].shape[1] == arrays["ref_mel"].shape[2]
    assert again.meta["reference_seconds"] == pytest.approx(len(reference_clip) / RATE, abs=0.05)


def test_the_conditioning_comes_from_the_clip(itts, profile, reference_clip, other_speaker):
    same = _npz(itts.create_voice(wav_bytes(reference_clip, RATE)).payload)
    other = _npz(itts.create_voice(wav_bytes(other_speaker, RATE)).payload)
    mine = _npz(profile.payload)
    np.testing.assert_array_equal(same["style"], mine["style"])
    assert not np.allclose(other["style"], mine["style"])
    assert not np.allclose(other["conds"], mine["conds"])


def test_speech_is_an_ogg_opus_voice_note_of_its_length(itts, profile):
    result = itts.synthesize(TEXT, voice=profile)
    assert result.sample_rate == RATE and result.engine == "indextts" and len(result.segments) == 2
    assert 1.0 < result.duration < 20 and np.abs(result.samples).max() > 0.01
    seen = probe(encode_ogg_opus(result.samples, result.sample_rate))
    assert (seen.container, seen.codec) == ("ogg", "opus")
    assert seen.duration == pytest.approx(result.duration, abs=0.03)


def test_a_fixed_seed_repeats_and_the_voice_matters(itts, profile):
    a = itts.synthesize(TEXT, voice=profile).samples
    b = itts.synthesize(TEXT, voice=profile).samples
    default = itts.synthesize(TEXT).samples
    np.testing.assert_array_equal(a, b)
    assert len(a) != len(default) or not np.allclose(a, default)


def test_progress_is_reported_per_sentence(itts, profile):
    calls = []
    itts.synthesize(TEXT, voice=profile, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]


@pytest.mark.parametrize("name", ["angry", "sad"])
def test_presets_act_through_prosody_shaping(itts, profile, name):
    """Rate through the model's speed factor (length), loudness by the preset's gain."""
    neutral = itts.synthesize(TEXT, voice=profile)
    shaped = itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(preset=name))
    p = PRESETS[name]
    assert np.sign(shaped.natural_seconds - neutral.natural_seconds) == np.sign(1 - p.rate)
    gain = loudness_lufs(shaped.samples, RATE) - loudness_lufs(neutral.samples, RATE)
    assert np.sign(gain) == np.sign(p.energy_db) and abs(gain) > 1.0


def test_a_vector_is_its_mix_of_presets_and_a_description_goes_through_the_text_mapping(itts, profile):
    preset = itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(preset="angry"))
    vector = itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(vector=(0, 1, 0, 0, 0, 0, 0, 0)))
    # (Praat's PSOLA on this noise is not bit-reproducible, so the same shaping is judged by its effects)
    assert len(vector.samples) == len(preset.samples)
    assert loudness_lufs(vector.samples, RATE) == pytest.approx(loudness_lufs(preset.samples, RATE), abs=0.5)
    neutral = itts.synthesize(TEXT, voice=profile)
    described = itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(description="furious, shouting at everyone"))
    assert loudness_lufs(described.samples, RATE) > loudness_lufs(neutral.samples, RATE) + 1.0


def test_a_reference_clip_goes_through_the_models_emotion_encoder_scaled_by_alpha(itts, profile, other_speaker, monkeypatch):
    clip = wav_bytes(other_speaker, RATE)
    mine = itts._context(profile)
    theirs = itts._context(itts.create_voice(clip))
    half = itts._with_emotion_of(mine, EmotionSpec(reference=clip, alpha=0.5))
    expected = mine.conds[:, 0] + 0.5 * (theirs.emovec - mine.emovec)
    np.testing.assert_allclose(half.conds[:, 0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(half.style, mine.style)  # the voice stays the user's

    # What the package's synthesis receives.  (The tiny GPT's first code is a near-argmax of the
    # conditioning, so whether the noise it makes changes is chance; the conditioning is not.)
    pipe, seen = itts._load(), []
    real = pipe.synthesize
    monkeypatch.setattr(pipe, "synthesize", lambda *a, spk, **kw: seen.append(spk.conds.copy()) or real(*a, spk=spk, **kw))
    neutral = itts.synthesize(TEXT, voice=profile).samples
    none = itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(reference=clip, alpha=0.0)).samples
    itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(reference=clip, alpha=1.0))
    np.testing.assert_allclose(none, neutral, atol=1e-6)
    assert len(seen) == 6  # two sentences each
    np.testing.assert_array_equal(seen[2], seen[0])
    np.testing.assert_allclose(seen[4][:, 0], mine.conds[:, 0] + theirs.emovec - mine.emovec, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(seen[4][:, 1:], mine.conds[:, 1:])


def test_a_silent_emotion_clip_is_refused(itts, profile):
    with pytest.raises(NoSpeechError):
        itts.synthesize(TEXT, voice=profile, emotion=EmotionSpec(reference=wav_bytes(np.zeros(RATE * 3, np.float32), RATE)))


@pytest.mark.parametrize("spec", [DurationSpec(ratio=0.8), DurationSpec(ratio=1.25), "seconds"])
def test_duration_is_exact(itts, profile, spec):
    natural = itts.synthesize(TEXT, voice=profile).natural_seconds
    if spec == "seconds":
        spec = DurationSpec(seconds=round(natural * 1.15, 2))
    result = itts.synthesize(TEXT, voice=profile, duration=spec)
    goal = spec.seconds if spec.seconds is not None else result.natural_seconds * spec.ratio
    assert abs(result.duration - goal) <= 0.02
    assert result.natural_seconds == pytest.approx(natural, rel=0.1)  # the model's speed factor did the ratio


def test_a_duration_out_of_range_is_a_clear_error(itts, profile):
    with pytest.raises(Exception, match="can be set between"):
        itts.synthesize(TEXT, voice=profile, duration=DurationSpec(seconds=0.5))


def test_pinyin_reaches_the_model_in_its_own_annotation_form(itts):
    sentences = analyze("我去银行办事。他打DI1去公园，<行|XING2>动快。").sentences
    texts = [model_text(s) for s in sentences]
    assert texts[0] == ("我去银<行|HANG2>办事。", "zh")  # context reading ≠ the character's default
    assert "<行|XING2>" in texts[1][0] and " DI1 " in texts[1][0]
    assert "<公|" not in texts[1][0]  # plain readings are left to the model
    assert model_text(analyze("Hello there, friend.").sentences[0]) == ("Hello there, friend.", "en")
    # the package's own front end turns the annotation into its pronunciation tokens
    pipe = itts._load()
    ids = pipe.frontend.prepare(texts[0][0], "zh")[0]
    marker = pipe.frontend.encoding.encode("<|SPECIAL_TOKEN_2|>", allowed_special="all")
    assert ids.count(marker[0]) == 2
    assert pipe.frontend.encoding.decode(ids).count("HANG2") == 1


def test_chinese_and_mixed_text_speak(itts, profile):
    result = itts.synthesize("今天天气很好。I use 手机 every day.", voice=profile)
    assert result.duration > 1.0 and len(result.segments) == 2


def test_profiles_of_other_engines_or_weights_and_damaged_ones_are_refused(itts, profile):
    with pytest.raises(ProfileVersionError):
        itts.synthesize(TEXT, voice=VoiceProfile("default", "2.0", b"{}"))
    with pytest.raises(ProfileVersionError, match="record your voice again"):
        itts.synthesize(TEXT, voice=VoiceProfile("indextts", "2.5-onnx/0.1.0/0000000000", profile.payload))
    with pytest.raises(ProfileError):
        itts.synthesize(TEXT, voice=VoiceProfile("indextts", itts.version, b"not an npz"))


def test_bad_text_and_bad_clips_are_the_usual_errors(itts):
    with pytest.raises(TextError):
        itts.synthesize("x" * (itts.max_chars + 1))
    with pytest.raises(NoSpeechError):
        itts.create_voice(wav_bytes(np.zeros(RATE * 4, np.float32), RATE))


@pytest.mark.parametrize("options, match", [
    ({"implementation": "torch"}, "implementation"),
    ({"fp16": True}, "fp32 only"),
    ({"fp16": "yes"}, "true or false"),
    ({"device": "gpu0"}, "cuda:N"),
    ({"threads": 0}, "threads"),
    ({"seed": -1}, "seed"),
    ({"model_dir": 3}, "model_dir"),
    ({"voice": "x"}, "Unknown option"),
])
def test_bad_options_are_named(options, match):
    with pytest.raises(EngineConfigError, match=match):
        load_engine("indextts", options)


def test_an_incomplete_model_folder_lists_what_is_missing(tmp_path):
    (tmp_path / "campplus.onnx").write_bytes(b"")
    eng = load_engine("indextts", {"model_dir": str(tmp_path)})
    with pytest.raises(EngineUnavailableError, match=r"lacks 15 of the files the model needs \(emo_vec.onnx"):
        eng.warm_up()
    (tmp_path / "gpt.pth").write_bytes(b"")  # the PyTorch release instead of its ONNX export
    with pytest.raises(EngineUnavailableError, match="holds PyTorch checkpoints"):
        eng.warm_up()


def test_a_damaged_model_is_one_clear_error(tiny_model_dir, tmp_path):
    import shutil

    broken = tmp_path / "m"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "bigvgan.onnx").write_bytes(b"not onnx")
    with pytest.raises(EngineUnavailableError, match="Could not load IndexTTS-2.5"):
        load_engine("indextts", {"model_dir": str(broken)}).warm_up()


def test_cuda_without_a_gpu_build_says_what_to_install(tiny_model_dir):
    eng = load_engine("indextts", {"model_dir": str(tiny_model_dir), "device": "cuda:1"})
    with pytest.raises(EngineUnavailableError, match="onnxruntime-gpu"):
        eng.warm_up()


def test_a_missing_package_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "index_tts_2_5_onnx", None)  # as if the extra were not installed
    with pytest.raises(EngineUnavailableError, match=r"pip install '\.\[indextts\]'"):
        load_engine("indextts", {})


def test_without_model_dir_and_network_the_download_fails_with_one_line(tmp_path):
    """No weights and no network on first use: the error says what to do (checked in a fresh
    process, since Hugging Face reads its offline switch at import)."""
    code = ("from indextts_core import load_engine\n"
            "from indextts_core.errors import EngineUnavailableError\n"
            "try:\n    load_engine('indextts', {}).warm_up()\n"
            "except EngineUnavailableError as e:\n    print('ERR', e)\n")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.stdout.startswith("ERR Could not download the IndexTTS-2.5 weights"), out.stdout + out.stderr[-2000:]
    assert "model_dir" in out.stdout and "Traceback" not in out.stderr


def test_a_voice_note_as_telegram_sends_it_clones(itts, reference_clip):
    """48 kHz OGG/Opus bytes, as a voice note arrives, go through the same checks and read."""
    from indextts_core.audio import resample

    note = encode_ogg_opus(resample(reference_clip, RATE, 48000), 48000)
    made = itts.create_voice(note)
    assert made.meta["speech_seconds"] > 3 and _npz(made.payload)["conds"].shape == (1, 3, 1280)


def test_the_options_config_example_documents_are_the_engines_options():
    import tomllib
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[3] / "config.example.toml").read_text().splitlines()
    start = lines.index('# name = "indextts"')
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("#"))
    block = [line[2:] for line in lines[start:end] if " = " in line.split("#")[1]]
    options = tomllib.loads("\n".join(block))
    assert options.pop("name") == "indextts" and {"model_dir", "device", "fp16", "threads"} <= set(options)
    eng = load_engine("indextts", options)
    assert (eng.device, eng.threads, eng.steps) == (options["device"], options["threads"], options["diffusion_steps"])


def test_the_model_loads_once_at_warm_up_with_a_log_line_and_its_time(tiny_model_dir, caplog):
    import logging

    eng = load_engine("indextts", {"model_dir": str(tiny_model_dir), "diffusion_steps": 4})
    with caplog.at_level(logging.INFO, logger="indextts_core.backends.indextts"):
        eng.warm_up(speaker_encoder=False)
        eng.synthesize("Hello there.")
        eng.warm_up(speaker_encoder=False)
    lines = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("loading model: IndexTTS-2.5") for m in lines) == 1
    assert sum(re.fullmatch(r"model loaded in \d+\.\d s", m) is not None for m in lines) == 1
