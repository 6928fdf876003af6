"""Errors raised by the synthesis core.

Every error carries a message written for the person who made the request: what is wrong and
what to do about it.  Callers (the CLI, the bot) show ``str(error)`` as is.
"""

from __future__ import annotations


class IndexTTSError(Exception):
    """Base class for every error with a message for the person who asked (the core's, and the bot's).

    ``str(error)`` is the English message; :meth:`message` gives it in another language when a
    translation was written (Chinese so far), falling back to English.
    """

    #: Short stable identifier, useful for logs, metrics and translations.
    code = "error"

    def __init__(self, message: str = "", zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh

    def message(self, language: str) -> str:
        return self.zh if language == "zh" and self.zh else str(self)


class InputError(IndexTTSError):
    """The request itself is wrong (bad text, bad option value)."""

    code = "bad_input"


class TextError(InputError):
    """The text cannot be spoken (empty after cleaning, too long, ...)."""

    code = "bad_text"


class EmotionError(InputError):
    """An emotion name, intensity, vector or description is not usable."""

    code = "bad_emotion"


class DurationError(InputError):
    """A duration request is outside what the engine can honour."""

    code = "bad_duration"


class ReferenceAudioError(InputError):
    """A reference clip was rejected; subclasses say why."""

    code = "bad_reference"


class UnreadableAudioError(ReferenceAudioError):
    code = "unreadable_audio"


class UnsupportedFormatError(ReferenceAudioError):
    code = "unsupported_format"


class LowSampleRateError(ReferenceAudioError):
    code = "low_sample_rate"


class TooShortError(ReferenceAudioError):
    code = "too_short"


class TooLongError(ReferenceAudioError):
    code = "too_long"


class NoSpeechError(ReferenceAudioError):
    code = "no_speech"


class ClippingError(ReferenceAudioError):
    code = "clipping"


class TooNoisyError(ReferenceAudioError):
    code = "too_noisy"


class ProfileError(IndexTTSError):
    """A stored voice profile cannot be used by this engine."""

    code = "bad_profile"


class ProfileVersionError(ProfileError):
    """The profile was made by another engine or engine version; the user must re-record."""

    code = "profile_version"


class EngineConfigError(IndexTTSError):
    """An engine option has the wrong type or value (named in the message)."""

    code = "engine_config"


class EngineUnavailableError(IndexTTSError):
    """A backend's dependencies or checkpoints are missing."""

    code = "engine_unavailable"
