"""Who may do what: the policy table, as data.

Two questions decide every request:

1. *Can the caller see the object at all?*  That is the scope: the caller's organisation and every
   organisation below it (plus, later, sites shared to it); an owner sees only what is theirs.
   Outside the scope an object does not exist for the caller (HTTP 404).
2. *May the caller's role take this action on this kind of object?*  That is ``POLICY`` below.
   A visible object with a forbidden action is HTTP 403.

The table is the single source of truth: the API checks it and the authorisation test generates its
matrix of (role, organisation, object, action) from it.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OM = "om"  # operation and maintenance engineer
    OWNER = "owner"  # the common user: a home's owner


class OrgType(StrEnum):
    PLATFORM = "platform"
    DISTRIBUTOR = "distributor"
    INSTALLER = "installer"
    UTILITY = "utility"  # a grid operator or energy supplier: offers virtual batteries


class Kind(StrEnum):
    ORG = "org"
    USER = "user"
    SITE = "site"
    DEVICE = "device"
    AUDIT = "audit"
    VIRTUAL_BATTERY = "virtual_battery"
    FIRMWARE = "firmware"  # releases (with their files) and upgrade tasks
    TARIFF = "tariff"  # a site's import and export tariff versions (seen with the site)
    REGISTER_MAP = "register_map"  # an organisation's vendor register maps
    ALARM_SUBSCRIPTION = "alarm_subscription"  # alarm notifications by email or webhook


class Action(StrEnum):
    LIST = "list"
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESET_PASSWORD = "reset_password"
    CHANGE_ROLE = "change_role"
    SHARE = "share"
    DISTRIBUTE = "distribute"


_ALL_ORG = frozenset({Action.LIST, Action.READ, Action.CREATE, Action.UPDATE, Action.DELETE})
_VIEW = frozenset({Action.LIST, Action.READ})

POLICY: dict[tuple[Role, Kind], frozenset[Action]] = {
    (Role.ADMIN, Kind.ORG): _ALL_ORG,
    # The manual's role table: O&M engineers manage companies but may not delete one.
    (Role.OM, Kind.ORG): _ALL_ORG - {Action.DELETE},
    (Role.OWNER, Kind.ORG): frozenset({Action.READ}),
    (Role.ADMIN, Kind.USER): _ALL_ORG | {Action.RESET_PASSWORD, Action.CHANGE_ROLE},
    # ... and add users and edit their basic information; only administrators change roles
    # and delete users.
    (Role.OM, Kind.USER): _VIEW | {Action.CREATE, Action.UPDATE, Action.RESET_PASSWORD},
    (Role.OWNER, Kind.USER): frozenset(),
    (Role.ADMIN, Kind.SITE): _ALL_ORG | {Action.SHARE, Action.DISTRIBUTE},
    (Role.OM, Kind.SITE): _ALL_ORG - {Action.DELETE} | {Action.DISTRIBUTE},
    (Role.OWNER, Kind.SITE): _VIEW,
    # Devices are managed by the people who install and maintain them; owners look.
    (Role.ADMIN, Kind.DEVICE): _ALL_ORG,
    (Role.OM, Kind.DEVICE): _ALL_ORG,
    (Role.OWNER, Kind.DEVICE): _VIEW,
    (Role.ADMIN, Kind.AUDIT): frozenset({Action.LIST}),
    (Role.OM, Kind.AUDIT): frozenset({Action.LIST}),
    (Role.OWNER, Kind.AUDIT): frozenset(),
    # Configured by the staff of a utility partner (VIRTUAL_BATTERY_ORGS); its customer looks.
    (Role.ADMIN, Kind.VIRTUAL_BATTERY): _ALL_ORG,
    (Role.OM, Kind.VIRTUAL_BATTERY): _ALL_ORG,
    (Role.OWNER, Kind.VIRTUAL_BATTERY): _VIEW,
    # Firmware is the installers' and maintainers' business; owners never see the files.
    (Role.ADMIN, Kind.FIRMWARE): _ALL_ORG,
    (Role.OM, Kind.FIRMWARE): _ALL_ORG,
    (Role.OWNER, Kind.FIRMWARE): frozenset(),
    # A home's owner sets the tariff of their own site (the "connect" step: their supplier's
    # prices); installers may too, and see who set each version and when.
    (Role.ADMIN, Kind.TARIFF): _ALL_ORG,
    (Role.OM, Kind.TARIFF): _ALL_ORG,
    (Role.OWNER, Kind.TARIFF): _ALL_ORG,
    # Vendor register maps change how every device of a model is written: administrators
    # upload them, O&M engineers read them (O&M's company rights do not reach this far).
    (Role.ADMIN, Kind.REGISTER_MAP): frozenset({Action.LIST, Action.CREATE}),
    (Role.OM, Kind.REGISTER_MAP): frozenset({Action.LIST}),
    (Role.OWNER, Kind.REGISTER_MAP): frozenset(),
    # Alarm notifications: everyone subscribes within their own scope (an owner to their home).
    (Role.ADMIN, Kind.ALARM_SUBSCRIPTION): _ALL_ORG,
    (Role.OM, Kind.ALARM_SUBSCRIPTION): _ALL_ORG,
    (Role.OWNER, Kind.ALARM_SUBSCRIPTION): _ALL_ORG,
}

# The organisations whose staff may configure virtual batteries: a utility, and the platform
# above every utility (staff of distributors and installers only see those in their scope).
VIRTUAL_BATTERY_ORGS = frozenset({OrgType.PLATFORM, OrgType.UTILITY})

# Which organisation types may sit directly under which (the superior).
ALLOWED_PARENTS: dict[OrgType, frozenset[OrgType]] = {
    OrgType.PLATFORM: frozenset(),
    OrgType.DISTRIBUTOR: frozenset({OrgType.PLATFORM, OrgType.DISTRIBUTOR}),
    OrgType.INSTALLER: frozenset({OrgType.PLATFORM, OrgType.DISTRIBUTOR, OrgType.INSTALLER}),
    OrgType.UTILITY: frozenset({OrgType.PLATFORM}),
}


def allowed(role: Role, kind: Kind, action: Action, *, superuser: bool = False) -> bool:
    """May a caller with this role take this action on this kind of object (given it can see it)?"""
    if superuser:
        return True
    return action in POLICY.get((role, kind), frozenset())


# Role ranking: who may act on whom. A superuser ranks above every role.
RANK: dict[Role, int] = {Role.OWNER: 0, Role.OM: 1, Role.ADMIN: 2}
SUPERUSER_RANK = 3

# Actions on a user that the ranking limits (reading and listing are left to the scope).
RANKED_ACTIONS = frozenset(
    {Action.UPDATE, Action.DELETE, Action.RESET_PASSWORD, Action.CHANGE_ROLE}
)


def rank(role: Role, *, superuser: bool = False) -> int:
    return SUPERUSER_RANK if superuser else RANK[role]


def may_act_on(
    role: Role, target_role: Role, *, superuser: bool = False, target_superuser: bool = False
) -> bool:
    """May a caller act on a user (change, reset, delete) given their roles?

    Only on users of the same rank or below: an O&M engineer never on an administrator, nobody
    but a superuser on a superuser. Equal ranks are allowed: the administrators of an organisation
    manage one another (a departed colleague is removed or reset without a superuser), and since a
    reset only mails a temporary password to the user, acting on a peer never yields their account.
    Acting on oneself is a separate question (the /me endpoints) and is decided by the caller.
    """
    return rank(target_role, superuser=target_superuser) <= rank(role, superuser=superuser)


def may_parent(parent: OrgType, child: OrgType) -> bool:
    return parent in ALLOWED_PARENTS[child]


def in_subtree(ancestor_path: str, path: str) -> bool:
    """Is the organisation at ``path`` the one at ``ancestor_path`` or below it?

    Paths are "/id1/id2/.../" chains from the root, as stored on each organisation.
    """
    return path.startswith(ancestor_path)


def child_path(parent_path: str, org_id: str) -> str:
    return f"{parent_path}{org_id}/"
