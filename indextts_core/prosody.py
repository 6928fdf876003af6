"""Measuring and changing prosody and timbre with Praat (praat-parselmouth).

Praat's "Change gender" does pitch level, pitch range, formant scaling and PSOLA time-stretch
in one pass at RTF ~0.01 here, about 6x cheaper than a pyworld analysis/resynthesis
(RTF 0.058), so the pipeline stays near its Piper + Opus floor.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .emotion import ProsodyTarget

log = logging.getLogger(__name__)
_PRAAT_RANDOM = threading.Lock()  # Praat's random generator is one per process

PITCH_FLOOR = 60.0
PITCH_CEILING = 600.0
#: Loudness of neutral speech before the emotion's energy change (active-frame RMS).


@dataclass(frozen=True)
class ProsodyStats:
    """Prosody measured on a clip."""

    f0_median_hz: float
    f0_range_st: float  # interquartile spread of F0, semitones
    rate: float  # syllable nuclei (voiced intensity peaks) per second of speaking time
    energy_dbfs: float  # mean level of active frames
    tilt_db: float  # level above 1 kHz minus level below, in dB
    speech_seconds: float
    duration: float


def _sound(samples: np.ndarray, rate: int):
    import parselmouth

    return parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=rate)


#: The bands whose energies make the spectral tilt (Hz).
TILT_LOW = (80.0, 1000.0)
TILT_HIGH = (1000.0, 7000.0)


def long_term_spectrum(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and power of the long-term spectrum (Welch: Hann windows of ~93 ms, half
    overlapping, averaged), empty when the clip is too short to have one."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 512:
        return np.zeros(0), np.zeros(0)
    size = min(len(x), 1 << int(round(math.log2(rate * 0.093))))
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[:: size // 2]
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2, axis=0)
    return np.fft.rfftfreq(size, 1.0 / rate), power


def _tilt_of(freqs: np.ndarray, power: np.ndarray, rate: int) -> float:
    low = power[(freqs > TILT_LOW[0]) & (freqs < TILT_LOW[1])].sum() + 1e-12
    high = power[(freqs >= TILT_HIGH[0]) & (freqs < min(TILT_HIGH[1], rate / 2))].sum() + 1e-12
    return float(10 * math.log10(high / low))


def spectral_tilt_db(samples: np.ndarray, rate: int) -> float:
    """Energy above 1 kHz relative to energy below, in dB (long-term spectrum)."""
    freqs, power = long_term_spectrum(samples, rate)
    return _tilt_of(freqs, power, rate) if len(freqs) else 0.0


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median F0 of voiced frames in Hz (0 when nothing is voiced)."""
    f0 = _sound(samples, rate).to_pitch(time_step=0.01, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING).selected_array["frequency"]
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if len(voiced) >= 3 else 0.0


def measure(samples: np.ndarray, rate: int) -> ProsodyStats:
    """F0 level and range, rate, energy and tilt of a speech clip."""
    snd = _sound(samples, rate)
    f0 = snd.to_pitch(time_step=0.01, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING).selected_array["frequency"]
    voiced = f0 > 0
    if voiced.sum() >= 3:
        median = float(np.median(f0[voiced]))
        st = 12 * np.log2(f0[voiced] / median)
        # interquartile spread: robust to the tracker's octave errors on creaky voice
        spread = float(np.percentile(st, 75) - np.percentile(st, 25))
    else:
        median, spread = 0.0, 0.0
    frame = max(1, int(rate * 0.02))
    usable = len(samples) // frame * frame
    rms = np.sqrt(np.mean(np.asarray(samples[:usable], dtype=np.float64).reshape(-1, frame) ** 2, axis=1)) if usable else np.zeros(1)
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    active = db > max(db.max() - 35, -60)
    speech_seconds = float(active.sum() * 0.02)
    energy = float(10 * np.log10(np.mean(rms[active] ** 2) + 1e-12)) if active.any() else -120.0
    rate_sps = _syllable_nuclei(samples, rate, voiced) / speech_seconds if speech_seconds > 0 else 0.0
    return ProsodyStats(median, spread, rate_sps, energy, spectral_tilt_db(samples, rate), speech_seconds, len(samples) / rate)


