"""Audio checks and output: checking reference clips, resampling, OGG/Opus voice notes (decoding: :mod:`.decoding`)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .decoding import MAX_UPLOAD_BYTES, read_audio  # noqa: F401  (decoding is its own module)
from .engine import Audio
from .errors import ClippingError, LowSampleRateError, NoSpeechError, TooLongError, TooNoisyError, TooShortError

OPUS_RATE = 48000
#: Voice notes at 32 kbit/s: what Telegram's and Discord's own apps send for speech.
VOICE_NOTE_BITRATE = 32000

MIN_SAMPLE_RATE = 16000
MIN_SPEECH_SECONDS = 3.0
MAX_REFERENCE_SECONDS = 30.0
MAX_CLIPPED_FRACTION = 0.005
MIN_SNR_DB = 15.0
MAX_DECODED_DBTP = -1.0  # no voice note's decoded true peak above this


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """High-quality resampling (soxr); returns float32."""
    if rate_in == rate_out:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples.astype(np.float32, copy=False), rate_in, rate_out, quality="HQ").astype(np.float32)


_NO_SPEECH = ("I could not hear any speech in this clip. Please record yourself speaking clearly.",
              "这段录音里我没有听到说话。请清楚地录下你说话的声音。")


def remove_dc(samples: np.ndarray, rate: int, cutoff_hz: float = 40.0) -> np.ndarray:
    """High-pass below the voice range: a DC offset or rumble would otherwise read as a loud noise
    floor (and a refused clip) in every check that follows."""
    from scipy.signal import butter, sosfiltfilt

    if len(samples) < 64:
        return samples
    sos = butter(2, cutoff_hz, btype="highpass", fs=rate, output="sos")
    return sosfiltfilt(sos, samples - float(np.mean(samples))).astype(np.float32)


def trim_silence(samples: np.ndarray, rate: int, threshold_db: float = -45.0) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames under ``threshold_db`` from the peak)."""
    if len(samples) == 0:
        return samples
    frame = int(rate * 0.01)
    n = len(samples) // frame
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(20 * np.log10(np.maximum(rms, 1e-7)) > 20 * np.log10(max(rms.max(), 1e-7)) + threshold_db)[0]
    if len(loud) == 0:
        return samples[:0]
    return samples[max(0, loud[0] - 1) * frame: min(n, loud[-1] + 2) * frame]


@dataclass(frozen=True)
class ReferenceReport:
    """What was measured on an accepted reference clip."""

    duration: float
    speech_seconds: float
    snr_db: float
    clipped_fraction: float
    peak_dbfs: float


def _frame_db(samples: np.ndarray, rate: int, frame_s: float = 0.02) -> np.ndarray:
    n = max(1, int(rate * frame_s))
    usable = len(samples) // n * n
    if usable == 0:
        return np.array([-120.0])
    frames = samples[:usable].reshape(-1, n).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def _voiced_seconds(samples: np.ndarray, rate: int) -> float:
    import parselmouth

    snd = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=rate)
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=60, pitch_ceiling=600)
    return float(np.count_nonzero(pitch.selected_array["frequency"] > 0) * 0.01)


def check_reference(
    audio: Audio,
    *,
    min_speech: float = MIN_SPEECH_SECONDS,
    max_duration: float = MAX_REFERENCE_SECONDS,
) -> ReferenceReport:
    """Raise the specific :class:`ReferenceAudioError` a clip deserves, or describe it."""
    if audio.sample_rate < MIN_SAMPLE_RATE:
        raise LowSampleRateError(
            f"This recording has a sample rate of {audio.sample_rate} Hz; at least {MIN_SAMPLE_RATE} Hz is "
            "needed. Please record with your phone's voice recorder or the app's voice message button.",
            f"这段录音的采样率是 {audio.sample_rate} Hz，至少需要 {MIN_SAMPLE_RATE} Hz。"
            "请用手机的录音功能或应用的语音消息按钮录制。",
        )
    if audio.duration > max_duration:
        raise TooLongError(
            f"This clip is {audio.duration:.0f} s long; please send {min_speech:.0f}–{max_duration:.0f} seconds of speech.",
            f"这段录音长 {audio.duration:.0f} 秒；请发送 {min_speech:.0f}–{max_duration:.0f} 秒的讲话。",
        )
    raw = audio.samples
    x = remove_dc(raw, audio.sample_rate)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    peak_db = 20 * np.log10(max(peak, 1e-6))
    db = _frame_db(x, audio.sample_rate)
    if peak_db < -45:
        raise NoSpeechError(*_NO_SPEECH)
    floor = float(np.percentile(db, 10))
    loud = float(np.percentile(db, 95))
    snr = loud - max(floor, -90.0)
    voiced = _voiced_seconds(x, audio.sample_rate)
    if snr < 2.0 and voiced < 0.4:  # nothing rises above a steady noise
        raise NoSpeechError("I could not hear any speech in this clip, only a steady noise. "
                            "Please record yourself speaking, somewhere quieter.",
                            "这段录音里我只听到持续的噪音，没有听到说话。请在更安静的地方录下你说话的声音。")
    # Noise before "no speech": in heavy noise the pitch tracker finds little voice, and "speak
    # clearly" would send the user to record again in the same noisy place.
    if snr < MIN_SNR_DB:
        raise TooNoisyError(
            f"There is too much background noise (about {max(snr, 0):.0f} dB below your voice; "
            f"{MIN_SNR_DB:.0f} dB needed). Please record somewhere quieter.",
            f"背景噪音太大（只比你的声音低约 {max(snr, 0):.0f} dB，需要 {MIN_SNR_DB:.0f} dB）。请在更安静的地方录制。",
        )
    if voiced < 0.4:
        raise NoSpeechError(*_NO_SPEECH)
    raw_peak = float(np.max(np.abs(raw)))  # clipping is a property of the recording as it was made
    clipped = float(np.mean(np.abs(raw) >= 0.99 * raw_peak)) if raw_peak >= 0.98 else 0.0
    if clipped > MAX_CLIPPED_FRACTION:
        raise ClippingError(
            "This recording is distorted (too loud, the peaks are cut off). "
            "Please hold the microphone a little further away and record again.",
            "这段录音失真了（太响，波峰被削掉）。请把麦克风拿远一点再录一次。",
        )
    threshold = max(floor + 0.35 * snr, loud - 35.0)
    speech = float(np.count_nonzero(db > threshold) * 0.02)
    if speech < min_speech:
        raise TooShortError(
            f"I heard only {speech:.1f} s of speech; please speak for at least {min_speech:.0f} seconds "
            f"(up to {max_duration:.0f}).",
            f"我只听到 {speech:.1f} 秒的讲话；请至少说 {min_speech:.0f} 秒（最多 {max_duration:.0f} 秒）。",
        )
    return ReferenceReport(audio.duration, speech, snr, clipped, peak_db)


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
