"""Spoken consent in both languages: first-try acceptance, false acceptance, ASR time per clip.

Each clip is a bank voice reading the consent sentence with a fresh random code, its pitch moved
up to ±3 semitones and its formants ±6 % so no two clips share a speaker, half of them with added noise (pink-ish, 15 dB
below the speech).  Each transcript is checked once with its own code (acceptance) and with 50
other random codes (false acceptance; goal 0).  English: Whisper tiny.en; Chinese: Whisper base.

Usage: python bench/consent.py [--clips N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.asr import WhisperTranscriber  # noqa: E402
from bot.core.consent import check_recording, check_transcript, consent_sentence, new_code  # noqa: E402
from indextts_core import prosody  # noqa: E402
from indextts_core.backends.default import SAMPLE_RATE, DefaultEngine  # noqa: E402

VOICES = {
    "en": ("heart", "joe", "kokoro:jf_alpha", "kokoro:jm_kumo", "kokoro:jf_nezumi"),
    # the Mandarin voices people hear from the bot; the other Kokoro styles read Mandarin less clearly
    "zh": ("kokoro:jf_gongitsune", "kokoro:jm_kumo"),
}


def noisy(pcm: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add noise that falls off with frequency (like a room or street), ``snr_db`` below the speech."""
    white = rng.standard_normal(len(pcm))
    pinkish = np.cumsum(white) * 0.02
    pinkish -= np.convolve(pinkish, np.ones(400) / 400, mode="same")  # no slow drift
    noise = 0.5 * white + pinkish
    gain = np.sqrt(np.mean(pcm ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return (pcm + gain * noise).astype(np.float32)


def clip(engine: DefaultEngine, text: str, voice: str, pitch_hz: float, formant: float) -> np.ndarray:
    pcm = engine.speak_bare(text, voice, gap_s=0.25)
    return prosody.change_voice(pcm, SAMPLE_RATE, pitch_median_hz=pitch_hz, formant_ratio=formant)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=40, help="clips per language (default 40)")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    random.seed(7)
    engine = DefaultEngine()
    asr = WhisperTranscriber()
    print("| language | clips | first-try accepted | false acceptances (wrong codes tried) | ASR s/clip (median) |")
    print("|---|---|---|---|---|")
    misses = []
    for lang in ("en", "zh"):
        asr.load((lang,))
        accepted = false = tried = 0
        times = []
        for i in range(args.clips):
            code = new_code()
            voice = VOICES[lang][i % len(VOICES[lang])]
            pitch = engine.neutral_for(voice).f0_median_hz * 2 ** (rng.uniform(-3, 3) / 12)
            pcm = clip(engine, consent_sentence(code, lang), voice, float(pitch), float(rng.uniform(0.94, 1.06)))
            if i % 2:
                pcm = noisy(pcm, 15.0, rng)
            started = time.perf_counter()
            check = check_recording(asr, code, pcm, SAMPLE_RATE, lang)
            times.append(time.perf_counter() - started)
            ok, transcript = check.accepted, check.transcript
            accepted += ok
            if not ok:
                misses.append(f"{lang} {voice} code {code}{' +noise' if i % 2 else ''}: {transcript!r}")
            for _ in range(50):
                other = new_code()
                if other != code:
                    tried += 1
                    if check_transcript(other, transcript, lang).accepted:
                        false += 1
                        misses.append(f"{lang} FALSE ACCEPTANCE of {other} (said {code}): {transcript!r}")
        print(f"| {lang} | {args.clips} | {accepted}/{args.clips} ({100 * accepted / args.clips:.0f} %) | "
              f"{false}/{tried} | {statistics.median(times):.2f} |")
    if misses:
        print("\nRefused on the first try, or wrongly accepted:")
        for m in misses:
            print(" -", m)


if __name__ == "__main__":
    main()
