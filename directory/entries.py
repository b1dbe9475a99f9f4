"""How the directory's records map to LDAP entries: attribute names, DNs, and entries to models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from directory.config import DirectoryConfig
from directory.ldap_client import Entry, dn_parent, escape_dn_value, explode_dn, normalize_dn
from directory.models import AccountStatus, Group, Person, Unit, UnitKind, UnitRef
from directory.slapd_config import placeholder_member

__all__ = [
    "GROUP_ATTRS",
    "PERMANENT_LOCK",
    "PERSON_ATTRS",
    "PERSON_FIELDS",
    "UNIT_ATTRS",
    "DirectoryNames",
    "effective_groups",
    "generalized_time",
    "group_from_entry",
    "is_locked",
    "person_from_entry",
    "status_of",
    "unit_from_entry",
]

# Person field → LDAP attribute.
PERSON_FIELDS: Mapping[str, str] = {
    "mail": "mail",
    "phone": "telephoneNumber",
    "employee_number": "employeeNumber",
    "party_card_number": "antinPartyCardNumber",
    "position": "antinPosition",
}
PERSON_ATTRS = (
    "uid",
    "cn",
    "sn",
    "givenName",
    "displayName",
    *PERSON_FIELDS.values(),
    "antinStatus",
    "entryUUID",
    "memberOf",
    "pwdAccountLockedTime",
    "pwdReset",
    "modifyTimestamp",  # operational: what SCIM's meta.lastModified says
    "entryCSN",  # operational: the entry's version, for changes that must not overwrite another's
)
UNIT_ATTRS = ("antinUnitCode", "ou", "antinUnitKind", "description", "entryUUID")
GROUP_ATTRS = ("cn", "description", "member", "antinGroupKind", "antinScopeUnitCode", "antinScopeUnitUUID")
# ppolicy's "locked until an administrator unlocks": how disabled accounts are refused by the server itself.
PERMANENT_LOCK = "000001010000Z"


class DirectoryNames:
    """The DNs of one directory layout: units nest under ou=units and officials live under their unit."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.units_dn = config.units_dn
        self.groups_dn = config.groups_dn
        self.people_dn = config.people_dn
        self._units_norm = normalize_dn(config.units_dn)
        self._groups_norm = normalize_dn(config.groups_dn)
        self.placeholder = placeholder_member(config.base_dn)

    def unit_dn(self, code: str, parent_dn: str | None) -> str:
        return f"antinUnitCode={escape_dn_value(code)},{parent_dn or self.units_dn}"

    def person_dn(self, uid: str, unit_dn: str | None) -> str:
        return f"uid={escape_dn_value(uid)},{unit_dn or self.people_dn}"

    def group_dn(self, name: str) -> str:
        return f"cn={escape_dn_value(name)},{self.groups_dn}"

    def unit_codes_above(self, dn: str) -> list[str]:
        """Codes of the units that hold ``dn``, nearest first (read from the DN itself)."""
        codes: list[str] = []
        for attr, value in explode_dn(dn)[1:]:
            if attr.lower() != "antinunitcode":
                break
            codes.append(value)
        return codes

    def is_group_dn(self, dn: str) -> bool:
        return normalize_dn(dn).endswith("," + self._groups_norm)

    def is_unit_dn(self, dn: str) -> bool:
        return normalize_dn(dn).endswith("," + self._units_norm) and explode_dn(dn)[0][0].lower() == "antinunitcode"


def unit_from_entry(entry: Entry) -> Unit:
    above = [v for a, v in explode_dn(entry.dn)[1:2] if a.lower() == "antinunitcode"]
    kind_text = entry.first("antinUnitKind") or "other"
    try:
        kind = UnitKind(kind_text)
    except ValueError:
        kind = UnitKind.OTHER
    parent_dn = dn_parent(entry.dn) if above else None
    return Unit(
        dn=entry.dn,
        code=entry.first("antinUnitCode") or explode_dn(entry.dn)[0][1],
        name=entry.first("ou") or "",
        kind=kind,
        parent_code=above[0] if above else None,
        parent_dn=parent_dn,
        description=entry.first("description") or "",
        entry_uuid=entry.first("entryUUID") or "",
    )


