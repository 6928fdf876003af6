"""Every command × role × policy setting × blocked: the single decision point against a written table."""

import itertools

import pytest

from bot.core.permissions import ADMIN_COMMANDS, OPEN_COMMANDS, Role, decide, resolve_role
from bot.storage import Policy

ROLES = list(Role)
POLICIES = {
    "default": Policy("p", "g"),
    "no-clone": Policy("p", "g", clone_allowed=False),
    "say-role": Policy("p", "g", say_mode="role"),
    "say-admins": Policy("p", "g", say_mode="admins"),
}
COMMANDS = sorted(OPEN_COMMANDS | ADMIN_COMMANDS | {"clone", "say", "share"})


def expected(command: str, role: Role, policy: str, blocked: bool) -> bool:
    """The rules, written out as a table a person can check."""
    if command in OPEN_COMMANDS:
        return True  # own data and information: always
    if command in ADMIN_COMMANDS:
        return role in (Role.ADMIN, Role.OWNER)
    if blocked and role in (Role.USER, Role.TRUSTED):
        return False
    if command == "clone":
        return policy != "no-clone" or role in (Role.ADMIN, Role.OWNER)
    # say / share
    if policy == "say-role":
        return role != Role.USER
    if policy == "say-admins":
        return role in (Role.ADMIN, Role.OWNER)
    return True


@pytest.mark.parametrize("command,role,policy,blocked",
                         list(itertools.product(COMMANDS, ROLES, POLICIES, [False, True])))
def test_matrix(command, role, policy, blocked):
    assert decide(command, role, POLICIES[policy], blocked).allowed == expected(command, role, policy, blocked)


def test_role_resolution_order():
    assert resolve_role(True, False, False, False) == Role.OWNER
    assert resolve_role(False, True, True, False) == Role.ADMIN
    assert resolve_role(False, False, True, False) == Role.TRUSTED
    assert resolve_role(False, False, False, False) == Role.USER
    assert resolve_role(False, False, False, True) == Role.OWNER  # own private chat
