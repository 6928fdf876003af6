"""Emotion, measured: reference transfer, presets against their targets, text → emotion.

1. Reference transfer.  Clips of six speakers, each neutral, excited and sad: four eSpeak NG
   voices acting with eSpeak's own pitch, range, rate and volume controls, and two neural bank
   voices whose readings are reshaped with Praat (not by the engine's presets).  Each clip is the
   emotion reference for the default voice; the table gives the output's change against the
   neutral output: ΔF0 (semitones), pitch range and rate (ratios), energy (dB).  Goals: neutral
   clips |ΔF0| < 0.5 st, range and rate within 10 %, energy within 1.5 dB; excited up, sad down.
   "own profile" rows give the engine the speaker's voice profile (made from another sentence).
2. Presets: spectral tilt and clause-pause change against the documented targets (tilt within
   20 %).
3. Text → emotion accuracy per language on bench/data/emotion_text_eval.tsv; time per text.

Usage: python bench/emotion.py [--norms]   (--norms: neutral pitch range and rate of the bank)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indextts_core import prosody  # noqa: E402
from indextts_core.audio import resample  # noqa: E402
from indextts_core.backends.default import SAMPLE_RATE, DefaultEngine  # noqa: E402
from indextts_core.backends.espeak import EspeakVoice  # noqa: E402
from indextts_core.emotion import PRESETS  # noqa: E402
from indextts_core.emotion_text import read_lexicon, vector_from_text, warm_up  # noqa: E402
from indextts_core.engine import EMOTIONS, EmotionSpec  # noqa: E402
from tests.conftest import wav_bytes  # noqa: E402

CLIP_TEXT = "I just heard what happened at the station this morning, and I had to call you right away."
PROFILE_TEXT = "My favourite colour is green, and on Sundays I usually cook a big dinner for my family."
OUT_TEXT = "We will meet at the library after lunch, and then walk down to the river together."
PAUSE_TEXT = "If you are free tomorrow, call me, and we can plan the trip, the tickets and the hotel."
#: eSpeak NG speakers: (voice, pitch), acting with (pitch offset, range, words per minute, volume)
ESPEAK = [("en-us+f3", 60), ("en+m3", 35), ("en+m1", 45), ("en-us+f5", 70)]
ACTING = {"neutral": (0, 50, 165, 100), "excited": (18, 90, 205, 160), "sad": (-12, 15, 125, 60)}
#: Praat reshaping of a neural voice's reading: (semitones, range factor, duration factor, dB)
RESHAPE = {"neutral": (0.0, 1.0, 1.0, 0.0), "excited": (3.0, 1.7, 0.85, 4.0), "sad": (-2.5, 0.5, 1.2, -5.0)}
NEURAL = ["joe", "kokoro:jf_gongitsune"]


def espeak_clip(voice: str, pitch: int, emotion: str, text: str) -> np.ndarray:
    dp, rng, wpm, vol = ACTING[emotion]
    ev = EspeakVoice(voice, rate_wpm=wpm, pitch=max(0, min(99, pitch + dp)), pitch_range=rng, volume=vol)
    return resample(ev.synthesize(text), ev.sample_rate, SAMPLE_RATE)


def neural_clip(engine: DefaultEngine, voice: str, emotion: str, text: str) -> np.ndarray:
    pcm = engine.speak_bare(text, voice)
    st, rng, dur, db = RESHAPE[emotion]
    base = prosody.median_f0(pcm, SAMPLE_RATE)
    out = prosody.change_voice(pcm, SAMPLE_RATE, pitch_median_hz=base * 2 ** (st / 12), pitch_range=rng, duration_factor=dur)
    return out * 10 ** (db / 20)


def change(stats: prosody.ProsodyStats, seconds: float, neutral: prosody.ProsodyStats,
           neutral_seconds: float) -> tuple[float, float, float, float]:
    """ΔF0 (semitones), range ratio, rate ratio and energy (dB) of an output against the neutral one."""
    return (float(12 * np.log2(stats.f0_median_hz / neutral.f0_median_hz)), stats.f0_range_st / neutral.f0_range_st,
            neutral_seconds / seconds, stats.energy_dbfs - neutral.energy_dbfs)


def reference_transfer(engine: DefaultEngine) -> None:
    print("\n## Reference emotion → default voice (output vs neutral output)")
    print("| speaker | clip | ΔF0 st | range | rate | energy dB |")
    print("|---|---|---|---|---|---|")
    neutral_res = engine.synthesize(OUT_TEXT)
    neutral = prosody.measure(neutral_res.samples, SAMPLE_RATE)
    speakers = [(f"eSpeak {v}", lambda e, t, v=v, p=p: espeak_clip(v, p, e, t)) for v, p in ESPEAK]
    speakers += [(f"{v} (Praat)", lambda e, t, v=v: neural_clip(engine, v, e, t)) for v in NEURAL]
    worst = {"f0": 0.0, "range": 0.0, "rate": 0.0, "energy": 0.0}
    direction_ok = 0
    for name, make in speakers:
        own = engine.create_voice(wav_bytes(make("neutral", PROFILE_TEXT), SAMPLE_RATE))
        for emotion in ("neutral", "excited", "sad"):
            clip = wav_bytes(make(emotion, CLIP_TEXT), SAMPLE_RATE)
            for label, spec in (("", EmotionSpec(reference=clip)),
                                (" + own profile", EmotionSpec(reference=clip, reference_speaker=own))):
                res = engine.synthesize(OUT_TEXT, emotion=spec)
                stats = prosody.measure(res.samples, SAMPLE_RATE)
                d_f0, rng, rate, energy = change(stats, res.natural_seconds, neutral, neutral_res.natural_seconds)
                print(f"| {name} | {emotion}{label} | {d_f0:+.2f} | ×{rng:.2f} | ×{rate:.2f} | {energy:+.1f} |")
                if emotion == "neutral":
                    worst = {"f0": max(worst["f0"], abs(d_f0)), "range": max(worst["range"], abs(rng - 1)),
                             "rate": max(worst["rate"], abs(rate - 1)), "energy": max(worst["energy"], abs(energy))}
                else:
                    sign = 1 if emotion == "excited" else -1
                    direction_ok += sign * d_f0 > 0 and sign * (rng - 1) > 0 and sign * (rate - 1) > 0
    print(f"\nneutral clips, worst case: |ΔF0| {worst['f0']:.2f} st, range {100 * worst['range']:.0f} %, "
          f"rate {100 * worst['rate']:.0f} %, energy {worst['energy']:.1f} dB (goals 0.5 st, 10 %, 10 %, 1.5 dB)")
    print(f"excited/sad clips moving pitch, range and rate the right way: {direction_ok}/{4 * len(speakers)}")


def presets(engine: DefaultEngine) -> None:
    print("\n## Presets against their targets (default voice)")
    print("| preset | tilt target dB | tilt measured dB | within 20 % | pause target | clause pauses measured |")
    print("|---|---|---|---|---|---|")
    neutral = engine.synthesize(PAUSE_TEXT)
    n_tilt = prosody.spectral_tilt_db(neutral.samples, SAMPLE_RATE)
    n_pause = inner_silence(neutral.samples)
    ok = 0
    for name, p in PRESETS.items():
        res = engine.synthesize(PAUSE_TEXT, emotion=EmotionSpec(preset=name))
        tilt = prosody.spectral_tilt_db(res.samples, SAMPLE_RATE) - n_tilt
        good = abs(tilt - p.tilt_db) <= 0.2 * abs(p.tilt_db)
        ok += good
        pause = inner_silence(res.samples) / n_pause
        print(f"| {name} | {p.tilt_db:+.1f} | {tilt:+.2f} | {'yes' if good else 'no'} | ×{p.pause:.2f} | ×{pause:.2f} |")
    print(f"\ntilt within 20 % of target: {ok}/{len(PRESETS)}")


def inner_silence(samples: np.ndarray) -> float:
    """Seconds of silence between the first and the last sound (pauses ≥ 40 ms)."""
    frame = SAMPLE_RATE // 100
    n = len(samples) // frame
    db = 20 * np.log10(np.maximum(np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1)), 1e-7))
    quiet = db < db.max() - 40
    loud = np.nonzero(~quiet)[0]
    inner = quiet[loud[0]:loud[-1]]
    total, run = 0, 0
    for q in list(inner) + [False]:
        if q:
            run += 1
        else:
            total += run if run >= 4 else 0
            run = 0
    return total / 100


def text_emotion() -> None:
    print("\n## Text → emotion on bench/data/emotion_text_eval.tsv")
    rows = [line.rstrip("\n").split("\t") for line in (Path(__file__).parent / "data" / "emotion_text_eval.tsv").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    started = time.perf_counter()
    warm_up()
    print(f"model load {time.perf_counter() - started:.2f} s")
    print("| language | descriptions | right | accuracy | read by the embedding | ms per description: lexicon / embedding (median) |")
    print("|---|---|---|---|---|---|")
    for lang in ("en", "zh"):
        right, times = 0, {True: [], False: []}
        for la, label, text in rows:
            if la != lang:
                continue
            t0 = time.perf_counter()
            vec = vector_from_text(text)
            times[not read_lexicon(text).emotions].append(time.perf_counter() - t0)
            right += EMOTIONS[int(np.argmax(vec))] == label
        n = len(times[True]) + len(times[False])
        ms = " / ".join(f"{1000 * statistics.median(times[k]):.1f}" if times[k] else "–" for k in (False, True))
        print(f"| {lang} | {n} | {right} | {100 * right / n:.0f} % | {len(times[True])} | {ms} |")


def norms(engine: DefaultEngine) -> None:
    from bench.voices import EN, ZH

    print("| voice | language | F0 range st (IQR) | syllables / s |")
    print("|---|---|---|---|")
    ranges, rates = [], []
    sources = [(v, "en", EN[:6]) for v in ("heart", "joe", "kokoro:jm_kumo")]
    sources += [(v, "zh", ZH[:6]) for v in ("kokoro:jf_gongitsune", "kokoro:jm_kumo", "kokoro:jf_alpha")]
    for voice, lang, texts in sources:
        st = [prosody.measure(engine.speak_bare(t, voice), SAMPLE_RATE) for t in texts]
        ranges += [s.f0_range_st for s in st]
        rates += [s.rate for s in st]
        print(f"| {voice} | {lang} | {np.mean([s.f0_range_st for s in st]):.2f} | {np.mean([s.rate for s in st]):.2f} |")
    for v, p in ESPEAK:
        st = [prosody.measure(espeak_clip(v, p, "neutral", t), SAMPLE_RATE) for t in EN[:6]]
        ranges += [s.f0_range_st for s in st]
        rates += [s.rate for s in st]
        print(f"| eSpeak {v} | en | {np.mean([s.f0_range_st for s in st]):.2f} | {np.mean([s.rate for s in st]):.2f} |")
    print(f"\nmedian range {np.median(ranges):.2f} st (IQR {np.percentile(ranges, 25):.2f}–{np.percentile(ranges, 75):.2f}); "
          f"median rate {np.median(rates):.2f}/s (IQR {np.percentile(rates, 25):.2f}–{np.percentile(rates, 75):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--norms", action="store_true", help="print the neutral norms of the bank and exit")
    args = ap.parse_args()
    engine = DefaultEngine()
    if args.norms:
        norms(engine)
        return
    text_emotion()
    presets(engine)
    reference_transfer(engine)


if __name__ == "__main__":
    main()
