"""Gradual rollout (灰度发布): which engine speaks a request, when several run side by side.

Rules, first match wins:

1. the user's own choice (``/engine NAME``), when the operator lets users choose;
2. the canary engine for servers on the allow-list;
3. the canary engine for a stable share of users: a hash of the platform and user id puts each
   user in one of 10,000 buckets, so a user stays on one side as the percentage grows;
4. otherwise the primary engine (``percent = 100`` makes the canary everyone's engine).

Only engines that run now are chosen; the command layer falls back from there (a missing
profile, a failed engine) and says so.  The rules are data: the bot replaces them on SIGHUP.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Collection, Optional

BUCKETS = 10_000


@dataclass(frozen=True)
class Rollout:
    """The operator's rules (``[rollout]`` in the config)."""

    canary: Optional[str] = None  # the engine being rolled out (None: every request on the primary)
    servers: frozenset[str] = frozenset()  # "platform:server_id" places that always get the canary
    percent: float = 0.0  # share of users on the canary, 0–100
    user_choice: bool = True  # users may pick any running engine with /engine


@dataclass(frozen=True)
class Route:
    """The engine for one request and why (the cohort, for metrics and captions)."""

    engine: str
    cohort: str  # primary | chosen | server | percent | everyone | fallback
    busy: Optional[str] = None  # the engine the rules chose, when it was too busy and this one stands in


def bucket(platform: str, platform_user_id: str) -> int:
    """A user's stable place in 0..9999 (not their database id: it survives /forget and re-joining)."""
    digest = hashlib.sha256(f"rollout:{platform}:{platform_user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def route(rules: Rollout, primary: str, running: Collection[str], platform: str, server_id: str,
          platform_user_id: str, choice: Optional[str] = None) -> Route:
    """The engine this request should use, among the ``running`` ones."""
    if choice is not None and rules.user_choice and choice in running:
        return Route(choice, "chosen")
    if running and primary not in running:  # the primary's workers are all gone: any engine that runs
        return Route(sorted(running)[0], "fallback")
    canary = rules.canary
    if canary is not None and canary != primary and canary in running:
        if f"{platform}:{server_id}" in rules.servers:
            return Route(canary, "server")
        if rules.percent >= 100:
            return Route(canary, "everyone")
        if bucket(platform, platform_user_id) < rules.percent * BUCKETS / 100:
            return Route(canary, "percent")
    return Route(primary, "primary")
