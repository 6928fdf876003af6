"""Decoding any audio people send (voice notes, phone recordings, files) to mono float32.

One decoder for every container, PyAV (FFmpeg's libraries in a wheel): Ogg/Opus, WAV, FLAC, MP3,
M4A/AAC from phones, WebM.  It reads from memory (a recording never touches the disk) and it is
bounded: a file of a few kilobytes can declare, or simply hold, hours of audio (an Opus
"decompression bomb"), so the container's declared length and channel count are checked before
anything is decoded, and decoding stops at the limit whatever the container said.
"""

from __future__ import annotations

import io
import os

import numpy as np

from .engine import Audio, AudioSource
from .errors import TooLongError, UnreadableAudioError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: The longest clip read as a whole: the longest voice reference (a longer one is refused).
MAX_DECODE_SECONDS = 30.0
MAX_CHANNELS = 8
MAX_SAMPLE_RATE = 192000

_UNREADABLE = ("This audio could not be read. Send a voice message, or a WAV, FLAC, OGG, MP3 or M4A file.",
               "无法读取这段音频。请发送语音消息，或 WAV、FLAC、OGG、MP3、M4A 文件。")


def _too_large(size: int, max_bytes: int) -> TooLongError:
    return TooLongError(
        f"This file is {size / 1e6:.0f} MB; please send a clip under {max_bytes // 10**6} MB (3–30 seconds of speech).",
        f"这个文件有 {size / 1e6:.0f} MB；请发送小于 {max_bytes // 10**6} MB 的录音（3–30 秒的讲话）。")


def _too_long(limit: float) -> TooLongError:
    return TooLongError(
        f"This clip is longer than {limit:.0f} seconds; please send 3–{limit:.0f} seconds of speech.",
        f"这段录音超过 {limit:.0f} 秒；请发送 3–{limit:.0f} 秒的讲话。")


def _bytes_of(source: AudioSource, max_bytes: int) -> bytes:
    if isinstance(source, Audio):
        raise TypeError("decoded audio has no file bytes")  # read_audio returns it as it is
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = os.fspath(source)
        try:
            size = os.path.getsize(path)
            if size > max_bytes:
                raise _too_large(size, max_bytes)
            with open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise UnreadableAudioError(f"Could not open the audio file {path!r}: {exc.strerror}.",
                                       f"无法打开音频文件 {path!r}：{exc.strerror}。") from exc
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if len(data) < 64:
        raise UnreadableAudioError("This audio file is empty or cut off. Please record it again.",
                                   "这个音频文件是空的或不完整。请重新录制。")
    return data


def read_audio(source: AudioSource, max_bytes: int = MAX_UPLOAD_BYTES, max_seconds: float = MAX_DECODE_SECONDS,
               cut: bool = False) -> Audio:
    """Decode a clip to mono float32 at its own rate.

    A clip longer than ``max_seconds`` is refused (:class:`TooLongError`), or with ``cut`` its
    first ``max_seconds`` are returned; either way no more than that is ever decoded.
    """
    if isinstance(source, Audio):
        return source
    data = _bytes_of(source, max_bytes)
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise UnreadableAudioError(*_UNREADABLE) from exc
    with container:
        if not container.streams.audio:
            raise UnreadableAudioError("This file holds no audio. Please send a voice message or an audio file.",
                                       "这个文件里没有音频。请发送语音消息或音频文件。")
        stream = container.streams.audio[0]
        rate, channels = int(stream.rate or 0), int(stream.channels or 0)
        if not 0 < rate <= MAX_SAMPLE_RATE or channels <= 0:
            raise UnreadableAudioError(*_UNREADABLE)
        if channels > MAX_CHANNELS:
            raise UnreadableAudioError(
                f"This file has {channels} channels; please send a voice message or a mono or stereo recording.",
                f"这个文件有 {channels} 个声道；请发送语音消息，或单声道、立体声的录音。")
        declared = container.duration / 1e6 if container.duration else 0.0  # av.time_base: µs
        if declared > max_seconds + 0.5 and not cut:
            raise _too_long(max_seconds)
        limit = int(max_seconds * rate)
        # Mono float at the stream's own rate, frame by frame: never more than the limit in memory.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    parts.append(chunk)
                    total += len(chunk)
                if total > limit:
                    break
            else:
                parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
        except av.FFmpegError as exc:
            if total == 0:  # a damaged tail after good audio is kept, as players do
                raise UnreadableAudioError(*_UNREADABLE) from exc
    if total > limit and not cut:
        raise _too_long(max_seconds)
    mono = np.concatenate(parts)[:limit].astype(np.float32) if parts else np.zeros(0, np.float32)
    if mono.size == 0:
        raise UnreadableAudioError("This audio file contains no sound. Please record it again.",
                                   "这个音频文件里没有声音。请重新录制。")
    if not np.all(np.isfinite(mono)):
        raise UnreadableAudioError("This audio file is damaged. Please record it again.",
                                   "这个音频文件已损坏。请重新录制。")
    return Audio(mono, rate)
