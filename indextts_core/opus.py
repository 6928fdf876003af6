"""Voice notes out: mono PCM → OGG/Opus at 48 kHz with tags, its true peak checked; the Ogg parser."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np

OPUS_RATE = 48000
#: Voice notes at 32 kbit/s: what Telegram's and Discord's own apps send for speech.
VOICE_NOTE_BITRATE = 32000
MAX_DECODED_DBTP = -1.0  # no voice note's decoded true peak above this


def encode_ogg_opus(
    samples: np.ndarray,
    sample_rate: int,
    tags: Optional[dict[str, str]] = None,
    bitrate: int = VOICE_NOTE_BITRATE,
    max_true_peak_dbtp: Optional[float] = MAX_DECODED_DBTP,
) -> bytes:
    """Encode mono PCM as an OGG/Opus voice note (48 kHz) with Vorbis-comment tags.

    Opus can overshoot the input's peaks a little; the result is decoded and checked, and encoded
    once more a little quieter if its true peak would exceed ``max_true_peak_dbtp``.
    """
    from .audio import resample

    pcm = resample(np.clip(samples, -1.0, 1.0), sample_rate, OPUS_RATE)
    data = _encode(pcm, tags, bitrate)
    if max_true_peak_dbtp is not None and len(pcm):
        from .loudness import true_peak_dbtp

        # The codec's overshoot is not exactly proportional to the gain, so every try is decoded
        # and checked, the last one included, with a margin that grows each time.
        for attempt in range(1, 9):
            over = true_peak_dbtp(_decode(data), OPUS_RATE) - max_true_peak_dbtp
            if over <= 0:
                break
            pcm = pcm * np.float32(10 ** (-(over + 0.2 * attempt) / 20))
            data = _encode(pcm, tags, bitrate)
    return data


def _encode(pcm: np.ndarray, tags: Optional[dict[str, str]], bitrate: int) -> bytes:
    """libopus through PyAV (faster than through libsndfile: bench/core.py, figures in README)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        out.metadata.update(tags or {})
        stream = out.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = bitrate
        stream.options = {"application": "voip"}  # speech, not music
        frame_len = OPUS_RATE // 50  # 20 ms, what voice notes use
        pcm = np.ascontiguousarray(pcm, dtype=np.float32)
        for start in range(0, len(pcm), frame_len):
            frame = av.AudioFrame.from_ndarray(pcm[None, start:start + frame_len], format="flt", layout="mono")
            frame.sample_rate = OPUS_RATE
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    """Decode our own note as players do, with libopus itself (libsndfile's): FFmpeg's own Opus
    decoder soft-clips, and would hide overshoots that phones play."""
    import soundfile as sf

    return sf.read(io.BytesIO(data), dtype="float64")[0]


@dataclass(frozen=True)
class OggOpusInfo:
    channels: int
    input_rate: int
    pre_skip: int
    duration: float
    tags: dict[str, str]


def ogg_opus_info(data: bytes) -> OggOpusInfo:
    """Parse OpusHead, OpusTags and the last granule position of an Ogg/Opus stream."""
    if not data.startswith(b"OggS"):
        raise ValueError("not an Ogg stream")
    packets: list[bytes] = []
    pos = 0
    last_granule = 0
    partial = b""
    while pos + 27 <= len(data) and data[pos:pos + 4] == b"OggS":
        granule = struct.unpack_from("<q", data, pos + 6)[0]
        nseg = data[pos + 26]
        lacing = data[pos + 27:pos + 27 + nseg]
        body = pos + 27 + nseg
        for lace in lacing:
            partial += data[body:body + lace]
            body += lace
            if lace < 255:
                if len(packets) < 2:
                    packets.append(partial)
                partial = b""
        if granule >= 0:
            last_granule = granule
        pos = body
    if len(packets) < 2 or not packets[0].startswith(b"OpusHead") or not packets[1].startswith(b"OpusTags"):
        raise ValueError("not an Ogg/Opus stream")
    head = packets[0]
    channels, pre_skip, input_rate = head[9], struct.unpack_from("<H", head, 10)[0], struct.unpack_from("<I", head, 12)[0]
    tags_pkt = packets[1]
    vlen = struct.unpack_from("<I", tags_pkt, 8)[0]
    off = 12 + vlen
    count = struct.unpack_from("<I", tags_pkt, off)[0]
    off += 4
    tags: dict[str, str] = {}
    for _ in range(count):
        n = struct.unpack_from("<I", tags_pkt, off)[0]
        key, _, value = tags_pkt[off + 4:off + 4 + n].decode("utf-8", "replace").partition("=")
        tags[key.upper()] = value
        off += 4 + n
    return OggOpusInfo(channels, input_rate, pre_skip, max(0, last_granule - pre_skip) / OPUS_RATE, tags)
