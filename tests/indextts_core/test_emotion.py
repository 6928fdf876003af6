import pytest

from indextts_core.emotion import (
    CHINESE_NAMES, PRESETS, ProsodyTarget, mix, preset_spec, target_for, vector_for,
)
from indextts_core.engine import EMOTIONS, EmotionSpec
from indextts_core.errors import EmotionError


def test_presets_follow_indextts2_vector_order():
    assert EMOTIONS == ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
    assert tuple(PRESETS) == EMOTIONS


@pytest.mark.parametrize("name,canon", [("愤怒", "angry"), ("高兴", "happy"), ("Sad", "sad"), ("忧郁", "melancholic"),
                                        ("惊讶", "surprised"), ("平静", "calm"), ("害怕", "afraid"), ("厌恶", "disgusted")])
def test_names_in_english_and_chinese(name, canon):
    assert preset_spec(name, 0.5).preset == canon
    assert CHINESE_NAMES[canon]


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(EmotionError, match="happy .*高兴"):
        preset_spec("grumpy")


def test_intensity_scales_deviation_linearly():
    full = target_for(EmotionSpec(preset="angry", intensity=1.0))
    half = target_for(EmotionSpec(preset="angry", intensity=0.5))
    assert full == PRESETS["angry"]
    assert half.f0_shift_st == pytest.approx(full.f0_shift_st / 2)
    assert half.energy_db == pytest.approx(full.energy_db / 2)
    assert half.rate == pytest.approx(full.rate ** 0.5)
    assert target_for(EmotionSpec(preset="angry", intensity=0.0)).is_neutral


def test_vector_mixes_presets_and_caps_total_weight():
    one_hot, angry = mix([0, 1, 0, 0, 0, 0, 0, 0]), PRESETS["angry"]
    for name in ("f0_shift_st", "f0_range", "rate", "energy_db", "pause", "tilt_db"):
        assert getattr(one_hot, name) == pytest.approx(getattr(angry, name))
    both = mix([1, 0, 1, 0, 0, 0, 0, 0])  # total 2 → scaled to 1: half happy, half sad
    assert both.f0_shift_st == pytest.approx((3.0 - 2.5) / 2)
    assert vector_for(EmotionSpec(preset="sad", intensity=0.4)) == (0, 0, 0.4, 0, 0, 0, 0, 0)


def test_neutral_target():
    assert target_for(None) == ProsodyTarget()
