"""Reading emotion from a clip without its speaker, clause pauses, and tilt that reaches its goal."""

import numpy as np
import pytest

from indextts_core import prosody
from indextts_core.prosody import NEUTRAL_RANGE_ST, NEUTRAL_RATE, ProsodyStats, target_from_reference


def stats(f0=120.0, range_st=NEUTRAL_RANGE_ST, rate=NEUTRAL_RATE, energy=-24.0, tilt=-12.0) -> ProsodyStats:
    return ProsodyStats(f0, range_st, rate, energy, tilt, 4.0, 5.0)


@pytest.mark.parametrize("f0,energy,tilt", [(95.0, -35.0, -18.0), (260.0, -12.0, -6.0), (180.0, -24.0, -12.0)])
def test_a_neutral_stranger_gives_neutral_output_whatever_their_pitch_and_loudness(f0, energy, tilt):
    """Who speaks (pitch level), how the microphone was set (level) and its colour (tilt) are not emotion."""
    assert target_from_reference(stats(f0=f0, energy=energy, tilt=tilt)).is_neutral
    # neutral speakers scatter around the norms: more range or a slower pace is still (near) neutral
    assert target_from_reference(stats(f0=f0, range_st=NEUTRAL_RANGE_ST * 2.0, rate=NEUTRAL_RATE * 0.95)).is_neutral
    near = target_from_reference(stats(f0=f0, range_st=NEUTRAL_RANGE_ST * 0.4, rate=NEUTRAL_RATE * 1.09))
    assert abs(near.f0_shift_st) < 0.5 and abs(near.f0_range - 1) < 0.1 and abs(near.rate - 1) < 0.1
    assert abs(near.energy_db) < 1.5


def test_an_excited_stranger_raises_pitch_range_rate_and_energy_and_a_sad_one_lowers_them():
    up = target_from_reference(stats(range_st=NEUTRAL_RANGE_ST * 2.2, rate=NEUTRAL_RATE * 1.4))
    down = target_from_reference(stats(range_st=NEUTRAL_RANGE_ST * 0.4, rate=NEUTRAL_RATE * 0.7))
    assert up.f0_shift_st > 1 and up.f0_range > 1.2 and up.rate > 1.1 and up.energy_db > 1 and up.tilt_db > 0
    assert down.f0_shift_st < -1 and down.f0_range < 0.8 and down.rate < 0.9 and down.energy_db < -1 and down.tilt_db < 0
    assert up.pause < 1 < down.pause


def test_with_the_speakers_own_baseline_every_feature_is_read_against_it():
    own = stats(f0=210.0, range_st=6.0, rate=6.2, energy=-20.0, tilt=-10.0)  # a lively speaker
    # the same speaker, neutral again: nothing changes, though they are far from the population norms
    again = stats(f0=214.0, range_st=6.1, rate=6.0, energy=-20.8, tilt=-10.4)
    assert target_from_reference(again, own).is_neutral
    assert not target_from_reference(again, None).is_neutral
    excited = target_from_reference(stats(f0=270.0, range_st=9.0, rate=7.4, energy=-15.0, tilt=-7.0), own)
    assert excited.f0_shift_st > 3 and excited.f0_range > 1.3 and excited.rate > 1.1
    assert excited.energy_db > 2 and excited.tilt_db > 1


def test_a_clip_with_nothing_voiced_is_neutral():
    assert target_from_reference(stats(f0=0.0, range_st=0.0, rate=0.0)).is_neutral


def test_profile_meta_round_trip():
    s = stats(f0=201.3, range_st=3.3, rate=4.1, energy=-21.5, tilt=-9.5)
    back = prosody.baseline_from_meta({"prosody": prosody.baseline_meta(s)})
    assert back.f0_median_hz == pytest.approx(201.3) and back.rate == pytest.approx(4.1)
    assert prosody.baseline_from_meta({}) is None
    assert prosody.baseline_from_meta({"prosody": {"f0_median_hz": "x"}}) is None


def _tone_with_gap(rate=22050, gap_s=0.3):
    t = np.arange(int(0.4 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    edge = np.zeros(int(0.2 * rate), np.float32)
    return np.concatenate([edge, tone, np.zeros(int(gap_s * rate), np.float32), tone, edge]), rate


@pytest.mark.parametrize("factor", [0.6, 1.5])
def test_scale_pauses_changes_inner_silence_only(factor):
    pcm, rate = _tone_with_gap()
    out = prosody.scale_pauses(pcm, rate, factor)
    # the 0.3 s pause inside changes by the factor; the 0.2 s edges stay
    assert len(out) - len(pcm) == pytest.approx(0.3 * (factor - 1) * rate, abs=0.011 * rate)
    assert np.count_nonzero(np.abs(out) > 0.01) == np.count_nonzero(np.abs(pcm) > 0.01)  # no sound lost
    assert np.all(out[: int(0.19 * rate)] == 0) and np.all(out[-int(0.19 * rate):] == 0)


def test_scale_pauses_leaves_short_gaps_and_neutral_alone():
    pcm, rate = _tone_with_gap(gap_s=0.04)
    assert len(prosody.scale_pauses(pcm, rate, 1.6)) == len(pcm)
    assert prosody.scale_pauses(pcm, rate, 1.0) is pcm


@pytest.mark.parametrize("goal", [-4.0, 4.0])
def test_tilt_to_reaches_its_goal(goal):
    rng = np.random.default_rng(0)
    noise = np.convolve(rng.standard_normal(22050 * 2), np.ones(6) / 6, mode="same").astype(np.float32)
    have = prosody.spectral_tilt_db(noise, 22050)
    out = prosody.tilt_to(noise, 22050, have + goal)
    assert prosody.spectral_tilt_db(out, 22050) - have == pytest.approx(goal, abs=0.2 * abs(goal))


def test_change_voice_keeps_the_level_and_length_when_praat_rejects_the_pitch_range(monkeypatch):
    """Praat's "Change gender" once refused a clone's run ("rounding up --undefined--") and the
    whole /say failed: the range falls back to 1, the level and the length are still applied."""
    import parselmouth
    import parselmouth.praat

    real_call = parselmouth.praat.call
    ranges: list[float] = []

    def praat(obj, command, *args):
        if command == "Change gender":
            ranges.append(args[4])
            if args[4] != 1.0:
                raise parselmouth.PraatError("When rounding up the real value --undefined--, the result "
                                             "cannot be represented in an integer.")
        return real_call(obj, command, *args)

    monkeypatch.setattr(parselmouth.praat, "call", praat)
    rate = 22050
    t = np.arange(rate) / rate
    tone = (0.3 * np.sign(np.sin(2 * np.pi * 140 * t))).astype(np.float32)
    out = prosody.change_voice(tone, rate, pitch_median_hz=200.0, pitch_range=1.5, duration_factor=1.2)
    assert ranges == [1.5, 1.0]
    assert abs(len(out) - 1.2 * rate) < 0.02 * rate
    assert abs(prosody.median_f0(out, rate) - 200.0) < 10
