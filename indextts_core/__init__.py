"""indextts_core: an in-process expressive TTS core modelled on IndexTTS 2.0.

Never imports the bot.  Public API::

    from indextts_core import load_engine, EmotionSpec, DurationSpec
    engine = load_engine("default")
    profile = engine.create_voice("me.ogg")
    result = engine.synthesize("Hello!", voice=profile, emotion=EmotionSpec(preset="happy", intensity=0.7))
"""

from .engine import (
    EMOTIONS, Audio, DurationSpec, EmotionSpec, Engine, SynthesisResult, VoiceProfile,
)
from .errors import IndexTTSError, InputError, ReferenceAudioError
from .registry import available, load_engine

__all__ = [
    "EMOTIONS", "Audio", "DurationSpec", "EmotionSpec", "Engine", "IndexTTSError", "InputError",
    "ReferenceAudioError", "SynthesisResult", "VoiceProfile", "available", "load_engine",
]
__version__ = "0.1.0"
