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


#: Every name the bot takes from the core, by module: a new one, or one gone, is an API change.
BOT_IMPORTS = {
    "indextts_core": {"Engine", "load_engine", "watermark"},
    "indextts_core.audio": {"MAX_UPLOAD_BYTES", "MIN_SPEECH_SECONDS", "check_reference", "encode_ogg_opus", "ogg_opus_info",
                            "read_audio", "resample"},
    "indextts_core.decoding": {"MAX_DECODE_SECONDS"},
    "indextts_core.emotion": {"ALIASES", "CHINESE_NAMES", "canonical_name", "preset_spec"},
    "indextts_core.engine": {"DurationSpec", "EMOTIONS", "EmotionSpec", "Engine", "MAX_RATIO", "MIN_RATIO", "VoiceProfile"},
    "indextts_core.errors": {"EngineUnavailableError", "IndexTTSError", "InputError"},
    "indextts_core.frontend.clean": {"check_script", "clean_text", "has_words"},
    "indextts_core.frontend.normalize": {"is_cjk"},
    "indextts_core.frontend.segment": {"split_sentences"},
    "indextts_core.registry": {"installed"},
    "indextts_core.speaker": {"SpeakerEncoder", "similarity"},
    "indextts_core.watermark": {"WatermarkKey"},
}


def test_the_bot_uses_only_pinned_public_names_of_the_core():
    import ast
    import importlib
    import importlib.util
    import pathlib

    used: dict[str, set[str]] = {}
    for path in pathlib.Path(indextts_core.__file__).parent.parent.joinpath("bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("indextts_core"):
                used.setdefault(node.module, set()).update(a.name for a in node.names)
    assert used == BOT_IMPORTS
    for module, names in used.items():
        for name in names:
            public = hasattr(importlib.import_module(module), name) or importlib.util.find_spec(f"{module}.{name}")
            assert not name.startswith("_") and public, (module, name)


def test_engines_declare_their_capabilities():
    """What the bot asks of any engine without probing for attributes."""
    engine = load_engine("default")
    assert engine.max_workers is None  # as many jobs as the bot runs
    assert list(inspect.signature(engine.warm_up).parameters) == ["speaker_encoder"]
    assert {"warm_up", "max_workers", "create_voice", "synthesize", "close"} <= set(dir(Engine)) | set(Engine.__annotations__)
