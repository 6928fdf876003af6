"""The clone search: a fixed space, the bank's side shipped, and profiles that are a function of
their recording alone."""

import subprocess
import sys

import numpy as np

from indextts_core.backends import bank_search
from indextts_core.backends.bank import CLONE_CANDIDATES, describe
from indextts_core.speaker import similarity
from tests.conftest import wav_bytes


def test_the_shipped_embeddings_were_made_from_the_bank_as_it_is_now():
    stored, embeddings = bank_search.shipped()
    assert stored == bank_search.fingerprint(), (
        "the bank, its texts or the speaker encoder changed: run python -m indextts_core.backends.bank_search --rebuild")
    assert list(embeddings) == list(bank_search.SEARCH_SPACE)
    assert all(e.shape == (256,) and abs(float(np.linalg.norm(e)) - 1) < 1e-3 for e in embeddings.values())


def test_the_search_space_is_every_bank_voice_and_blends_of_every_pair_of_kokoro_styles():
    space = bank_search.SEARCH_SPACE
    assert space[:len(CLONE_CANDIDATES)] == CLONE_CANDIDATES
    blends = [v for v in space if "+" in v]
    assert len(blends) == len(set(blends)) == 10 * len(bank_search.BLEND_WEIGHTS)
    for v in blends:
        describe(v)  # every one is a voice the bank can load


def test_a_shipped_embedding_is_what_the_voice_reads_now(engine):
    """A new release of a voice package that changes its voice shows up here."""
    embeddings = bank_search.shipped()[1]
    for voice in ("heart", "joe", "kokoro:jf_alpha+jm_kumo@0.25"):
        now = engine.speaker_embedding(engine.calibration_speech(voice), engine.sample_rate)
        assert similarity(now, embeddings[voice]) > 0.999, voice


def test_the_check_command_says_whether_the_file_is_up_to_date():
    out = subprocess.run([sys.executable, "-m", "indextts_core.backends.bank_search"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "up to date" in out.stdout


_CLONE = r"""
import sys, hashlib
from indextts_core.backends.default import DefaultEngine
engine = DefaultEngine()
if sys.argv[2] == "warm":
    engine.warm_up()
    engine.synthesize("Something first, to have a warm process.")
profile = engine.create_voice(open(sys.argv[1], "rb").read())
print(hashlib.sha256(profile.to_bytes()).hexdigest())
"""


def test_the_same_clip_gives_a_byte_identical_profile_cold_warm_and_in_process(engine, tmp_path, reference_clip):
    """Nothing stored depends on the clock, the load or the process: the search is fixed and the
    calibration readings (joe's timbre noise included) are reproducible."""
    import hashlib

    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes(reference_clip, 22050))
    runs = [subprocess.run([sys.executable, "-c", _CLONE, str(clip), mode], capture_output=True, text=True,
                           timeout=600) for mode in ("cold", "warm")]
    digests = {r.stdout.strip() for r in runs}
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]
    digests.add(hashlib.sha256(engine.create_voice(clip.read_bytes()).to_bytes()).hexdigest())
    assert len(digests) == 1
