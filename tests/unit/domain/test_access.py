from __future__ import annotations

import pytest

from voltfleet.domain.access import (
    Action,
    Kind,
    OrgType,
    Role,
    allowed,
    child_path,
    in_subtree,
    may_act_on,
    may_parent,
)
from voltfleet.domain.passwords import password_problems


@pytest.mark.parametrize(
    ("role", "kind", "action", "ok"),
    [
        (Role.ADMIN, Kind.USER, Action.CHANGE_ROLE, True),
        (Role.OM, Kind.USER, Action.CHANGE_ROLE, False),
        (Role.OM, Kind.USER, Action.RESET_PASSWORD, True),
        (Role.OWNER, Kind.USER, Action.RESET_PASSWORD, False),
        (Role.ADMIN, Kind.ORG, Action.DELETE, True),
        (Role.OM, Kind.ORG, Action.DELETE, False),
        (Role.OWNER, Kind.ORG, Action.LIST, False),
        (Role.OWNER, Kind.SITE, Action.READ, True),
        (Role.OWNER, Kind.SITE, Action.UPDATE, False),
        (Role.ADMIN, Kind.SITE, Action.SHARE, True),
        (Role.OM, Kind.SITE, Action.SHARE, False),
    ],
)
def test_policy(role: Role, kind: Kind, action: Action, ok: bool) -> None:
    assert allowed(role, kind, action) is ok


def test_superuser_may_do_anything() -> None:
    assert all(allowed(Role.OWNER, k, a, superuser=True) for k in Kind for a in Action)


def test_tree_rules() -> None:
    assert may_parent(OrgType.PLATFORM, OrgType.DISTRIBUTOR)
    assert may_parent(OrgType.DISTRIBUTOR, OrgType.INSTALLER)
    assert not may_parent(OrgType.INSTALLER, OrgType.DISTRIBUTOR)
    root = child_path("/", "p")
    d = child_path(root, "d")
    assert in_subtree(root, d) and in_subtree(d, d) and not in_subtree(d, root)
    assert not in_subtree(child_path(root, "d1"), child_path(root, "d10"))


@pytest.mark.parametrize(
    ("caller", "caller_su", "target", "target_su", "may"),
    [
        (Role.OM, False, Role.ADMIN, False, False),  # the takeover of issue 12
        (Role.OM, False, Role.OM, False, True),  # peers
        (Role.OM, False, Role.OWNER, False, True),
        (Role.ADMIN, False, Role.ADMIN, False, True),
        (Role.OWNER, False, Role.OM, False, False),
        (Role.ADMIN, False, Role.ADMIN, True, False),  # nobody but a superuser on a superuser
        (Role.ADMIN, True, Role.ADMIN, True, True),
        (Role.OWNER, True, Role.ADMIN, False, True),  # a superuser above every role
    ],
)
def test_role_ranking(
    caller: Role, caller_su: bool, target: Role, target_su: bool, may: bool
) -> None:
    assert may_act_on(caller, target, superuser=caller_su, target_superuser=target_su) is may


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Good#123", []),
        ("Aa1!", ["must be 6 to 18 characters long"]),
        ("Aa1!" + "x" * 15, ["must be 6 to 18 characters long"]),
        ("lower#123", ["needs an upper-case letter"]),
        ("UPPER#123", ["needs a lower-case letter"]),
        ("Nodigit#", ["needs a digit"]),
        ("NoSpecial1", ["needs a special character such as !@#$%"]),
        ("Has space1#", ["must not contain spaces"]),
    ],
)
def test_password_rules(password: str, problems: list[str]) -> None:
    assert password_problems(password) == problems
