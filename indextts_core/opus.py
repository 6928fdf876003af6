"""Voice notes out: mono PCM → OGG/Opus at 48 kHz with tags, its true peak checked; the Ogg parser."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .loudness import MAX_DECODED_DBTP

OPUS_RATE = 48000
#: Voice notes at 32 kbit/s: what Telegram's and Discord's own apps send for speech.
VOICE_NOTE_BITRATE = 32000
#: No overshoot of the codec larger than this was ever measured (the largest: 1.5 dB, see
#: :data:`~indextts_core.loudness.CODEC_HEADROOM_DB`): a note whose own true peak lies further
#: than this under the limit is not decoded to check it.
OVERSHOOT_BOUND_DB = 2.0


@dataclass
class EncodeCounts:
    """What :func:`encode_ogg_opus` did, summed over notes (the bench reports it)."""

    notes: int = 0
    checked: int = 0  # decoded to check the peak
    reencoded: int = 0  # encoded more than once


def encode_ogg_opus(
    samples: np.ndarray,
    sample_rate: int,
    tags: Optional[dict[str, str]] = None,
    bitrate: int = VOICE_NOTE_BITRATE,
    max_true_peak_dbtp: Optional[float] = MAX_DECODED_DBTP,
    counts: Optional[EncodeCounts] = None,
) -> bytes:
    """Encode mono PCM as an OGG/Opus voice note (48 kHz) with Vorbis-comment tags, its decoded
    true peak at most ``max_true_peak_dbtp`` (None: as it comes).

    One encode: the note is limited :data:`~indextts_core.loudness.CODEC_HEADROOM_DB` under the
    limit first (a watermark or a caller's own audio may have raised its peaks).  A note that then
    comes within :data:`OVERSHOOT_BOUND_DB` of the limit is decoded and checked, and encoded once
    more a little quieter in the rare case the codec overshot further.
    """
    from .audio import resample
    from .loudness import CODEC_HEADROOM_DB, limited, true_peak_dbtp

    source = np.clip(samples, -1.0, 1.0)
    if max_true_peak_dbtp is not None:
        source, peak = limited(source, sample_rate, max_true_peak_dbtp - CODEC_HEADROOM_DB)
    pcm = resample(source, sample_rate, OPUS_RATE)
    data = _encode(pcm, tags, bitrate)
    if counts is not None:
        counts.notes += 1
    if max_true_peak_dbtp is None or not len(pcm) or peak <= max_true_peak_dbtp - OVERSHOOT_BOUND_DB:
        return data
    if counts is not None:
        counts.checked += 1
    # The codec's overshoot is not exactly proportional to the gain, so every try is decoded and
    # checked, the last one included, with a margin that grows each time.
    for attempt in range(1, 9):
        over = true_peak_dbtp(decode_ogg_opus(data), OPUS_RATE) - max_true_peak_dbtp
        if over <= 0:
            break
        if counts is not None and attempt == 1:
            counts.reencoded += 1
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


def decode_ogg_opus(data: bytes) -> np.ndarray:
    """Decode a note as players do, with libopus itself, to float at 48 kHz (FFmpeg's own Opus
    decoder and libopus's 16-bit output soft-clip, and would hide overshoots that phones play)."""
    import av

    pieces: list[np.ndarray] = []
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        decoder = av.codec.CodecContext.create("libopus", "r")
        decoder.options = {"request_sample_fmt": "flt"}
        decoder.extradata = stream.codec_context.extradata  # the OpusHead: channels, pre-skip
        for packet in container.demux(stream):
            if packet.size:
                pieces.extend(frame.to_ndarray().reshape(-1) for frame in decoder.decode(packet))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


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