def effective_groups(direct: Iterable[str], parents: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """``direct`` group DNs and every group that contains them, however deeply (``parents``: by normalised DN)."""
    seen: dict[str, str] = {}
    todo = list(direct)
    while todo:
        dn = todo.pop()
        key = normalize_dn(dn)
        if key in seen:
            continue
        seen[key] = dn
        todo.extend(parents.get(key, ()))
    return tuple(seen.values())


def person_from_entry(
    entry: Entry,
    names: DirectoryNames,
    units: Mapping[str, Unit],
    parents: Mapping[str, tuple[str, ...]],
    *,
    lockout_seconds: int = 0,
) -> Person:
    """A Person; ``units`` maps lower-cased unit codes to the units above the person (for the path) and
    ``parents`` maps groups (normalised DNs) to the groups that directly contain them."""
    codes = names.unit_codes_above(entry.dn)
    path = tuple(units[c.lower()].ref for c in codes if c.lower() in units)
    unit: UnitRef | None = path[0] if path else None
    direct = [dn for dn in entry.get("memberOf") if names.is_group_dn(dn)]
    group_dns = effective_groups(direct, parents)
    full_name = entry.first("cn") or ""
    status = status_of(entry)
    return Person(
        dn=entry.dn,
        uid=entry.first("uid") or "",
        entry_uuid=entry.first("entryUUID") or "",
        full_name=full_name,
        surname=entry.first("sn") or "",
        given_name=entry.first("givenName") or "",
        display_name=entry.first("displayName") or full_name,
        mail=entry.first("mail"),
        phone=entry.first("telephoneNumber"),
        employee_number=entry.first("employeeNumber"),
        party_card_number=entry.first("antinPartyCardNumber"),
        position=entry.first("antinPosition"),
        status=status,
        unit=unit,
        unit_path=path,
        groups=tuple(sorted(explode_dn(dn)[0][1] for dn in group_dns)),
        group_dns=group_dns,
        locked=is_locked(entry.first("pwdAccountLockedTime"), lockout_seconds),
        must_change_password=(entry.first("pwdReset") or "").upper() == "TRUE",
        modified_at=generalized_time(entry.first("modifyTimestamp")),
        version=entry.first("entryCSN"),
    )


def status_of(entry: Entry) -> AccountStatus:
    """The account status of a person's entry; an unknown value counts as suspended."""
    try:
        return AccountStatus((entry.first("antinStatus") or "active").lower())
    except ValueError:
        return AccountStatus.SUSPENDED  # an unknown status must not open the door


def is_locked(locked_time: str | None, lockout_seconds: int) -> bool:
    """Whether a ppolicy lock is in force: permanent, without a duration, or not yet expired.

    slapd leaves pwdAccountLockedTime in place after the lockout duration until the next successful bind.
    """
    if locked_time is None:
        return False
    if locked_time == PERMANENT_LOCK or lockout_seconds <= 0:
        return True
    try:
        since = datetime.strptime(locked_time[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return True
    return datetime.now(UTC) < since + timedelta(seconds=lockout_seconds)


def generalized_time(value: str | None) -> datetime | None:
    """An LDAP GeneralizedTime in UTC ("20261204231500Z"), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def group_from_entry(entry: Entry, names: DirectoryNames) -> Group:
    placeholder = normalize_dn(names.placeholder)
    return Group(
        dn=entry.dn,
        name=entry.first("cn") or "",
        description=entry.first("description") or "",
        members=tuple(m for m in entry.get("member") if normalize_dn(m) != placeholder),
        is_role=(entry.first("antinGroupKind") or "").lower() == "role",
        unit_code=entry.first("antinScopeUnitCode"),
        unit_uuid=entry.first("antinScopeUnitUUID"),
    )
