"""What the directory holds, as plain frozen values: units, people, groups and authentication outcomes.

These are the types every other package sees; nothing here knows LDAP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "GROUP_UNIT_GONE",
    "AccountStatus",
    "AuthOutcome",
    "AuthStatus",
    "Group",
    "NewPerson",
    "Page",
    "Person",
    "PersonBrief",
    "PersonChanges",
    "Unit",
    "UnitKind",
    "UnitRef",
]


class UnitKind(enum.StrEnum):
    """Kinds of Party units, from the centre down to the cells."""

    CENTRAL_ORGAN = "central-organ"  # cơ quan Trung ương (ban, văn phòng…)
    CENTRAL_COMMITTEE_OFFICE = "central-office"  # Văn phòng Trung ương Đảng
    PROVINCIAL_COMMITTEE = "provincial-committee"  # Tỉnh ủy
    MUNICIPAL_COMMITTEE = "municipal-committee"  # Thành ủy (trực thuộc Trung ương)
    PARTY_COMMITTEE = "party-committee"  # Đảng ủy (khối, cơ quan, doanh nghiệp)
    DEPARTMENT = "department"  # Ban, văn phòng of a committee
    COMMUNE_COMMITTEE = "commune-committee"  # Đảng ủy xã
    WARD_COMMITTEE = "ward-committee"  # Đảng ủy phường
    PARTY_CELL = "party-cell"  # Chi bộ
    OTHER = "other"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


@dataclass(frozen=True)
class UnitRef:
    """A unit as it appears inside another record (a person's unit, a path to the root)."""

    dn: str
    code: str
    name: str
    kind: UnitKind


@dataclass(frozen=True)
class Unit:
    dn: str
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None = None
    parent_dn: str | None = None
    description: str = ""
    # the server's identifier: kept through a rename or a move, never given to another unit with the same code
    entry_uuid: str = ""

    @property
    def ref(self) -> UnitRef:
        return UnitRef(dn=self.dn, code=self.code, name=self.name, kind=self.kind)


@dataclass(frozen=True)
class Person:
    """An official. ``entry_uuid`` is the stable identifier (the OIDC ``sub``); ``uid`` is the login name."""

    dn: str
    uid: str
    entry_uuid: str
    full_name: str  # cn, e.g. "Nguyễn Văn An"
    surname: str  # sn, e.g. "Nguyễn"
    given_name: str  # givenName, e.g. "An"
    display_name: str = ""
    mail: str | None = None
    phone: str | None = None
    employee_number: str | None = None
    party_card_number: str | None = None
    position: str | None = None  # chức vụ, e.g. "Chánh Văn phòng"
    status: AccountStatus = AccountStatus.ACTIVE
    unit: UnitRef | None = None
    unit_path: tuple[UnitRef, ...] = ()  # from the person's unit up to the root
    groups: tuple[str, ...] = ()  # effective group names (cn), nested groups resolved
    group_dns: tuple[str, ...] = ()
    locked: bool = False
    must_change_password: bool = False
    modified_at: datetime | None = field(default=None, compare=False)  # modifyTimestamp, to the second
    version: str | None = field(default=None, compare=False)  # entryCSN: changes with every write to the entry

    @property
    def active(self) -> bool:
        return self.status is AccountStatus.ACTIVE and not self.locked


@dataclass(frozen=True)
class PersonBrief:
    """An official by what a search matches on, without the unit path and groups a :class:`Person` carries."""

    uid: str
    full_name: str
    mail: str | None = None
    employee_number: str | None = None


GROUP_UNIT_GONE = "gone"  # a group's scope unit was gone when the group was bound: no entryUUID is ever that


@dataclass(frozen=True)
class Group:
    """A group or a role (groupOfNames); members may be people or other groups."""

    dn: str
    name: str  # cn
    description: str = ""
    members: tuple[str, ...] = ()  # direct member DNs
    is_role: bool = False
    unit_code: str | None = None  # the unit (and its subtree) a role applies to
    # that unit's entryUUID when the group was scoped (GROUP_UNIT_GONE: it was gone when bound; None: not bound yet);
    # a new unit given a deleted unit's code is not the group's unit (directory.unit_identity)
    unit_uuid: str | None = None


class AuthStatus(enum.StrEnum):
    SUCCESS = "success"
    INVALID_CREDENTIALS = "invalid-credentials"  # wrong password or no such account: never tell which
    LOCKED = "locked"
    EXPIRED = "expired"  # the password expired and no grace login is left
    MUST_CHANGE = "must-change"  # right password, but it was reset: change it before anything else
    DISABLED = "disabled"  # the account is suspended or retired


@dataclass(frozen=True)
class AuthOutcome:
    """The result of checking a password by binding.

    ``person`` is set only when the password was right (SUCCESS, MUST_CHANGE, and EXPIRED with grace logins).
    """

    status: AuthStatus
    person: Person | None = None
    grace_logins_left: int | None = None  # the password has expired; this many more logins are allowed
    expires_in_seconds: int | None = None  # the password will expire soon

    @property
    def ok(self) -> bool:
        return self.status is AuthStatus.SUCCESS


@dataclass(frozen=True)
class Page:
    """One page of a paged search; pass ``cookie`` back for the next one (None when this was the last)."""

    items: tuple[Person, ...] = field(default_factory=tuple)
    cookie: bytes | None = None


@dataclass(frozen=True)
class NewPerson:
    """What is needed to create an official; ``unit_code`` None puts the account in ou=people."""

    uid: str
    full_name: str
    unit_code: str | None = None
    password: str | None = None
    mail: str | None = None
    phone: str | None = None
    employee_number: str | None = None
    party_card_number: str | None = None
    position: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    must_change_password: bool = False
    # what the full name gives unless set apart (a SCIM client keeps them apart): sn, givenName, displayName
    surname: str | None = None
    given_name: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class PersonChanges:
    """A change to an official: None leaves a field as it is, "" removes an optional one.

    A new ``full_name`` sets the surname, given name and display name from it too, unless they are given.
    """

    full_name: str | None = None
    surname: str | None = None
    given_name: str | None = None
    display_name: str | None = None
    mail: str | None = None
    phone: str | None = None
    employee_number: str | None = None
    party_card_number: str | None = None
    position: str | None = None
