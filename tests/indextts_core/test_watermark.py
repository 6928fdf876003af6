"""The watermark: found where it was put, read back, and absent from speech it was never put in.

Robustness per attack and false-positive rates are measured in bench/watermark.py, not here.
"""

import io

import numpy as np
import pytest
import soundfile as sf

from indextts_core import watermark
from indextts_core.audio import encode_ogg_opus, read_audio, resample
from indextts_core.backends.espeak import EspeakVoice

#: The suite's own key (a deployment makes a random one on first start).
KEY = watermark.WatermarkKey(b"the test suite's watermark key..")
OTHER_KEY = watermark.WatermarkKey(b"somebody else's watermark key..!")

TEXT = ("Please put the blue folder back on the shelf when you are done with it. The printer on the second "
        "floor has been broken for a week, so send me a message when you arrive.")


@pytest.fixture(scope="module")
def speech(engine):
    r = engine.synthesize(TEXT)
    return r.samples, r.sample_rate


def test_a_marked_note_is_found_and_its_id_read_after_opus(speech):
    samples, rate = speech
    marked = watermark.embed(samples, rate, 0x5A5A5, KEY)
    decoded = read_audio(encode_ogg_opus(marked, rate))
    found = watermark.detect(decoded.samples, decoded.sample_rate, KEY)
    assert found.marked and found.payload == 0x5A5A5 and found.score >= watermark.DETECT_Z


def test_a_long_note_scores_a_number(speech):
    # ~18 s of marked speech scores far beyond where the normal tail underflows (z ≈ 38).
    samples, rate = speech
    found = watermark.detect(watermark.embed(np.concatenate([samples, samples]), rate, 8, KEY), rate, KEY)
    assert found.marked and found.payload == 8 and np.isfinite(found.score) and found.score > 38


def test_unmarked_speech_is_not_found(speech):
    samples, rate = speech
    assert not watermark.detect(samples, rate, KEY).marked
    voice = EspeakVoice("en-us+f3", pitch=60)
    assert not watermark.detect(voice.synthesize(TEXT), voice.sample_rate, KEY).marked


def test_the_mark_survives_16_khz_and_a_cut(speech):
    samples, rate = speech
    marked = watermark.embed(samples, rate, 1234, KEY)
    buf = io.BytesIO()
    sf.write(buf, marked[int(0.7 * rate):], rate, format="WAV")  # trimmed at an arbitrary point
    clip = read_audio(buf.getvalue())
    assert watermark.detect(resample(clip.samples, clip.sample_rate, 16000), 16000, KEY).marked


def test_any_3_s_of_a_note_sent_as_opus_is_enough(speech):
    samples, rate = speech
    heard = read_audio(encode_ogg_opus(watermark.embed(samples, rate, 99, KEY), rate))
    plain = read_audio(encode_ogg_opus(samples, rate))
    x, sr = heard.samples, heard.sample_rate
    starts = np.arange(0.0, len(x) / sr - 3.0, 1.3)
    assert len(starts) >= 4
    for start in starts:  # cut anywhere, not on the mark's period
        cut = slice(int(start * sr), int((start + 3.0) * sr))
        assert watermark.detect(x[cut], sr, KEY).marked, f"not found in the 3 s from {start:.1f} s"
        assert not watermark.detect(plain.samples[cut], sr, KEY).marked


def _cuts(x: np.ndarray, sr: int):
    """3 s cuts every 0.9 s: anywhere in the mark's period."""
    for start in np.arange(0.0, len(x) / sr - 3.0, 0.9):
        yield start, x[int(start * sr):int((start + 3.0) * sr)]


def _white_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    speech = x[np.abs(x) > 0.01 * np.abs(x).max()]
    return (x + rng.normal(0, np.sqrt(np.mean(speech ** 2) / 10 ** (snr_db / 10)), len(x))).astype(np.float32)


def test_any_3_s_survives_opus_at_16_kbits_and_noise_at_20_db(speech):
    samples, rate = speech
    marked = watermark.embed(samples, rate, 99, KEY)
    low = read_audio(encode_ogg_opus(marked, rate, bitrate=16000))
    noisy = _white_noise(marked, 20.0, np.random.default_rng(3))
    for name, (x, sr) in {"Opus 16 kbit/s": (low.samples, low.sample_rate), "noise 20 dB": (noisy, rate)}.items():
        for start, cut in _cuts(x, sr):
            assert watermark.detect(cut, sr, KEY).marked, f"{name}: not found in the 3 s from {start:.1f} s"


def _phone_replay(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Telephone band (300–3400 Hz), a room whose reverb is louder than the direct sound (RT60
    0.4 s), and the phone's own noise at 25 dB."""
    from scipy.signal import butter, fftconvolve, sosfilt

    phone = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=rate, output="sos"), x)
    t = np.arange(int(0.5 * rate)) / rate
    room = rng.normal(0, 1, len(t)) * np.exp(-6.9 * t / 0.4)
    room[0] = 8.0  # the direct sound
    return _white_noise(fftconvolve(phone, room / np.sqrt(np.sum(room ** 2)))[: len(phone)], 25.0, rng)


