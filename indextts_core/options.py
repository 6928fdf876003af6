"""Reading a backend's options (the ``[engine]`` table): wrong types and values are named clearly."""

from __future__ import annotations

from typing import Any, Sequence

from .errors import EngineConfigError


def option_int(cfg: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """Pop ``key`` as a whole number in ``[low, high]``."""
    value = cfg.pop(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EngineConfigError(f"engine.{key} must be a whole number (got {value!r})")
    if not low <= value <= high:
        raise EngineConfigError(f"engine.{key} must be between {low} and {high} (got {value})")
    return value


def option_choice(cfg: dict[str, Any], key: str, default: str, choices: Sequence[str]) -> str:
    """Pop ``key`` as one of ``choices``."""
    value = cfg.pop(key, default)
    if value not in choices:
        raise EngineConfigError(f"engine.{key} must be one of {', '.join(map(repr, choices))} (got {value!r})")
    return str(value)


def option_bool(cfg: dict[str, Any], key: str, default: bool) -> bool:
    """Pop ``key`` as true or false."""
    value = cfg.pop(key, default)
    if not isinstance(value, bool):
        raise EngineConfigError(f"engine.{key} must be true or false (got {value!r})")
    return value
