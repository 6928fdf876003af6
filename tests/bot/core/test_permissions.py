"""Every declared command × role × policy setting × blocked: the single decision point against a
written table of the rules per kind of access, and the security-relevant commands pinned to their kind."""

import itertools

import pytest

from bot.core.command_spec import Access
from bot.core.commands import CATALOG
from bot.core.permissions import Role, decide, resolve_role
from bot.storage import Policy

ROLES = list(Role)
POLICIES = {
    "default": Policy("p", "g"),
    "no-clone": Policy("p", "g", clone_allowed=False),
    "say-role": Policy("p", "g", say_mode="role"),
    "say-admins": Policy("p", "g", say_mode="admins"),
}
COMMANDS = [spec.name for spec in CATALOG.specs]  # every command and event, as declared

#: What must never drift: who may touch a server's settings, make a voice, or make the bot speak.
PINNED = {
    **{name: Access.ADMIN for name in ("policy", "block", "unblock", "trust", "untrust", "purge", "usage")},
    "clone": Access.CLONE,
    "verify": Access.CHECK,  # a worker's time: not for members blocked here
    **{name: Access.SPEAK for name in ("say", "inline", "share", "join", "leave", "aloud")},
    **{name: Access.OPEN for name in ("forget", "voice", "cancel", "help")},  # one's own data is always reachable
}


def expected(command: str, role: Role, policy: str, blocked: bool) -> bool:
    """The rules, written out as a table a person can check."""
    access = CATALOG[command].access
    if access is Access.OPEN:
        return True  # own data and information: always
    if access is Access.ADMIN:
        return role in (Role.ADMIN, Role.OWNER)
    if blocked and role in (Role.USER, Role.TRUSTED):
        return False
    if access is Access.CLONE:
        return policy != "no-clone" or role in (Role.ADMIN, Role.OWNER)
    if access is Access.STEER:
        return True  # who asked for what plays decides: test_voicechat
    if access is Access.CHECK:
        return True  # anyone not blocked
    if policy == "say-role":
        return role != Role.USER
    if policy == "say-admins":
        return role in (Role.ADMIN, Role.OWNER)
    return True


@pytest.mark.parametrize("command,role,policy,blocked",
                         list(itertools.product(COMMANDS, ROLES, POLICIES, [False, True])))
def test_matrix(command, role, policy, blocked):
    verdict = decide(CATALOG[command].access, role, POLICIES[policy], blocked)
    assert verdict.allowed == expected(command, role, policy, blocked)
    if not verdict.allowed:
        assert verdict.reason_en and verdict.reason_zh


@pytest.mark.parametrize("command", sorted(PINNED))
def test_security_relevant_commands_keep_their_access(command):
    assert CATALOG[command].access is PINNED[command]


def test_role_resolution_order():
    assert resolve_role(True, False, False, False) == Role.OWNER
    assert resolve_role(False, True, True, False) == Role.ADMIN
    assert resolve_role(False, False, True, False) == Role.TRUSTED
    assert resolve_role(False, False, False, False) == Role.USER
    assert resolve_role(False, False, False, True) == Role.OWNER  # own private chat
