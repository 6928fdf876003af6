"""Command line: ``python -m indextts_core say|clone|inspect``.

Exit 0 on success, 2 on bad input with one line on stderr, 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from .errors import IndexTTSError, InputError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m indextts_core", description="Offline expressive TTS with voice cloning.")
    p.add_argument("--engine", default="default", help="engine name (default: %(default)s)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an engine option as in config.toml's [engine] table, e.g. model_dir=/srv/m or seed=1")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    say = sub.add_parser("say", help="speak text into an OGG/Opus voice note")
    say.add_argument("text")
    say.add_argument("--raw", action="store_true", help="read the text as given (no removal of links, emoji, markdown)")
    say.add_argument("--out", required=True, type=Path)
    say.add_argument("--voice", help="voice profile (from clone) or a reference audio clip")
    say.add_argument("--emotion", help="preset name, English or Chinese (happy, 愤怒, ...)")
    say.add_argument("--intensity", type=float, default=None, help="0..1 (default 1 with --emotion)")
    say.add_argument("--emotion-vector", nargs=8, type=float, metavar="F",
                     help="8 weights: happy angry sad afraid disgusted melancholic surprised calm")
    say.add_argument("--emotion-ref", help="audio clip whose emotion to copy")
    say.add_argument("--emotion-text", help='description like "trembling with fear" or "冷笑着说"')
    group = say.add_mutually_exclusive_group()
    group.add_argument("--ratio", type=float, help="duration as 0.75..1.25 of the natural length")
    group.add_argument("--seconds", type=float, help="exact duration in seconds")

    clone = sub.add_parser("clone", help="compute a voice profile from a 3-30 s clip")
    clone.add_argument("audio")
    clone.add_argument("--out", required=True, type=Path)

    inspect = sub.add_parser("inspect", help="show how the text will be read")
    inspect.add_argument("text")
    return p


def _emotion(args: argparse.Namespace):
    from .emotion import preset_spec
    from .engine import EmotionSpec, emotion_vector_from_floats

    given = [x for x in (args.emotion, args.emotion_vector, args.emotion_ref, args.emotion_text) if x is not None]
    if len(given) > 1:
        raise InputError("Give only one of --emotion, --emotion-vector, --emotion-ref, --emotion-text.")
    if args.intensity is not None and args.emotion is None:
        raise InputError("--intensity goes with --emotion.")
    if args.emotion is not None:
        return preset_spec(args.emotion, 1.0 if args.intensity is None else args.intensity)
    if args.emotion_vector is not None:
        return emotion_vector_from_floats(args.emotion_vector)
    if args.emotion_ref is not None:
        if not os.path.exists(args.emotion_ref):
            raise InputError(f"Emotion reference {args.emotion_ref!r} does not exist.")
        return EmotionSpec(reference=args.emotion_ref)
    if args.emotion_text is not None:
        return EmotionSpec(description=args.emotion_text)
    return None


def _engine(args: argparse.Namespace):
    """The engine named by --engine with its --option values (TOML values; bare text is a string)."""
    import tomllib

    from .registry import load_engine

    options: dict = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {item!r}: write it as KEY=VALUE.")
        try:
            options[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            options[key.strip()] = value
    return load_engine(args.engine, options)


def _voice(engine, spec: Optional[str]):
    from .engine import VoiceProfile

    if spec is None:
        return None
    path = Path(spec)
    if not path.exists():
        raise InputError(f"Voice {spec!r} does not exist: give a profile made by 'clone' or an audio clip.")
    data = path.read_bytes()
    if data.startswith(b"ITTSVP1"):
        return VoiceProfile.from_bytes(data)
    return engine.create_voice(data)


def cmd_say(args: argparse.Namespace) -> int:
    from .audio import encode_ogg_opus, ogg_opus_info
    from .engine import DurationSpec
    from .frontend.clean import clean_text, has_words

    duration = None
    if args.ratio is not None or args.seconds is not None:
        duration = DurationSpec(ratio=args.ratio, seconds=args.seconds)
    emotion = _emotion(args)
    if args.out.suffix.lower() not in (".ogg", ".opus", ".oga"):
        raise InputError("--out must end in .ogg (the output is an OGG/Opus voice note).")
    engine = _engine(args)
    voice = _voice(engine, args.voice)
    text = args.text
    if not args.raw:  # the same cleaning as the bot's: links, emoji, mentions, markdown, code are not read
        text = clean_text(text)
        if not has_words(text):
            raise InputError("After removing links, emoji, mentions and code there is nothing left to say "
                             "(use --raw to read the text exactly as given).")
    result = engine.synthesize(text, voice=voice, emotion=emotion, duration=duration)
    data = encode_ogg_opus(result.samples, result.sample_rate, tags={
        "description": "synthetic speech", "software": f"indextts-voicebot {result.engine} {result.version}",
        "title": (emotion.describe() if emotion else "neutral"),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}\t{ogg_opus_info(data).duration:.3f} s")
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    if not os.path.exists(args.audio):
        raise InputError(f"Audio file {args.audio!r} does not exist.")
    engine = _engine(args)
    profile = engine.create_voice(args.audio)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(profile.to_bytes())
    meta = profile.meta
    line = f"{args.out}\t{profile.engine} {profile.version}\tF0 {meta.get('f0_median_hz')} Hz"
    if "fit_similarity" in meta:  # the default engine's timbre fit
        line += f"\tsimilarity {meta.get('default_similarity')} -> {meta['fit_similarity']}"
    print(line)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .frontend import analyze

    analysis = analyze(args.text)
    print(f"normalized: {analysis.normalized}")
    engine = None
    for i, sentence in enumerate(analysis.sentences, 1):
        print(f"sentence {i}: {sentence.text}")
        for run in sentence.runs:
            if run.lang == "zh":
                tokens = " ".join(f"{s.char}={s.pinyin}" + ("*" if s.source == "user" else "")
                                  for s in run.syllables if s.pinyin)
                print(f"  zh: {run.text}\n      pinyin: {tokens}")
            else:
                if engine is None:  # the default English voice's G2P (Kokoro reads the same phonemes)
                    from .backends.hibari_voice import HibariEnglish

                    engine = HibariEnglish()
                print(f"  en: {run.text}\n      phonemes: {engine.phonemes(run.text)}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = _parser().parse_args(argv)
        return {"say": cmd_say, "clone": cmd_clone, "inspect": cmd_inspect}[args.command](args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except IndexTTSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
