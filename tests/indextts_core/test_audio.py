"""Reference checks on crafted clips, format support, and the voice-note output format."""

import io

import numpy as np
import pytest
import soundfile as sf

from indextts_core import errors
from indextts_core.audio import (
    check_reference, encode_ogg_opus, ogg_opus_info, read_audio,
)
from tests.conftest import speech_clip, wav_bytes
from tests.probe import encode, probe

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


def test_m4a_from_a_phone_reads_without_any_system_tool(reference_clip):
    from indextts_core.audio import resample

    m4a = encode(resample(reference_clip, RATE, 44100), 44100, "mp4", "aac")
    assert m4a[4:8] == b"ftyp"
    audio = read_audio(m4a)
    assert audio.sample_rate == 44100 and abs(audio.duration - len(reference_clip) / RATE) < 0.1
    check_reference(audio)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _declare_length(ogg: bytes, seconds: float) -> bytes:
    """Rewrite every page's granule position past ``seconds`` to ``seconds``: the container now
    claims that length while holding all of its audio."""
    import struct

    out, pos = bytearray(), 0
    while pos < len(ogg):
        nseg = ogg[pos + 26]
        end = pos + 27 + nseg + sum(ogg[pos + 27:pos + 27 + nseg])
        page = bytearray(ogg[pos:end])
        granule = struct.unpack_from("<q", page, 6)[0]
        if granule > seconds * 48000:
            struct.pack_into("<q", page, 6, int(seconds * 48000))
        struct.pack_into("<I", page, 22, 0)
        struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
        out += page
        pos = end
    return bytes(out)


@pytest.fixture(scope="module")
def opus_bomb() -> bytes:
    """Five minutes of stereo silence at 6 kbit/s in 60 ms frames: ~80 KB that decodes to 110 MB."""
    return encode(np.zeros(300 * 48000, np.float32), 48000, "ogg", "libopus", layout="stereo", frame=2880,
                  bitrate=6000, options={"frame_duration": "60"})


@pytest.mark.parametrize("lying", [False, True], ids=["declared", "lying-container"])
def test_a_decompression_bomb_is_refused_without_decoding_it(opus_bomb, lying):
    import tracemalloc

    data = _declare_length(opus_bomb, 5.0) if lying else opus_bomb
    assert len(data) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(errors.TooLongError, match="longer than 30 seconds"):
            read_audio(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6  # 30 s of mono float is 5.8 MB; the whole file would be 115 MB


def test_a_long_note_can_be_read_in_part(opus_bomb):
    audio = read_audio(opus_bomb, max_seconds=12.0, cut=True)
    assert audio.duration == pytest.approx(12.0) and audio.sample_rate == 48000


def test_too_many_channels_are_refused_before_decoding():
    tone = (0.3 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 220)).astype(np.float32)
    assert read_audio(encode(tone, 16000, "wav", "pcm_f32le", layout="7.1")).duration == pytest.approx(1.0)
    with pytest.raises(errors.UnreadableAudioError, match="16 channels"):
        read_audio(encode(tone, 16000, "wav", "pcm_f32le", layout="hexadecagonal"))


def test_ogg_opus_voice_note_is_valid_48k_mono_with_disclosure_tags(reference_clip):
    data = encode_ogg_opus(reference_clip, RATE, tags={"description": "synthetic speech", "software": "indextts default 1.0"})
    info = ogg_opus_info(data)
    assert info.channels == 1 and info.input_rate == 48000
    assert abs(info.duration - len(reference_clip) / RATE) < 0.001
    assert info.tags["DESCRIPTION"] == "synthetic speech"
    seconds = len(reference_clip) / RATE
    kbps = len(data) * 8 / seconds / 1000
    assert 16 < kbps < 48  # voice-note bitrate, not music
    seen = probe(data)
    assert (seen.container, seen.codec, seen.sample_rate, seen.channels) == ("ogg", "opus", 48000, 1)
    assert seen.duration == pytest.approx(seconds, abs=0.001)


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


def test_a_dc_offset_is_removed_before_the_checks(reference_clip):
    report = _check(reference_clip + 0.2)
    assert report.snr_db > 30 and report.speech_seconds > 4.0


def test_speech_in_heavy_noise_is_called_too_noisy_not_silent(reference_clip):
    rng = np.random.default_rng(3)
    noisy = reference_clip + rng.normal(0, 0.12, len(reference_clip)).astype(np.float32)
    with pytest.raises(errors.TooNoisyError, match="background noise"):
        _check(noisy)
