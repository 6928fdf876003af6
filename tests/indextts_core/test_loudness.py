"""True peaks near the loud samples only, the look-ahead limiter, loudness, and one encode per note."""

import numpy as np
import pytest
from scipy.signal import resample_poly

from indextts_core import loudness, watermark
from indextts_core.emotion import PRESETS
from indextts_core.engine import EmotionSpec
from indextts_core.opus import EncodeCounts, decode_ogg_opus, encode_ogg_opus

RATE = 22050


def _oversampled_dbtp(x: np.ndarray) -> float:
    """The definition: the whole signal oversampled 4×."""
    return float(20 * np.log10(np.max(np.abs(resample_poly(np.asarray(x, dtype=np.float64), 4, 1)))))


def _signals(engine) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    n = np.arange(30000)
    return [
        0.1 * rng.standard_normal(30000),  # full band: the largest peaks between samples
        0.5 * np.sin(2 * np.pi * (RATE / 4) * n / RATE + 0.3),  # a quarter of the rate, off the samples
        0.5 * np.sign(np.sin(2 * np.pi * 440 * n / RATE)),  # a square wave (Gibbs peaks)
        0.3 * np.sin(2 * np.pi * np.cumsum(np.linspace(100, 10000, 30000)) / RATE),  # a sweep
        engine.synthesize("Hello there, how are you today?").samples,
        engine.synthesize("我们明天去公园散步。").samples,
        engine.synthesize("Stop! Right now!", emotion=EmotionSpec(preset="angry")).samples,
    ]


def test_the_true_peak_near_the_loud_samples_equals_oversampling_the_whole_signal(engine):
    for x in _signals(engine):
        assert loudness.true_peak_dbtp(x, RATE) == pytest.approx(_oversampled_dbtp(x), abs=1e-9)


def test_silence_and_nothing_have_no_peak():
    assert loudness.true_peak_dbtp(np.zeros(1000), RATE) == -120.0
    assert loudness.true_peak_dbtp(np.zeros(0), RATE) == -120.0


@pytest.mark.parametrize("gain_db", [0.5, 3.0, 9.0])
def test_the_limiter_meets_the_ceiling_between_samples_and_leaves_the_rest_alone(engine, gain_db):
    note = engine.synthesize("Please remember to bring your umbrella this afternoon.").samples
    x = note * np.float32(10 ** ((loudness.TRUE_PEAK_DBTP + gain_db - loudness.true_peak_dbtp(note, RATE)) / 20))
    out = loudness.limit_true_peak(x, RATE)
    assert _oversampled_dbtp(out) <= loudness.TRUE_PEAK_DBTP + 1e-6
    ratio = np.abs(out) / np.maximum(np.abs(x), 1e-9)
    assert ratio.max() <= 1.0 + 1e-6  # it only ever turns down
    # every sample further than the limiter's reach from a peak over the ceiling keeps its level
    from scipy.ndimage import maximum_filter1d

    reach = 2 * (2 * int(loudness.LIMITER_WINDOW_S * RATE) + 1)
    over = maximum_filter1d(loudness.peak_envelope(x, 0.0), reach) > 10 ** (loudness.TRUE_PEAK_DBTP / 20)
    far = ~over & (np.abs(x) > 1e-4)
    assert far.sum() > 0.2 * len(x)
    assert np.allclose(out[far], x[far], rtol=1e-6, atol=1e-7)
    heard = np.abs(x) > 1e-3  # where the gain can be read from the samples
    steps = np.abs(np.diff(ratio))[heard[1:] & heard[:-1]]  # from one sample to the next
    assert steps.max() < 0.01  # ramps, not steps


def test_a_signal_under_the_ceiling_passes_unchanged(engine):
    x = engine.synthesize("A quiet sentence.").samples * np.float32(0.3)
    assert np.array_equal(loudness.limit_true_peak(x, RATE), x.astype(np.float32))


def test_loudness_reaches_its_target():
    rng = np.random.default_rng(1)
    x = (0.01 * rng.standard_normal(RATE * 2)).astype(np.float32)
    assert loudness.loudness_lufs(loudness.to_loudness(x, RATE, -20.0), RATE) == pytest.approx(-20.0, abs=0.01)
    assert np.array_equal(loudness.to_loudness(x[:1000], RATE, -20.0), x[:1000])  # too short to measure: as it was


def test_every_note_of_every_emotion_plain_or_marked_is_encoded_once_and_decodes_under_the_limit(engine):
    key = watermark.WatermarkKey(b"k" * 16)
    counts = EncodeCounts()
    for i, emotion in enumerate([None, *(EmotionSpec(preset=p) for p in PRESETS)]):
        r = engine.synthesize("Wow, that is absolutely incredible, we actually won!", emotion=emotion)
        for samples in (r.samples, watermark.embed(r.samples, r.sample_rate, i, key)):
            data = encode_ogg_opus(samples, r.sample_rate, counts=counts)
            assert _oversampled_dbtp(decode_ogg_opus(data)) <= loudness.MAX_DECODED_DBTP
    assert counts.notes == 2 * (len(PRESETS) + 1)
    assert counts.reencoded == 0


def test_a_note_far_under_the_limit_is_not_decoded_to_check_it(engine):
    counts = EncodeCounts()
    r = engine.synthesize("A quiet sentence.")
    encode_ogg_opus(r.samples * np.float32(0.25), r.sample_rate, counts=counts)
    assert (counts.notes, counts.checked, counts.reencoded) == (1, 0, 0)


def test_a_note_near_the_limit_is_decoded_and_checked(engine):
    counts = EncodeCounts()
    r = engine.synthesize("Stop! Right now!", emotion=EmotionSpec(preset="angry"))
    encode_ogg_opus(r.samples * np.float32(4.0), r.sample_rate, counts=counts)  # the limiter takes it to its ceiling
    assert (counts.notes, counts.checked) == (1, 1)


def test_our_decoder_is_libopus_at_48_khz_like_libsndfile(engine):
    import io

    import soundfile as sf

    r = engine.synthesize("Hello there.")
    data = encode_ogg_opus(r.samples, r.sample_rate)
    ours = decode_ogg_opus(data)
    theirs, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 48000 and len(ours) == len(theirs)
    assert np.max(np.abs(ours - theirs)) < 1e-5
