"""Consistent loudness for voice notes: ITU-R BS.1770 integrated loudness (pyloudnorm), then a
true-peak limiter (pedalboard's, run on a 4× oversampled signal so peaks between samples count),
so no emotion clips after Opus decoding."""

from __future__ import annotations

import numpy as np

TARGET_LUFS = -20.0  # voice notes sit around -20…-16 LUFS; -20 leaves the loudest emotions (+4 dB) room under the peak ceiling
TRUE_PEAK_DBTP = -1.5  # leaves room for the Opus codec's own overshoot under the -1 dBTP limit


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float:
    """Peak of the signal between samples too (4× oversampling, as BS.1770 annex 2 suggests)."""
    from scipy.signal import resample_poly

    if len(samples) == 0:
        return -120.0
    over = resample_poly(samples.astype(np.float64), 4, 1)
    return float(20 * np.log10(max(float(np.max(np.abs(over))), 1e-9)))


def normalize(samples: np.ndarray, rate: int, offset_db: float = 0.0) -> np.ndarray:
    """Gain to ``TARGET_LUFS + offset_db`` integrated loudness, then peaks limited to
    ``TRUE_PEAK_DBTP`` (true peak)."""
    import pyloudnorm

    x = samples.astype(np.float64)
    if len(x) < int(0.4 * rate) or not np.any(x):  # BS.1770 gating needs one 400 ms block
        return limit_true_peak(x.astype(np.float32), rate)
    meter = pyloudnorm.Meter(rate)
    target = TARGET_LUFS + offset_db
    loudness = meter.integrated_loudness(x)
    if np.isfinite(loudness):
        x = x * 10 ** ((target - loudness) / 20)
    out = limit_true_peak(x.astype(np.float32), rate)
    after = meter.integrated_loudness(out.astype(np.float64))
    if np.isfinite(after) and after > target + 0.1:  # the limiter's compression stage can add level
        out = out * np.float32(10 ** ((target - after) / 20))
    return out


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_dbtp: float = TRUE_PEAK_DBTP) -> np.ndarray:
    """Limit peaks to ``ceiling_dbtp``; a signal already under it passes unchanged."""
    from pedalboard import Limiter
    from scipy.signal import resample_poly

    if len(samples) == 0 or true_peak_dbtp(samples, rate) <= ceiling_dbtp:
        return samples.astype(np.float32)
    ceiling = 10 ** (ceiling_dbtp / 20)
    # The limiter's ceiling is full scale: scale so that full scale means our ceiling, limit at
    # 4× the rate (true peak), and scale back.
    over = resample_poly(samples.astype(np.float64) / ceiling, 4, 1).astype(np.float32)
    limited = Limiter(threshold_db=0.0, release_ms=60.0)(over, float(rate * 4))
    out = resample_poly(limited.astype(np.float64), 1, 4)[: len(samples)] * ceiling
    rest = true_peak_dbtp(out, rate)  # the filters can leave a fraction of a dB
    if rest > ceiling_dbtp:
        out = out * 10 ** ((ceiling_dbtp - rest) / 20)
    return out.astype(np.float32)
