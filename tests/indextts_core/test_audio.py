"""Reference checks on crafted clips, format support, and the voice-note output format."""

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from indextts_core import errors
from indextts_core.audio import (
    check_reference, encode_ogg_opus, ogg_opus_info, read_audio, waveform,
)
from tests.conftest import speech_clip, wav_bytes

RATE = 22050


def _check(samples, rate=RATE):
    return check_reference(read_audio(wav_bytes(samples, rate)))


def test_good_reference_passes_and_is_measured(reference_clip):
    report = _check(reference_clip)
    assert 4.0 < report.speech_seconds <= report.duration
    assert report.snr_db > 30


def test_unreadable_bytes():
    with pytest.raises(errors.UnreadableAudioError, match="could not be read"):
        read_audio(b"this is not audio at all, just some text bytes padded out to length" * 3)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(errors.UnreadableAudioError):
        read_audio(b"")
    with pytest.raises(errors.UnreadableAudioError, match="Could not open"):
        read_audio(tmp_path / "missing.ogg")


def test_upload_over_20_mb_is_refused_before_decoding(tmp_path):
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))
    with pytest.raises(errors.TooLongError, match="under 20 MB"):
        read_audio(big)


def test_too_short(engine):
    clip = speech_clip(engine, "Hello there friend.")
    with pytest.raises(errors.TooShortError, match="at least 3 seconds"):
        _check(clip)


def test_too_long(reference_clip):
    with pytest.raises(errors.TooLongError, match="3–30 seconds"):
        _check(np.tile(reference_clip, 6))


def test_silence_and_pure_noise_have_no_speech():
    with pytest.raises(errors.NoSpeechError):
        _check(np.zeros(RATE * 5, np.float32))
    rng = np.random.default_rng(1)
    with pytest.raises(errors.NoSpeechError):
        _check((0.2 * rng.standard_normal(RATE * 5)).astype(np.float32))


def test_heavy_clipping(reference_clip):
    with pytest.raises(errors.ClippingError, match="distorted"):
        _check(np.clip(reference_clip * 8, -1, 1))


def test_too_noisy(reference_clip):
    rng = np.random.default_rng(2)
    noisy = reference_clip + 0.08 * rng.standard_normal(len(reference_clip)).astype(np.float32)
    with pytest.raises(errors.TooNoisyError, match="quieter"):
        _check(noisy)


def test_low_sample_rate(engine):
    clip = speech_clip(engine, "Some words that are long enough to count as speech for the check.", rate=8000)
    with pytest.raises(errors.LowSampleRateError, match="16000 Hz"):
        _check(clip, 8000)


@pytest.mark.parametrize("fmt,subtype,rate", [("OGG", "OPUS", 48000), ("FLAC", None, RATE), ("MP3", None, RATE), ("WAV", "PCM_16", 16000)])
def test_formats_read(reference_clip, fmt, subtype, rate):
    from indextts_core.audio import resample

    data = wav_bytes(resample(reference_clip, RATE, rate), rate, fmt, subtype)
    audio = read_audio(data)
    assert audio.sample_rate == rate
    assert abs(audio.duration - len(reference_clip) / RATE) < 0.1
    check_reference(audio)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_m4a_read_through_ffmpeg(tmp_path, reference_clip):
    wav = tmp_path / "r.wav"
    sf.write(wav, reference_clip, RATE)
    m4a = tmp_path / "r.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    audio = read_audio(m4a)
    assert abs(audio.duration - len(reference_clip) / RATE) < 0.1


def test_m4a_without_ffmpeg_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(errors.UnsupportedFormatError, match="need ffmpeg"):
        read_audio(b"\0\0\0\x20ftypM4A " + b"\0" * 100)


def test_ogg_opus_voice_note_is_valid_48k_mono_with_disclosure_tags(tmp_path, reference_clip):
    data = encode_ogg_opus(reference_clip, RATE, tags={"comment": "synthetic speech", "software": "indextts default 1.0"})
    info = ogg_opus_info(data)
    assert info.channels == 1 and info.input_rate == 48000
    assert abs(info.duration - len(reference_clip) / RATE) < 0.001
    assert info.tags["COMMENT"] == "synthetic speech"
    seconds = len(reference_clip) / RATE
    kbps = len(data) * 8 / seconds / 1000
    assert 16 < kbps < 48  # voice-note bitrate, not music
    if shutil.which("ffprobe"):
        path = tmp_path / "v.ogg"
        path.write_bytes(data)
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
                              "-of", "default=nw=1", str(path)], capture_output=True, text=True, check=True).stdout
        assert "codec_name=opus" in out and "sample_rate=48000" in out and "channels=1" in out


def _hard_clipped(seed: int) -> np.ndarray:
    """Half a second of square-ish or clipped-sine signal at full scale: Opus overshoots it by
    several tenths of a dB, more than one or two gain corrections remove."""
    rng = np.random.default_rng(seed)
    n = 24000
    if seed % 3 == 0:
        x = np.sign(rng.normal(size=n // int(rng.integers(2, 40))).repeat(40)[:n])
    else:
        x = np.clip(5 * np.sin(2 * np.pi * rng.uniform(50, 3000) * np.arange(n) / 48000), -1, 1)
    return np.pad(0.999 * x, (0, n - len(x))).astype(np.float32)


@pytest.mark.parametrize("seed", [5, 48, 54])
def test_no_voice_note_decodes_above_minus_1_dbtp_even_for_full_scale_square_waves(seed):
    from indextts_core.loudness import true_peak_dbtp

    decoded, rate = sf.read(io.BytesIO(encode_ogg_opus(_hard_clipped(seed), 48000)), dtype="float64")
    assert true_peak_dbtp(decoded, rate) <= -1.0


def test_waveform_is_at_most_256_bytes_and_follows_loudness():
    x = np.concatenate([np.zeros(1000), 0.5 * np.ones(1000)]).astype(np.float32)
    wf = waveform(x)
    assert len(wf) == 256
    assert wf[0] == 0 and wf[-1] == 255
    assert len(waveform(x, points=1000)) == 256


def test_a_dc_offset_is_removed_before_the_checks(reference_clip):
    report = _check(reference_clip + 0.2)
    assert report.snr_db > 30 and report.speech_seconds > 4.0


def test_speech_in_heavy_noise_is_called_too_noisy_not_silent(reference_clip):
    rng = np.random.default_rng(3)
    noisy = reference_clip + rng.normal(0, 0.12, len(reference_clip)).astype(np.float32)
    with pytest.raises(errors.TooNoisyError, match="background noise"):
        _check(noisy)
