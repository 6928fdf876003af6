"""The watermark measured: detection and payload reads per attack, false positives on unmarked
speech, and the mark's SNR.  Every figure is measured in this run.

Marked clips are notes of the default engine (its bank voices, English and Chinese) on texts the
tuning never used; unmarked clips are eSpeak NG voices and the same engine's unmarked notes.
Attacks: Opus at 16/24/64 kbit/s, MP3 64 kbit/s, AAC 48 kbit/s, resampling to 16 kHz, a random
3 s cut, concatenation with unmarked speech, gain −12 dB and +6 dB (with clipping), white noise
at 20 dB SNR, speed ±5 % (resampled: pitch moves) and tempo ±5 % (pitch kept), and a phone replay
(300–3400 Hz, room reverb RT60 0.4 s, noise at 25 dB, 16 kHz).

Usage: python bench/watermark.py [--quick] [--null N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indextts_core import watermark  # noqa: E402
from indextts_core.audio import resample  # noqa: E402
from tests.probe import encode, probe  # noqa: E402

RNG = np.random.default_rng(20261202)

TEXTS_EN = [
    "The last train leaves at ten, so we should hurry up and finish dinner.",
    "Please put the blue folder back on the shelf when you are done with it.",
    "I think the garden looks much better since we planted the roses.",
    "Send me a message when you arrive, and drive carefully in the rain.",
    "Her sister moved to a small town near the coast last winter.",
    "We need two more chairs for the party on Saturday evening.",
    "The printer on the second floor has been broken for a week.",
    "If the shop is closed, try the market on the other side of the bridge.",
]
TEXTS_ZH = ["明天早上八点我们在学校门口见面。", "这个周末我想在家里好好休息一下。",
            "请把桌子上的杯子洗干净再放回去。", "他昨天买了一辆新的自行车。"]
ESPEAK = [("en-us+f3", 60), ("en+m3", 35), ("en-us+f5", 70), ("en+m1", 45), ("en+f2", 55), ("en-gb-x-rp+m7", 50),
          ("en+f4", 65), ("en-us+m4", 40)]


# --- attacks -----------------------------------------------------------------------------------

def codec(x: np.ndarray, sr: int, name: str, fmt: str, bitrate: int, rate: int) -> tuple[np.ndarray, int]:
    """Encode with FFmpeg's own encoders (PyAV) and decode back."""
    heard = probe(encode(resample(x, sr, rate), rate, fmt, name, frame=960 if name == "libopus" else 1024,
                         bitrate=bitrate))
    return heard.samples, heard.sample_rate


def speed(x: np.ndarray, sr: int, factor: float) -> tuple[np.ndarray, int]:
    """Played ``factor``× fast by resampling (pitch moves with it)."""
    import soxr

    return soxr.resample(x, sr * factor, sr, quality="HQ").astype(np.float32), sr


def tempo(x: np.ndarray, sr: int, factor: float) -> tuple[np.ndarray, int]:
    """``factor``× fast, pitch kept (Praat's overlap-add lengthening, as players do)."""
    import parselmouth
    from parselmouth.praat import call

    snd = parselmouth.Sound(x.astype(np.float64), sampling_frequency=sr)
    out = call(snd, "Lengthen (overlap-add)", 75, 600, 1 / factor)
    return out.values[0].astype(np.float32), sr


def noise(x: np.ndarray, sr: int, snr_db: float) -> np.ndarray:
    active = x[np.abs(x) > 0.01 * np.max(np.abs(x))]
    p = float(np.mean(active ** 2)) if len(active) else 1e-6
    return (x + RNG.normal(0, np.sqrt(p / 10 ** (snr_db / 10)), len(x))).astype(np.float32)


