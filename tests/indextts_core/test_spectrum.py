"""Long-term spectrum matching: measuring a voice's envelope and the EQ that copies it."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from indextts_core import spectrum

RATE = 22050


def _noise(seconds: float = 3.0, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 0.1).astype(np.float32)


def _coloured(x: np.ndarray) -> np.ndarray:
    """A strong, smooth colour (within the EQ's limit): dark, with a resonance at 3 kHz."""
    low = sosfilt(butter(2, 1500, "low", fs=RATE, output="sos"), x)
    peak = sosfilt(butter(2, [2600, 3400], "band", fs=RATE, output="sos"), x)
    return (low + 1.5 * peak + 0.3 * x).astype(np.float32)


def _spread_db(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def test_white_noise_is_flat_and_a_low_pass_falls():
    flat = spectrum.band_levels_db(_noise(), RATE)
    assert flat.shape == (spectrum.BANDS,) and flat.max() - flat.min() < 2.0
    dark = spectrum.band_levels_db(sosfilt(butter(4, 1000, "low", fs=RATE, output="sos"), _noise()), RATE)
    centres = spectrum.band_centres_hz()
    assert dark[centres > 4000].max() < dark[centres < 500].min() - 30


def test_the_eq_moves_one_spectrum_onto_another():
    target = spectrum.band_levels_db(_coloured(_noise(seed=2)), RATE)
    source = _noise(seed=3)
    have = spectrum.band_levels_db(source, RATE)
    gains = spectrum.matching_gains(target, have)
    assert np.abs(gains).max() < spectrum.LIMIT_DB and abs(gains.mean()) < 1e-9  # level: left to loudness
    after = spectrum.band_levels_db(spectrum.equalize(source, RATE, gains), RATE)
    assert _spread_db(after, target) < 1.5 < _spread_db(have, target) - 3


def test_strength_scales_the_gains_within_the_limit():
    target = spectrum.band_levels_db(_coloured(_noise(seed=2)), RATE)
    have = spectrum.band_levels_db(_noise(seed=3), RATE)
    one, more = spectrum.matching_gains(target, have), spectrum.matching_gains(target, have, 1.5)
    assert np.abs(more).max() <= spectrum.LIMIT_DB
    small = np.abs(more) < spectrum.LIMIT_DB
    np.testing.assert_allclose(more[small], 1.5 * one[small])


def test_the_eq_adds_no_delay_and_flat_gains_change_nothing():
    x = _noise(1.0)
    np.testing.assert_array_equal(spectrum.equalize(x, RATE, np.zeros(spectrum.BANDS)), x)
    y = spectrum.equalize(x, RATE, np.full(spectrum.BANDS, 6.0))
    assert len(y) == len(x)
    lags = np.correlate(y[2000:4000], x[1990:4010], mode="valid")
    assert int(np.argmax(lags)) == 10  # aligned with the input


@pytest.mark.parametrize("hz", [40.0, 10_800.0])
def test_it_never_boosts_outside_the_speech_bands(hz):
    t = np.arange(RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    boosted = spectrum.equalize(tone, RATE, np.full(spectrum.BANDS, spectrum.LIMIT_DB))
    middle = slice(2000, -2000)
    assert np.sqrt(np.mean(boosted[middle] ** 2)) <= np.sqrt(np.mean(tone[middle] ** 2)) * 1.26  # ≤ 2 dB


def test_wrong_band_count_and_too_short_clips_are_refused():
    with pytest.raises(ValueError, match="band gains"):
        spectrum.equalize(_noise(0.5), RATE, [1.0, 2.0])
    with pytest.raises(ValueError, match="too short"):
        spectrum.band_levels_db(np.zeros(100, np.float32), RATE)