def _syllable_nuclei(samples: np.ndarray, rate: int, voiced: np.ndarray) -> int:
    """Count syllables the way de Jong & Wempe (2009) do: peaks of the intensity contour that
    stand ≥ 2 dB above the dips around them, within 25 dB of the loudest, on voiced frames.

    Counting voiced stretches instead undercounts fast speech, where syllables run together.
    """
    from scipy.signal import find_peaks

    hop, win = max(1, rate // 100), max(1, int(rate * 0.03))
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < win:
        return 0
    energy = np.convolve(x ** 2, np.ones(win) / win, mode="valid")[::hop]
    db = 10 * np.log10(energy + 1e-12)
    db = np.convolve(db, np.ones(3) / 3, mode="same")
    peaks, _ = find_peaks(db, prominence=2.0, distance=6, height=db.max() - 25)
    n = min(len(voiced), len(db))
    return int(sum(1 for p in peaks if p < n and voiced[p]))


def change_voice(
    samples: np.ndarray,
    rate: int,
    *,
    pitch_median_hz: float = 0.0,
    pitch_range: float = 1.0,
    formant_ratio: float = 1.0,
    duration_factor: float = 1.0,
) -> np.ndarray:
    """Praat "Change gender": new pitch median (0 keeps it), range factor, formants, PSOLA length."""
    if pitch_median_hz == 0.0 and abs(pitch_range - 1) < 1e-3 and abs(formant_ratio - 1) < 1e-3 and abs(duration_factor - 1) < 1e-4:
        return samples.astype(np.float32, copy=False)
    if len(samples) < int(0.05 * rate):
        return samples.astype(np.float32, copy=False)
    import parselmouth
    from parselmouth.praat import call, run

    sound = _sound(samples, rate)
    if pitch_range > 1.0:
        pitch_range = _safe_range(sound, pitch_median_hz, pitch_range)
    # Praat's own pitch analysis inside "Change gender" can still reject a contour (rarely, on
    # some clones' runs: "rounding up --undefined--"): keep the level, then only formants and
    # length, rather than lose the whole note.  The caller trims to the exact length anyway.
    attempts = [(pitch_median_hz, pitch_range), (pitch_median_hz, 1.0), (0.0, 1.0)]
    for i, (median, spread) in enumerate(attempts):
        try:
            with _PRAAT_RANDOM:
                # Praat's PSOLA draws random numbers (for unvoiced stretches): from a fixed seed, the
                # same input gives the same samples, in every thread and process — a clone is fitted
                # on these, and a profile must be a function of its recording alone.
                run("random_initializeWithSeedUnsafelyButPredictably (0)")
                out = call(sound, "Change gender", PITCH_FLOOR, PITCH_CEILING,
                           formant_ratio, median, spread, duration_factor)
            break
        except parselmouth.PraatError as exc:
            if i == len(attempts) - 1:
                raise
            log.warning("Change gender refused (median %.1f Hz, range %.2f): %s; retrying simpler",
                        median, spread, str(exc).splitlines()[0])
    result = out.values[0].astype(np.float32)
    if out.sampling_frequency != rate:  # Change gender keeps the rate, but be safe
        from .audio import resample

        result = resample(result, int(out.sampling_frequency), rate)
    return np.nan_to_num(result)


def _safe_range(sound, new_median_hz: float, pitch_range: float, lowest_hz: float = 70.0) -> float:
    """Cap a widening pitch range so the lowest note stays above ``lowest_hz``.

    Praat scales each F0 value's distance from the median; a wide range around a high median can
    push the lowest values to zero or below, where its PSOLA never finishes.
    """
    f0 = sound.to_pitch(time_step=0.01, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING).selected_array["frequency"]
    f0 = f0[f0 > 0]
    if len(f0) == 0:
        return 1.0
    median, low = float(np.median(f0)), float(np.min(f0))
    target = new_median_hz or median
    if low >= median:
        return pitch_range
    limit = (target - lowest_hz) * median / ((median - low) * target)
    return float(max(1.0, min(pitch_range, limit)))


def _shelf_coefficients(rate: int, gain_db: float, corner_hz: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """RBJ high-shelf biquad: + brightens (tenser voice), - darkens (laxer, breathier)."""
    a_gain = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * corner_hz / rate
    alpha = math.sin(w0) / 2 * math.sqrt(2)
    cosw = math.cos(w0)
    sq = 2 * math.sqrt(a_gain) * alpha
    b = [a_gain * ((a_gain + 1) + (a_gain - 1) * cosw + sq), -2 * a_gain * ((a_gain - 1) + (a_gain + 1) * cosw),
         a_gain * ((a_gain + 1) + (a_gain - 1) * cosw - sq)]
    a = [(a_gain + 1) - (a_gain - 1) * cosw + sq, 2 * ((a_gain - 1) - (a_gain + 1) * cosw),
         (a_gain + 1) - (a_gain - 1) * cosw - sq]
    return np.array(b) / a[0], np.array(a) / a[0]


def _shelf_gain_for(freqs: np.ndarray, power: np.ndarray, rate: int, need_db: float) -> float:
    """The shelf gain that moves the tilt of a clip with this spectrum by ``need_db``.

    The shelf's response multiplies the spectrum, so its effect is computed on the spectrum
    (secant steps, no filtering): a 1 kHz shelf of +4 dB moves the tilt by only ~2–3 dB (its slope
    sits inside the band), so the gain is not the tilt asked for.
    """
    from scipy.signal import freqz

    have = _tilt_of(freqs, power, rate)

    def moved(gain: float) -> float:
        _, h = freqz(*_shelf_coefficients(rate, gain), worN=freqs, fs=rate)
        return _tilt_of(freqs, power * np.abs(h) ** 2, rate) - have

    g0, m0 = 0.0, 0.0
    g1 = float(np.clip(need_db, -15.0, 15.0))
    m1 = moved(g1)
    for _ in range(6):
        if abs(m1 - need_db) <= 0.01 or abs(m1 - m0) < 1e-9:
            break
        g0, m0, g1 = g1, m1, float(np.clip(g1 + (need_db - m1) * (g1 - g0) / (m1 - m0), -15.0, 15.0))
        m1 = moved(g1)
    return g1


def tilt_to(samples: np.ndarray, rate: int, goal_db: float) -> np.ndarray:
    """Shelve the spectrum until its tilt (:func:`spectral_tilt_db`) is ``goal_db``: presets reach
    their documented tilt, not a fraction of it."""
    freqs, power = long_term_spectrum(samples, rate)
    need = goal_db - _tilt_of(freqs, power, rate) if len(freqs) else 0.0
    if abs(need) < 0.1:
        return np.asarray(samples, dtype=np.float32)
    from scipy.signal import lfilter

    return lfilter(*_shelf_coefficients(rate, _shelf_gain_for(freqs, power, rate, need)), samples).astype(np.float32)


def finish(samples: np.ndarray, rate: int, *, energy_db: float, tilt_goal_db: float) -> np.ndarray:
    """Voice-quality tilt to ``tilt_goal_db`` (absolute, see :func:`tilt_to`), loudness (the
    target level plus the emotion's energy offset, see :mod:`indextts_core.loudness`) measured on
    what the tilt made, and the true-peak ceiling that leaves the codec its headroom.

    Limiting the loudest emotions takes level with the peaks, so it is given back (make-up gain,
    limited again) until the note is within 0.2 LU of its target.
    """
    from .loudness import TARGET_LUFS, limit_true_peak, loudness_lufs, to_loudness

    target = TARGET_LUFS + energy_db
    out = limit_true_peak(to_loudness(tilt_to(samples, rate, tilt_goal_db), rate, target), rate)
    for _ in range(3):
        short = target - loudness_lufs(out, rate)
        if not np.isfinite(short) or short <= 0.2:
            break
        out = limit_true_peak(out * np.float32(10 ** (short / 20)), rate)
    return out


def scale_pauses(samples: np.ndarray, rate: int, factor: float, min_pause_s: float = 0.07) -> np.ndarray:
    """Lengthen or shorten the silences inside speech (clause breaks a voice leaves at commas)
    by ``factor``; the edges and the sound around each pause are left as they are."""
    if abs(factor - 1.0) < 0.02 or len(samples) < rate // 4:
        return samples
    frame = max(1, rate // 100)  # 10 ms
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-7))
    quiet = db < db.max() - 40
    pieces: list[np.ndarray] = []
    last = 0
    i = 0
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        inside = i > 0 and j < n  # a pause between two sounds, not leading or trailing silence
        if inside and (j - i) * frame >= min_pause_s * rate:
            middle = (i + j) // 2 * frame
            change = round((j - i) * frame * (factor - 1.0))
            pieces.append(samples[last:middle])
            if change > 0:
                pieces.append(np.zeros(change, dtype=samples.dtype))
                last = middle
            else:
                last = middle - change  # drop |change| samples of silence from the middle
        i = j
    pieces.append(samples[last:])
    return np.concatenate(pieces)


def fit_length(samples: np.ndarray, target_len: int) -> np.ndarray:
    """Make the clip exactly ``target_len`` samples by trimming or padding the trailing silence."""
    if len(samples) >= target_len:
        return samples[:target_len]
    return np.concatenate([samples, np.zeros(target_len - len(samples), dtype=np.float32)])


#: Neutral read speech, the yardstick for a clip from a speaker we know nothing about: the
#: interquartile F0 spread (semitones) and syllables per second, centred on neutral readings by the
#: bank's voices and eSpeak NG's (``bench/emotion.py --norms`` prints them: spread 1.3–5.4 st,
#: rate 4.5–5.2 /s).
NEUTRAL_RANGE_ST = 2.4
NEUTRAL_RATE = 4.8
#: How far neutral speakers scatter around those norms (log-factors): inside this, a clip counts
#: as neutral.  Pitch spread differs a lot between people (and is wider in Mandarin), so a
#: stranger's clip must be far from the norm to count; with a stored profile the speaker's own
#: baseline is known and the margins shrink.
STRANGER_MARGIN = {"range": math.log(2.3), "rate": math.log(1.08)}
KNOWN_MARGIN = {"range": math.log(1.25), "f0_st": 0.7, "energy_db": 1.5}
#: What one unit of arousal does to the output (a stranger's clip is read on this one axis).
AROUSAL = ProsodyTarget(f0_shift_st=2.5, f0_range=1.35, rate=1.08, energy_db=2.0, pause=0.9, tilt_db=1.5)


def _beyond(value: float, margin: float) -> float:
    """``value`` with its first ``margin`` (either side of 0) removed: small deviations are noise."""
    return math.copysign(max(0.0, abs(value) - margin), value)


def _clamp(v: float, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, v)))