def phone_replay(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """A loudspeaker into a phone in a room: band-limit, reverb, noise, 16 kHz."""
    from scipy.signal import butter, fftconvolve, sosfilt

    y = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos"), x)
    t = np.arange(int(0.5 * sr)) / sr
    ir = RNG.normal(0, 1, len(t)) * np.exp(-6.9 * t / 0.4)
    ir[0] = 8.0  # the direct sound
    y = fftconvolve(y, ir / np.sqrt(np.sum(ir ** 2)))[: len(y)]
    y = y / (np.max(np.abs(y)) + 1e-9) * 0.5
    return resample(noise(y.astype(np.float32), sr, 25.0), sr, 16000), 16000


def cut3(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    n = int(3.0 * sr)
    start = int(RNG.integers(0, max(1, len(x) - n)))
    return x[start:start + n], sr


def concat(x: np.ndarray, sr: int, others: list[np.ndarray]) -> tuple[np.ndarray, int]:
    a, b = (others[int(i)] for i in RNG.integers(0, len(others), 2))
    seg, _ = cut3(x, sr)
    return np.concatenate([a[: 2 * sr], seg, b[: 2 * sr]]).astype(np.float32), sr


def attacks(others: list[np.ndarray]) -> dict[str, Callable[[np.ndarray, int], tuple[np.ndarray, int]]]:
    three = lambda f: (lambda x, sr: cut3(*f(x, sr)))  # noqa: E731  every attack judged on 3 s
    return {
        "none (3 s)": three(lambda x, sr: (x, sr)),
        "Opus 16 kbit/s": three(lambda x, sr: codec(x, sr, "libopus", "ogg", 16000, 48000)),
        "Opus 24 kbit/s": three(lambda x, sr: codec(x, sr, "libopus", "ogg", 24000, 48000)),
        "Opus 64 kbit/s": three(lambda x, sr: codec(x, sr, "libopus", "ogg", 64000, 48000)),
        "MP3 64 kbit/s": three(lambda x, sr: codec(x, sr, "libmp3lame", "mp3", 64000, 44100)),
        "AAC 48 kbit/s": three(lambda x, sr: codec(x, sr, "aac", "adts", 48000, 44100)),
        "resampled to 16 kHz": three(lambda x, sr: (resample(x, sr, 16000), 16000)),
        "concatenated (2 s + 3 s + 2 s)": lambda x, sr: concat(x, sr, others),
        "gain -12 dB": three(lambda x, sr: (x * 0.25, sr)),
        "gain +6 dB, clipped": three(lambda x, sr: (np.clip(x * 2.0, -1, 1), sr)),
        "noise 20 dB SNR": three(lambda x, sr: (noise(x, sr, 20.0), sr)),
        "speed +5 %": three(lambda x, sr: speed(x, sr, 1.05)),
        "speed -5 %": three(lambda x, sr: speed(x, sr, 0.95)),
        "tempo +5 %": three(lambda x, sr: tempo(x, sr, 1.05)),
        "tempo -5 %": three(lambda x, sr: tempo(x, sr, 0.95)),
        "phone replay (band-limit, reverb, noise)": three(phone_replay),
        "Opus 16 kbit/s + speed +5 % + noise": three(
            lambda x, sr: (lambda y, r: (noise(y, r, 20.0), r))(*speed(*codec(x, sr, "libopus", "ogg", 16000, 48000), 1.05))),
    }


# --- corpus ------------------------------------------------------------------------------------

def corpus(n: int):
    from indextts_core.backends.default import DefaultEngine
    from indextts_core.backends.espeak import EspeakVoice

    engine = DefaultEngine()
    bank = []
    texts = TEXTS_EN + TEXTS_ZH
    for i in range(n):
        r = engine.synthesize(texts[i % len(texts)] + " " + texts[(i + 3) % len(texts)])
        bank.append((r.samples.astype(np.float32), r.sample_rate))
    unmarked = []
    for i, (voice, pitch) in enumerate(ESPEAK * max(1, n // len(ESPEAK))):
        ev = EspeakVoice(voice, rate_wpm=160 + 10 * (i % 3), pitch=pitch)
        unmarked.append((ev.synthesize(TEXTS_EN[i % len(TEXTS_EN)] + " " + TEXTS_EN[(i + 1) % len(TEXTS_EN)]), ev.sample_rate))
    return engine, bank, unmarked


def snr_db(clean: np.ndarray, marked: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean.astype(np.float64) ** 2) / np.sum((marked - clean).astype(np.float64) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--null", type=int, default=0, help="unmarked 3 s windows for the false-positive count")
    args = ap.parse_args()
    n = 4 if args.quick else 12
    t0 = time.perf_counter()
    _, bank, unmarked = corpus(n)
    marked = []
    snrs = []
    for x, sr in bank:
        payload = int(RNG.integers(0, 1 << watermark.PAYLOAD_BITS))
        y = watermark.embed(x, sr, payload)
        snrs.append(snr_db(x, y))
        marked.append((y, sr, payload))
    print(f"# Watermark bench ({len(marked)} marked notes, {len(unmarked)} unmarked voices; built in {time.perf_counter() - t0:.0f} s)")
    print(f"\nMark SNR (speech : mark): median {np.median(snrs):.1f} dB, min {np.min(snrs):.1f} dB; "
          f"strength ±{watermark.STRENGTH_DB} dB per cell; threshold z ≥ {watermark.DETECT_Z}")
    others = [resample(x, sr, 24000) for x, sr in unmarked]
    reps = 1 if args.quick else 3
    print("\n| attack (3 s judged) | detected | payload read | median z | min z |")
    print("|---|---|---|---|---|")
    for name, attack in attacks(others).items():
        hits = reads = total = 0
        zs = []
        for y, sr, payload in marked:
            for _ in range(reps):
                a, r = attack(resample(y, sr, 24000), 24000)
                d = watermark.detect(a, r)
                total += 1
                hits += d.marked
                reads += d.payload == payload
                zs.append(d.score)
        print(f"| {name} | {hits}/{total} ({hits / total:.0%}) | {reads}/{total} | {np.median(zs):.1f} | {np.min(zs):.1f} |", flush=True)
    null_z = []
    pool = unmarked + [(x, sr) for x, sr in bank]
    windows = args.null or (200 if args.quick else 2000)
    t = time.perf_counter()
    for i in range(windows):
        x, sr = pool[i % len(pool)]
        a, r = cut3(x, sr)
        if i % 3 == 1:
            a, r = codec(a, r, "libopus", "ogg", 24000, 48000)
        null_z.append(watermark.detect(a, r).score)
    null_z = np.array(null_z)
    fp = int(np.sum(null_z >= watermark.DETECT_Z))
    print(f"\nUnmarked 3 s windows: {fp}/{windows} false positives; null z median {np.median(null_z):.2f}, "
          f"99.9th percentile {np.percentile(null_z, 99.9):.2f}, max {null_z.max():.2f} "
          f"({(time.perf_counter() - t) / windows * 1000:.0f} ms per 3 s clip)")


if __name__ == "__main__":
    main()