def test_any_3_s_survives_playback_into_a_phone_across_a_room(speech):
    samples, rate = speech
    heard = _phone_replay(watermark.embed(samples, rate, 99, KEY), rate, np.random.default_rng(1))
    for start, cut in _cuts(heard, rate):
        assert watermark.detect(cut, rate, KEY).marked, f"not found in the 3 s from {start:.1f} s"


def test_3_s_of_a_note_joined_between_other_speech_is_found(speech):
    samples, rate = speech
    marked = watermark.embed(samples, rate, 4321, KEY)
    voice = EspeakVoice("en+m3", pitch=40)
    other = resample(voice.synthesize(TEXT), voice.sample_rate, rate)
    for start in (0.4, 2.9):  # the cut falls anywhere in the mark's period
        cut = marked[int(start * rate):int((start + 3.0) * rate)]
        joined = np.concatenate([other[: 2 * rate], cut, other[-2 * rate:]])
        assert watermark.detect(joined, rate, KEY).marked, f"not found with the cut from {start} s"


def test_a_long_clip_must_score_higher_to_count_as_marked(speech, monkeypatch):
    # A 3 s cut, then silence: a longer clip offers unmarked speech more stretches to score by
    # chance, so its best stretch is discounted (one threshold for any length)...
    samples, rate = speech
    cut = watermark.embed(samples, rate, 5, KEY)[rate:4 * rate]
    clip = np.concatenate([cut, np.zeros(15 * rate, dtype=np.float32)])
    found = watermark.detect(clip, rate, KEY)
    monkeypatch.setattr(watermark, "_for_stretches", lambda z, stretches: z)
    best = watermark.detect(clip, rate, KEY)
    # ... by about ln(stretches) / z here (≈ 0.15 for ~40 stretches at z ≈ 24), yet still found.
    assert found.marked and found.score < best.score - 0.1


def test_the_mark_changes_the_audio_only_a_little(speech):
    samples, rate = speech
    marked = watermark.embed(samples, rate, 7, KEY)
    snr = 10 * np.log10(np.sum(samples.astype(float) ** 2) / np.sum((marked - samples).astype(float) ** 2))
    assert snr > 14.0 and len(marked) == len(samples)


def test_a_stronger_mark_reads_more_strongly_after_a_phone_replay(speech):
    samples, rate = speech
    heard = [_phone_replay(watermark.embed(samples, rate, 99, KEY, strength), rate, np.random.default_rng(3))
             for strength in watermark.STRENGTHS]
    for (start, weak), (_, strong) in zip(_cuts(heard[0], rate), _cuts(heard[1], rate)):
        assert watermark.detect(strong, rate, KEY).score > watermark.detect(weak, rate, KEY).score, f"the 3 s from {start:.1f} s"


@pytest.mark.parametrize("strength", [0.9, 1.6])
def test_a_strength_outside_the_tested_range_is_refused(speech, strength):
    with pytest.raises(ValueError, match="strength"):
        watermark.embed(*speech, payload=1, key=KEY, strength=strength)


def test_a_payload_that_does_not_fit_is_refused(speech):
    with pytest.raises(ValueError):
        watermark.embed(*speech, payload=1 << watermark.PAYLOAD_BITS, key=KEY)


def test_without_the_key_the_mark_is_neither_found_nor_read(speech):
    # Kerckhoffs: this code is public, the key is the deployment's.  Another key finds nothing.
    samples, rate = speech
    marked = watermark.embed(samples, rate, 0x12345, KEY)
    assert not watermark.detect(marked, rate, OTHER_KEY).marked
    found = watermark.detect(marked, rate, KEY)
    assert found.marked and found.payload == 0x12345 and found.key == KEY.fingerprint


def test_notes_made_before_a_rotation_still_verify(speech):
    samples, rate = speech
    old_note = watermark.embed(samples, rate, 77, KEY)
    found = watermark.detect(old_note, rate, [OTHER_KEY, KEY])  # the newest key first
    assert found.marked and found.payload == 77 and found.key == KEY.fingerprint
    assert not watermark.detect(samples, rate, [OTHER_KEY, KEY]).marked


def test_a_note_id_without_its_mac_is_not_read(speech, monkeypatch):
    # Someone who had learnt the key's pattern but not the key cannot write the MAC of the id they
    # want: the detector finds the pattern and reads no id (so /verify names no one).
    samples, rate = speech
    with monkeypatch.context() as patched:
        patched.setattr(watermark.WatermarkKey, "mac", lambda self, payload: 0x5A5)
        forged = watermark.embed(samples, rate, 4242, KEY)
    found = watermark.detect(forged, rate, KEY)
    assert found.marked and found.payload is None and found.key == KEY.fingerprint


def test_keys_are_random_bytes_that_never_show():
    key = watermark.WatermarkKey.generate()
    assert key.secret.hex() not in repr(key) and len(key.fingerprint) == 16
    assert watermark.WatermarkKey.from_text(key.secret.hex()) == key
    for bad in ("", "abc", "zz" * 32, "00" * 8):
        with pytest.raises(ValueError):
            watermark.WatermarkKey.from_text(bad)
