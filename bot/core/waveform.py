"""The waveform Discord draws under a voice message (a platform detail: not the core's)."""

from __future__ import annotations

import numpy as np


def waveform(samples: np.ndarray, points: int = 256) -> bytes:
    """Discord voice-message waveform: ≤ 256 one-byte amplitude points (0–255)."""
    points = max(1, min(points, 256))
    if len(samples) == 0:
        return bytes(points)
    chunks = np.array_split(np.abs(samples.astype(np.float32)), points)
    peaks = np.array([c.max() if len(c) else 0.0 for c in chunks])
    top = peaks.max()
    scaled = np.zeros_like(peaks) if top <= 0 else np.round(255 * peaks / top)
    return bytes(int(v) for v in scaled)
