"""Pins the public API the bot and scripts rely on: changing it must be a decision, not an accident."""

import inspect

import indextts_core
from indextts_core import Engine, load_engine


def test_exported_names():
    assert sorted(indextts_core.__all__) == sorted([
        "EMOTIONS", "Audio", "DurationSpec", "EmotionSpec", "Engine", "IndexTTSError", "InputError",
        "ReferenceAudioError", "SynthesisResult", "VoiceProfile", "available", "load_engine",
    ])
    assert indextts_core.available() == ["default", "indextts"]


def test_default_engine_satisfies_the_protocol_with_the_documented_signatures():
    engine = load_engine("default")
    assert isinstance(engine, Engine)
    assert list(inspect.signature(engine.synthesize).parameters) == ["text", "voice", "emotion", "duration", "progress"]
    assert list(inspect.signature(engine.create_voice).parameters) == ["reference"]
    assert (engine.name, engine.version) == ("default", "2.0")


def test_the_indextts_engine_satisfies_the_same_protocol(itts):
    assert isinstance(itts, Engine)
    assert list(inspect.signature(itts.synthesize).parameters) == ["text", "voice", "emotion", "duration", "progress"]
    assert list(inspect.signature(itts.create_voice).parameters) == ["reference"]


def test_the_core_never_imports_the_bot():
    import pathlib

    root = pathlib.Path(indextts_core.__file__).parent
    offenders = [p for p in root.rglob("*.py") if "import bot" in p.read_text() or "from bot" in p.read_text()]
    assert offenders == []
