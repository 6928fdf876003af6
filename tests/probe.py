"""Files as apps make them and what a player sees in them, through FFmpeg's own encoders, demuxer
and decoders (PyAV), independently of the project's code: the codec, rate, channels, the length
a file decodes to."""

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


def encode(samples: np.ndarray, rate: int, fmt: str, codec: str, *, layout: str = "mono", frame: int = 1024,
           bitrate: int = 64000, options: dict | None = None) -> bytes:
    """``samples`` (mono float) as a ``fmt`` file in ``codec``, the same signal on every channel of ``layout``."""
    import av

    channels = av.AudioLayout(layout).nb_channels
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.bit_rate = bitrate
        stream.options = options or {}
        for start in range(0, len(samples), frame):
            chunk = np.repeat(samples[start:start + frame].astype(np.float32), channels)  # interleaved
            f = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout=layout)
            f.sample_rate, f.pts = rate, start
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
