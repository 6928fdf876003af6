import pytest

from indextts_core.engine import DurationSpec, EmotionSpec, VoiceProfile
from indextts_core.errors import DurationError, EmotionError, ProfileError, ProfileVersionError


def test_profile_round_trip_keeps_engine_version_payload_and_meta():
    p = VoiceProfile("default", "1.0", b"\x00\x01payload", {"f0_median_hz": 190.5})
    q = VoiceProfile.from_bytes(p.to_bytes())
    assert q == p
    q.require("default", "1.0")


@pytest.mark.parametrize("engine,version", [("indextts2", "1.0"), ("default", "0.9")])
def test_profile_from_other_engine_or_version_is_refused_with_re_record_hint(engine, version):
    p = VoiceProfile(engine, version, b"x")
    with pytest.raises(ProfileVersionError, match="record your voice again"):
        VoiceProfile.from_bytes(p.to_bytes()).require("default", "1.0")


@pytest.mark.parametrize("blob", [b"", b"RIFF....WAVEfmt ", b"ITTSVP1\n\xff\xff\x00\x00{"])
def test_garbage_is_not_a_profile(blob):
    with pytest.raises(ProfileError):
        VoiceProfile.from_bytes(blob)


@pytest.mark.parametrize("ratio", [0.5, 0.74, 1.26, 3, float("nan")])
def test_ratio_out_of_range_is_refused(ratio):
    with pytest.raises(DurationError, match="between 0.75 and 1.25"):
        DurationSpec(ratio=ratio)


def test_seconds_must_fit_the_natural_length():
    spec = DurationSpec(seconds=3.0)
    assert spec.target_seconds(3.5) == 3.0
    with pytest.raises(DurationError, match="between 1.5 s and 2.5 s"):
        spec.target_seconds(2.0)


def test_emotion_spec_validation():
    with pytest.raises(EmotionError, match="from 0 to 1"):
        EmotionSpec(preset="happy", intensity=1.5)
    with pytest.raises(EmotionError, match="needs 8 numbers"):
        EmotionSpec(vector=(1.0, 0.0))
    with pytest.raises(EmotionError, match="one way"):
        EmotionSpec(preset="happy", description="cheerful")
    assert EmotionSpec(vector=(0,) * 8).is_neutral
