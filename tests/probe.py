"""What a player sees in a file, read by FFmpeg's own demuxer and decoder (PyAV), independently of
the project's Ogg parser: the codec, rate, channels, the length it decodes to."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Probe:
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float  # seconds of audio the file decodes to
    samples: np.ndarray  # decoded, mono float32


def probe(data: bytes) -> Probe:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        mono = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
        parts = [out.to_ndarray().reshape(-1) for frame in container.decode(stream) for out in mono.resample(frame)]
        parts += [out.to_ndarray().reshape(-1) for out in mono.resample(None)]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return Probe(container.format.name, stream.codec_context.name, int(stream.rate), int(stream.channels),
                     len(samples) / stream.rate, samples.astype(np.float32))
