"""The waveform Discord draws under a voice message."""

import numpy as np

from bot.core.waveform import waveform


def test_waveform_is_at_most_256_bytes_and_follows_loudness():
    x = np.concatenate([np.zeros(1000), 0.5 * np.ones(1000)]).astype(np.float32)
    wf = waveform(x)
    assert len(wf) == 256
    assert wf[0] == 0 and wf[-1] == 255
    assert len(waveform(x, points=1000)) == 256


def test_silence_draws_a_flat_line():
    assert waveform(np.zeros(0, np.float32)) == bytes(256) and waveform(np.zeros(500, np.float32), 10) == bytes(10)