def baseline_from_meta(meta: dict) -> Optional[ProsodyStats]:
    """A speaker's neutral prosody as stored in a voice profile's meta (None when absent)."""
    p = meta.get("prosody") if isinstance(meta, dict) else None
    try:
        return ProsodyStats(float(p["f0_median_hz"]), float(p["f0_range_st"]), float(p["rate"]),
                            float(p["energy_dbfs"]), float(p["tilt_db"]), 0.0, 0.0) if p else None
    except (KeyError, TypeError, ValueError):
        return None


def baseline_meta(stats: ProsodyStats) -> dict:
    """What :func:`baseline_from_meta` reads back."""
    return {"f0_median_hz": round(stats.f0_median_hz, 1), "f0_range_st": round(stats.f0_range_st, 3),
            "rate": round(stats.rate, 3), "energy_dbfs": round(stats.energy_dbfs, 2), "tilt_db": round(stats.tilt_db, 2)}


def target_from_reference(ref: ProsodyStats, baseline: Optional[ProsodyStats] = None) -> ProsodyTarget:
    """The emotion of a reference clip, with its speaker taken out.

    Without a ``baseline`` the speaker is a stranger: only what is comparable across people is
    read — pitch spread in semitones and syllable rate, against norms of neutral speech, beyond
    the scatter of neutral speakers — and summed into one arousal value that moves every output
    feature together (:data:`AROUSAL`): excited clips raise pitch, range, rate, energy and
    brightness, sad ones lower them.  The clip's own pitch level and loudness say who spoke and
    how the microphone was set, not the emotion, and are ignored.  With the speaker's own
    ``baseline`` (their voice profile, e.g. a /say that replies to their own voice note) their
    pitch level, spread and loudness are compared with it, on the same axis.
    """
    if ref.f0_median_hz <= 0 or ref.f0_range_st <= 0 or ref.rate <= 0:
        return ProsodyTarget()  # nothing voiced to read
    a = AROUSAL
    if baseline is not None and baseline.f0_median_hz > 0 and baseline.f0_range_st > 0 and baseline.rate > 0:
        # the speaker's own pitch level and loudness become evidence; the margins cover another
        # text read on another day.  Syllable rate is left out: between two texts of the same
        # speaker it varied by 20 % (bench/emotion.py), more than acting changed it.
        m = KNOWN_MARGIN
        arousal = (_beyond(12 * math.log2(ref.f0_median_hz / baseline.f0_median_hz), m["f0_st"]) / a.f0_shift_st
                   + _beyond(math.log(ref.f0_range_st / baseline.f0_range_st), m["range"]) / math.log(a.f0_range)
                   + _beyond(ref.energy_dbfs - baseline.energy_dbfs, m["energy_db"]) / a.energy_db)
    else:
        m = STRANGER_MARGIN
        arousal = (_beyond(math.log(ref.f0_range_st / NEUTRAL_RANGE_ST), m["range"]) / math.log(a.f0_range)
                   + _beyond(math.log(ref.rate / NEUTRAL_RATE), m["rate"]) / math.log(a.rate))
    return a.scaled(_clamp(arousal, -1.5, 1.5))
