"""Audio in: resampling, DC and silence removal, and the checks a reference clip must pass.

Reading files is :mod:`.decoding`, voice notes out are :mod:`.opus`; both are re-exported here,
where callers have always found them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .decoding import MAX_UPLOAD_BYTES, read_audio  # noqa: F401  (public here too)
from .engine import Audio
from .errors import ClippingError, LowSampleRateError, NoSpeechError, TooLongError, TooNoisyError, TooShortError

MIN_SAMPLE_RATE = 16000
MIN_SPEECH_SECONDS = 3.0
MAX_REFERENCE_SECONDS = 30.0
MAX_CLIPPED_FRACTION = 0.005
MIN_SNR_DB = 15.0


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


from .opus import OPUS_RATE, OggOpusInfo, encode_ogg_opus, ogg_opus_info  # noqa: E402,F401  (public here too)
