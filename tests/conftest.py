"""Shared fixtures: one real engine per session and reference clips made from real speech."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def engine():
    from indextts_core.backends.default import DefaultEngine

    eng = DefaultEngine()
    eng.warm_up()
    yield eng
    eng.close()


def speech_clip(engine, text: str, *, pitch_hz: float = 0.0, formant: float = 1.0, rate: int = 22050) -> np.ndarray:
    """Real speech from the default voice, optionally moved to another pitch and vocal tract."""
    from indextts_core import prosody
    from indextts_core.audio import resample

    pcm = engine.speak_english(text)
    pcm = prosody.change_voice(pcm, 22050, pitch_median_hz=pitch_hz, formant_ratio=formant)
    pcm = 0.5 * pcm / max(1e-6, float(np.max(np.abs(pcm))))
    pad = np.zeros(int(0.3 * 22050), np.float32)
    pcm = np.concatenate([pad, pcm.astype(np.float32), pad])
    return resample(pcm, 22050, rate) if rate != 22050 else pcm


def wav_bytes(samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


REFERENCE_TEXT = (
    "I agree that my voice can be used by this bot to make a synthetic copy. "
    "Today the weather is lovely and I would like to go for a walk in the park."
)


@pytest.fixture(scope="session")
def reference_clip(engine) -> np.ndarray:
    """About six seconds of a higher, smaller-tract voice at 22.05 kHz."""
    return speech_clip(engine, REFERENCE_TEXT, pitch_hz=190.0, formant=1.15)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random-weight IndexTTS-2.5 ONNX model in the package's file layout."""
    pytest.importorskip("index_tts_2_5_onnx", reason="the indextts extra is not installed")
    from tests.indextts_core.backends.tiny_indextts import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("indextts-tiny"))


@pytest.fixture(scope="session")
def itts(tiny_model_dir):
    """The indextts engine on the tiny model: the package's real code, noise for audio."""
    from indextts_core.backends.indextts import IndexTTSEngine

    eng = IndexTTSEngine({"model_dir": str(tiny_model_dir), "seed": 7, "threads": 2, "diffusion_steps": 6})
    eng.warm_up(speaker_encoder=False)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the session (skipped with the reason when not installed)."""
    from tests.servers import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on it for each test."""
    return postgres_server.new_database()


#: Fixtures that load a model or start processes (and, through pytest's fixture closure, any fixture
#: built on them): a test using one belongs to the full tier only.
HEAVY_FIXTURES = frozenset({"engine", "itts", "tiny_model_dir", "app", "cluster", "kokoro_engine"})


#: Modules whose tests start the bot, a worker or the CLI as processes, or build engines of their own.
PROCESS_MODULES = frozenset({"test_cli.py", "test_public_api.py", "test_bank.py", "test_indextts.py",
                             "test_console.py", "test_worker.py", "test_main.py", "test_indextts_real.py"})


def pytest_collection_modifyitems(config, items):
    """``slow`` marks every test that needs a model, a process or a cluster; ``make test-fast`` runs
    the rest (unit and contract tests: parsing, permissions, storage on SQLite and PostgreSQL, the
    queues, the watermark)."""
    for item in items:
        if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in PROCESS_MODULES \
                or _starts_a_process(item):
            item.add_marker(pytest.mark.slow)


def _starts_a_process(item) -> bool:
    """A test whose own code uses ``subprocess`` (a cold interpreter start costs seconds)."""
    code = getattr(getattr(item, "function", None), "__code__", None)
    return code is not None and "subprocess" in code.co_names
