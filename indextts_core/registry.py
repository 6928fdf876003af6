"""Engines by name, imported lazily so a missing optional backend costs nothing until asked for."""

from __future__ import annotations

import importlib
from typing import Any, Optional

from .engine import Engine
from .errors import EngineUnavailableError

#: name → "module:Class"
BACKENDS: dict[str, str] = {
    "default": "indextts_core.backends.default:DefaultEngine",
    "indextts": "indextts_core.backends.indextts:IndexTTSEngine",
}


def installed(*modules: str) -> bool:
    """Whether every named module imports (optional models and packages, checked before use)."""
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def available() -> list[str]:
    return sorted(BACKENDS)


def load_engine(name: str = "default", config: Optional[dict[str, Any]] = None) -> Engine:
    """Instantiate the backend called ``name`` with its config table."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise EngineUnavailableError(f"Unknown engine {name!r}; available: {', '.join(available())}.") from None
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailableError(f"The {name} engine is not installed: {exc}.") from exc
    engine: Engine = getattr(module, cls_name)(config or {})
    return engine
