"""The rendered-voice check of /clone, calibrated: how often a distinct speaker is refused, and how
often a laundered recording (the bot's notes in a cloned voice, re-encoded and joined) is caught,
at the thresholds the bot uses (``bot.core.tasks.RENDERED_VOICE_MATCH`` against users' previews,
``DEFAULT_VOICE_MATCH`` against the default voices).  Measured in this run.

Distinct speakers are eSpeak NG voices (not transforms of any bank voice); each is cloned, and its
preview embedding is stored as the bot stores it.  Laundered clips are other notes in each clone's
voice through Opus, alone and two joined.  Usage: python bench/laundering.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.tasks import DEFAULT_VOICE_MATCH, RENDERED_VOICE_MATCH, RenderTask, Runtime, embedding_vector  # noqa: E402
from indextts_core.audio import encode_ogg_opus, read_audio  # noqa: E402
from indextts_core.backends.default import DefaultEngine  # noqa: E402
from indextts_core.backends.espeak import EspeakVoice  # noqa: E402
from indextts_core.speaker import similarity  # noqa: E402

FIT = ("I agree that my voice can be used by this bot to make a synthetic copy. "
       "Today the weather is lovely and I would like to go for a walk in the park.")
PREVIEW = "Hi! This is my new voice. How do I sound?"
LAUNDER = ["The last train leaves at ten, so we should hurry up and finish dinner.",
           "Please put the blue folder back on the shelf when you are done with it."]
SPEAKERS = [("en-us+f3", 60), ("en+m3", 35), ("en-us+f5", 70), ("en+m1", 45), ("en+f2", 55), ("en-us+m4", 40),
            ("en+f4", 65), ("en-gb-x-rp+m7", 50), ("en+f5", 75), ("en-us+m2", 30),
            # more speakers: other variants and pitches, other accents of English
            ("en-us+m1", 25), ("en+f1", 80), ("en-gb-scotland+m5", 45), ("en-us+m6", 55), ("en+f3", 45),
            ("en-gb-x-rp+f2", 65), ("en-us+m3", 50), ("en+m5", 30), ("en-029+f4", 60), ("en-us+m7", 40),
            ("en+m2", 60), ("en-gb-x-gbclan+f5", 55), ("en-us+f2", 85), ("en+m4", 20)]


def recording(voice: str, pitch: int) -> bytes:
    ev = EspeakVoice(voice, rate_wpm=165, pitch=pitch)
    return encode_ogg_opus(ev.synthesize(FIT), ev.sample_rate)


def main() -> None:
    runtime = Runtime(DefaultEngine())
    defaults = runtime.default_voice_embeddings()
    own, previews, laundered = {}, {}, {}
    for voice, pitch in SPEAKERS:
        clip = recording(voice, pitch)
        audio = read_audio(clip)
        own[voice] = runtime.speakers.embed(audio.samples, audio.sample_rate)
        profile = runtime.engine.create_voice(audio).to_bytes()
        preview = runtime.render(RenderTask(PREVIEW, profile, mark=1, embed_speaker=True))
        previews[voice] = embedding_vector(preview.embedding)
        notes = [read_audio(runtime.render(RenderTask(t, profile, mark=2)).ogg) for t in LAUNDER]
        joined = np.concatenate([n.samples for n in notes])
        laundered[voice] = [runtime.speakers.embed(n.samples, n.sample_rate) for n in notes] + \
            [runtime.speakers.embed(joined, notes[0].sample_rate)]
    print(f"# Rendered-voice check at {RENDERED_VOICE_MATCH} against previews, {DEFAULT_VOICE_MATCH} against the "
          f"default voices (Resemblyzer cosine), {len(SPEAKERS)} eSpeak speakers")
    print("\n| speaker | vs default voices (max) | vs other clones' previews (max) | laundered vs its preview (min) |")
    print("|---|---|---|---|")
    refused = caught = total_l = 0
    for voice in own:
        d = max(similarity(own[voice], v) for v in defaults)
        o = max(similarity(own[voice], previews[w]) for w in previews if w != voice)
        lv = [similarity(e, previews[voice]) for e in laundered[voice]]
        refused += d >= DEFAULT_VOICE_MATCH or o >= RENDERED_VOICE_MATCH
        caught += sum(s >= RENDERED_VOICE_MATCH for s in lv)
        total_l += len(lv)
        print(f"| {voice} | {d:.3f} | {o:.3f} | {min(lv):.3f} |")
    pairs = [similarity(previews[a], previews[b]) for a, b in itertools.combinations(previews, 2)]
    print(f"\nDistinct speakers refused: {refused}/{len(own)}; laundered clips caught: {caught}/{total_l}; "
          f"clone previews against each other: max {max(pairs):.3f}, median {np.median(pairs):.3f}")


if __name__ == "__main__":
    main()
