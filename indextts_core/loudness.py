"""Consistent loudness for voice notes: ITU-R BS.1770 integrated loudness (pyloudnorm) and a
true-peak limiter, so no emotion clips after Opus decoding.

True peaks (the peaks between samples too, by 4× oversampling as BS.1770 annex 2 suggests) are
computed only near the loud samples: a speech note has few, so the whole note is never
oversampled (``bench/core.py`` shows the split of a note's time).
"""

from __future__ import annotations

import numpy as np

TARGET_LUFS = -20.0  # voice notes sit around -20…-16 LUFS; -20 leaves the loudest emotions (+4 dB) room under the peak ceiling
#: The limit for every note's decoded true peak.
MAX_DECODED_DBTP = -1.0
#: Opus at 32 kbit/s lifts a note's true peak by up to this much (dB) when it is decoded (measured
#: on notes of every emotion, engine voice and language, plain and watermarked: p99 1.4 dB, largest
#: 1.5 dB; ``bench/core.py`` prints the distribution).  Notes are limited this far under the
#: decoded limit, so one encode is almost always the last.
CODEC_HEADROOM_DB = 1.5
#: The limiter's ceiling for what is encoded.
TRUE_PEAK_DBTP = MAX_DECODED_DBTP - CODEC_HEADROOM_DB
#: Oversampling reveals peaks between samples that are at most this much (dB) above the samples
#: around them: band-limited speech stays well under it (a full-band sine at a quarter of the rate
#: reaches 3 dB), so only samples this close to the peak are oversampled.
INTERSAMPLE_DB = 6.0
#: Samples of context around each loud sample: more than half the oversampling filter (10 input
#: samples at 4×), so the values there equal those of the whole note oversampled.
_CONTEXT = 24
#: The limiter's look-ahead and hold (seconds): longer than one pitch period of a low voice, so
#: the gain never changes inside a period (which would distort it), short enough to leave the
#: syllable around a peak untouched.
LIMITER_WINDOW_S = 0.015


def peak_envelope(samples: np.ndarray, floor: float) -> np.ndarray:
    """Each sample's true peak: the largest magnitude of the 4× oversampled signal within one
    sample of it.  Computed near samples of at least ``floor`` only; elsewhere ``|x|``."""
    from scipy.signal import resample_poly

    x = np.asarray(samples, dtype=np.float64)
    env = np.abs(x)
    loud = np.flatnonzero(env >= floor)
    if len(loud) == 0:
        return env
    n = len(x)
    starts, ends = np.maximum(loud - _CONTEXT, 0), np.minimum(loud + _CONTEXT + 1, n)
    breaks = np.flatnonzero(starts[1:] > ends[:-1]) + 1
    first, last = starts[np.r_[0, breaks]], ends[np.r_[breaks - 1, len(loud) - 1]]
    if int((last - first).sum()) > n // 2:
        first, last = np.array([0]), np.array([n])
    # The loud stretches with their context, laid end to end apart by silence the filter cannot
    # bridge; ``layout`` maps each laid-out sample to its place in the note (-1 in the gaps).
    lengths = last - first + _CONTEXT
    layout = np.full(int(lengths.sum()), -1)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    inside = np.arange(len(layout)) - np.repeat(offsets, lengths)
    stretch = np.repeat(last - first, lengths)
    taken = inside < stretch
    layout[taken] = (np.repeat(first, lengths) + inside)[taken]
    laid = np.where(taken, x[np.maximum(layout, 0)], 0.0)
    up = np.abs(resample_poly(laid, 4, 1)).reshape(-1, 4).max(axis=1)  # each sample and the 3 points after it
    around = np.maximum(up, np.r_[0.0, up[:-1]])  # and the 3 before it
    env[layout[taken]] = np.maximum(env[layout[taken]], around[taken])
    return env


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float:
    """The true peak in dBTP (samples and the peaks between them; equal to oversampling the whole
    signal 4× whenever no peak between samples stands :data:`INTERSAMPLE_DB` above its samples)."""
    if len(samples) == 0:
        return -120.0
    peak = float(np.max(np.abs(samples)))
    if peak == 0.0:
        return -120.0
    top = float(np.max(peak_envelope(samples, peak * 10 ** (-INTERSAMPLE_DB / 20))))
    return float(20 * np.log10(top))


def loudness_lufs(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness (BS.1770, gated); ``-inf`` for silence or a clip under one 400 ms block."""
    import pyloudnorm

    x = np.asarray(samples, dtype=np.float64)
    if len(x) < int(0.4 * rate) or not np.any(x):
        return float("-inf")
    return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def to_loudness(samples: np.ndarray, rate: int, target_lufs: float) -> np.ndarray:
    """``samples`` with gain to ``target_lufs`` (unchanged when they cannot be measured)."""
    have = loudness_lufs(samples, rate)
    x = np.asarray(samples, dtype=np.float32)
    return x * np.float32(10 ** ((target_lufs - have) / 20)) if np.isfinite(have) else x


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_dbtp: float = TRUE_PEAK_DBTP) -> np.ndarray:
    """Limit true peaks to ``ceiling_dbtp``; a signal already under it passes unchanged.

    A look-ahead brickwall limiter: the gain each sample needs (from its true peak) is held over
    :data:`LIMITER_WINDOW_S` either side and smoothed over the same window, which never lets it rise
    above what any sample in reach needs — so peaks are met without clipping and the gain moves in
    smooth ramps.
    """
    return limited(samples, rate, ceiling_dbtp)[0]


def limited(samples: np.ndarray, rate: int, ceiling_dbtp: float = TRUE_PEAK_DBTP) -> tuple[np.ndarray, float]:
    """:func:`limit_true_peak`, and the true peak (dBTP) of what it returns."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return x.astype(np.float32), -120.0
    ceiling = 10 ** (ceiling_dbtp / 20)
    width = 2 * max(1, int(LIMITER_WINDOW_S * rate)) + 1
    # The gain's own movement can lift a peak by a thousandth of a dB: aim a hair under, and look
    # again at what came out.
    aim = ceiling * 10 ** (-0.01 / 20)
    floor = ceiling * 10 ** (-INTERSAMPLE_DB / 20)
    for _ in range(3):
        env = peak_envelope(x, floor)
        top = float(env.max())
        if top <= ceiling:
            # the envelope is the true peak wherever it reaches the floor; under it, samples only
            return x.astype(np.float32), float(20 * np.log10(top)) if top >= floor else true_peak_dbtp(x, rate)
        need = np.minimum(1.0, aim / np.maximum(env, 1e-12))
        gain = uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")
        x = x * np.minimum(gain, need)
    return (x * (ceiling / float(peak_envelope(x, aim / 2).max()))).astype(np.float32), ceiling_dbtp
