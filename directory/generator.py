"""A realistic synthetic Party directory for scale work (``antin directory generate --officials N``).

The tree: central organs; the 34 provincial and municipal committees, each with its departments, communes
or wards and their Party cells; officials with Vietnamese names spread over all of them; per-province roles
(administrators, signers, records office) nested into national groups. The same seed gives the same directory.

Two ways in: ``slapadd`` into a stopped managed slapd (offline, thousands of entries a second; the password
is hashed once by slappasswd, entryUUIDs are made by slapadd, and memberOf is computed here since slapadd
bypasses the memberof overlay), or adds through the server on several connections.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directory.errors import AlreadyExistsError
from directory.ldap_client import write_ldif
from directory.names import (
    CENTRAL_ORGANS,
    COMMUNE_NAMES,
    FAMILY_NAMES,
    GIVEN_NAMES_FEMALE,
    GIVEN_NAMES_MALE,
    MIDDLE_NAMES_FEMALE,
    MIDDLE_NAMES_MALE,
    PROVINCES,
    PROVINCIAL_DEPARTMENTS,
    ascii_fold,
    login_for,
    search_keys,
)

if TYPE_CHECKING:
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd

__all__ = ["DEFAULT_PASSWORD", "SyntheticDirectory", "build_synthetic", "generate_directory"]

DEFAULT_PASSWORD = "Thu-nghiem-2025!"
Attrs = dict[str, list[str]]


@dataclass
class SyntheticDirectory:
    """Entries in the order they must be added (parents first), with DNs relative to the base."""

    units: list[tuple[str, Attrs]] = field(default_factory=list)
    people: list[tuple[str, Attrs]] = field(default_factory=list)
    groups: list[tuple[str, Attrs]] = field(default_factory=list)

    def entries(self) -> Iterator[tuple[str, Attrs]]:
        yield from self.units
        yield from self.people
        yield from self.groups


def _unit(dn: str, code: str, name: str, kind: str) -> tuple[str, Attrs]:
    return dn, {"objectClass": ["antinUnit"], "antinUnitCode": [code], "ou": [name], "antinUnitKind": [kind]}


class _NameMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.families = [n for n, _ in FAMILY_NAMES]
        self.weights = [w for _, w in FAMILY_NAMES]
        self.logins: dict[str, int] = {}

    def person(self) -> tuple[str, str]:
        """(full name, unique login)."""
        female = self.rng.random() < 0.45
        family = self.rng.choices(self.families, self.weights)[0]
        middle = self.rng.choice(MIDDLE_NAMES_FEMALE if female else MIDDLE_NAMES_MALE)
        given = self.rng.choice(GIVEN_NAMES_FEMALE if female else GIVEN_NAMES_MALE)
        full = f"{family} {middle} {given}"
        base = login_for(full)
        count = self.logins.get(base, 0) + 1
        self.logins[base] = count
        return full, base if count == 1 else f"{base}{count}"


def build_synthetic(
    officials: int, *, base_dn: str, seed: int = 2025, password: str = "", member_of: bool = False
) -> SyntheticDirectory:
    """The whole synthetic directory in memory (about 1 KB per official).

    ``member_of`` adds the memberOf values the memberof overlay would keep (slapadd bypasses overlays).
    """
    rng = random.Random(seed)
    names = _NameMaker(rng)
    out = SyntheticDirectory()
    units_dn = f"ou=units,{base_dn}"
    groups_dn = f"ou=groups,{base_dn}"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%SZ")
    # Officials per place: the central organs and provincial departments are staffed first, then communes.
    communes_per_province = max(2, min(120, officials // (len(PROVINCES) * 25)))
    cells_per_commune = 3

    slots: list[tuple[str, str, str, str]] = []  # (unit dn, position, mail domain, province code)
    out.units.append(_unit(f"antinUnitCode=TW,{units_dn}", "TW", "Ban Chấp hành Trung ương Đảng", "central-organ"))
    tw_dn = f"antinUnitCode=TW,{units_dn}"
    for code, name, kind in CENTRAL_ORGANS:
        dn = f"antinUnitCode={code},{tw_dn}"
        out.units.append(_unit(dn, code, name, kind))
        slots += [(dn, "Chuyên viên", "tw", "TW")] * 6 + [(dn, "Vụ trưởng", "tw", "TW")]
    roles: dict[str, dict[str, list[str]]] = {}
    for pcode, pname, city in PROVINCES:
        committee = "Thành ủy" if city else "Tỉnh ủy"
        pdn = f"antinUnitCode={pcode},{tw_dn}"
        domain = ascii_fold(pname).lower().replace(" ", "")
        out.units.append(
            _unit(pdn, pcode, f"{committee} {pname}", "municipal-committee" if city else "provincial-committee")
        )
        roles[pcode] = {"quan-tri": [], "ky-so": [], "van-thu": []}
        slots += [(pdn, "Bí thư", domain, pcode), (pdn, "Phó Bí thư", domain, pcode)]
        for suffix, prefix in PROVINCIAL_DEPARTMENTS:
            ddn = f"antinUnitCode={pcode}-{suffix},{pdn}"
            out.units.append(_unit(ddn, f"{pcode}-{suffix}", f"{prefix} {committee} {pname}", "department"))
            slots += [(ddn, "Chuyên viên", domain, pcode)] * 4 + [(ddn, "Trưởng ban", domain, pcode)]
        picked = rng.sample(COMMUNE_NAMES, k=min(communes_per_province, len(COMMUNE_NAMES)))
        for index in range(communes_per_province):
            cname = picked[index % len(picked)]
            ward = rng.random() < (0.6 if city else 0.25)
            ccode = f"{pcode}-{'P' if ward else 'X'}{index + 1:03d}"
            cdn = f"antinUnitCode={ccode},{pdn}"
            label = f"Đảng ủy {'phường' if ward else 'xã'} {cname}"
            if index >= len(picked):
                label += f" {index // len(picked) + 1}"
            out.units.append(_unit(cdn, ccode, label, "ward-committee" if ward else "commune-committee"))
            slots += [(cdn, "Bí thư Đảng ủy", domain, pcode), (cdn, "Văn thư", domain, pcode)]
            slots += [(cdn, "Chuyên viên", domain, pcode)] * 2
            for cell in range(cells_per_commune):
                kdn = f"antinUnitCode={ccode}-CB{cell + 1:02d},{cdn}"
                place = "khu phố" if ward else "thôn"
                out.units.append(_unit(kdn, f"{ccode}-CB{cell + 1:02d}", f"Chi bộ {place} {cell + 1}", "party-cell"))
                slots += [(kdn, "Bí thư Chi bộ", domain, pcode), (kdn, "Đảng viên", domain, pcode)]
    for seq in range(officials):
        unit_dn, position, domain, pcode = slots[seq % len(slots)] if seq < len(slots) else rng.choice(slots)
        full, uid = names.person()
        words = full.split()
        attrs: Attrs = {
            "objectClass": ["inetOrgPerson", "antinOfficial"],
            "uid": [uid],
            "cn": [full],
            "sn": [words[0]],
            "givenName": [words[-1]],
            "displayName": [full],
            "mail": [f"{uid}@{domain}.dang.example"],
            "employeeNumber": [f"CB{seq + 1:07d}"],
            "antinPartyCardNumber": [f"{(seq * 7919 + 1000003) % 100_000_000:08d}"],
            "antinPosition": [position],
            "antinStatus": ["active"],
            "antinSearchKey": search_keys(full, uid),
            "telephoneNumber": [f"+84 9{rng.randrange(10_000_000, 99_999_999)}"],
        }
        if password:
            attrs["userPassword"] = [password]
            attrs["pwdChangedTime"] = [now]
        dn = f"uid={uid},{unit_dn}"
        out.people.append((dn, attrs))
        if pcode in roles:
            if position == "Văn thư":
                roles[pcode]["van-thu"].append(dn)
            elif position.startswith("Bí thư") or position == "Trưởng ban":
                roles[pcode]["ky-so"].append(dn)
            elif position == "Chuyên viên" and len(roles[pcode]["quan-tri"]) < 2 and "-VP," in dn:
                roles[pcode]["quan-tri"].append(dn)
    national: dict[str, list[str]] = {"quan-tri": [], "ky-so": [], "van-thu": []}
    descriptions = {"quan-tri": "Quản trị", "ky-so": "Ký số", "van-thu": "Văn thư"}
    for pcode, by_role in roles.items():
        for role, members in by_role.items():
            if not members:
                continue
            name = f"{role}-{pcode.lower()}"
            gdn = f"cn={name},{groups_dn}"
            out.groups.append(
                (
                    gdn,
                    {
                        "objectClass": ["groupOfNames", "antinGroup"],
                        "cn": [name],
                        "description": [f"{descriptions[role]} {pcode}"],
                        "member": members,
                        "antinGroupKind": ["role"],
                        "antinScopeUnitCode": [pcode],
                    },
                )
            )
            national[role].append(gdn)
    for role, members in national.items():
        if members:
            out.groups.append(
                (
                    f"cn={role},{groups_dn}",
                    {
                        "objectClass": ["groupOfNames", "antinGroup"],
                        "cn": [role],
                        "description": [f"{descriptions[role]} (toàn quốc)"],
                        "member": members,
                        "antinGroupKind": ["role"],
                    },
                )
            )
    if member_of:
        _add_member_of(out)
    return out


def _add_member_of(out: SyntheticDirectory) -> None:
    groups_of: dict[str, list[str]] = {}
    for gdn, attrs in out.groups:
        for member in attrs["member"]:
            groups_of.setdefault(member.lower(), []).append(gdn)
    for dn, attrs in [*out.people, *out.groups]:
        above = groups_of.get(dn.lower())
        if above:
            attrs["memberOf"] = above


def hash_password(password: str, scheme: str = "{ARGON2}") -> str:
    """One hash made by slappasswd (with the server's module), shared by every synthetic official."""
    from directory.slapd import find_program

    program = find_program("slappasswd", ("/usr/sbin/slappasswd",))
    args = [program, "-h", scheme, "-T", "/dev/stdin"]
    if scheme.upper() == "{ARGON2}":
        args[1:1] = ["-o", "module-load=argon2"]
    result = subprocess.run(args, input=password, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def generate_directory(
    directory: LdapDirectory | None,
    *,
    officials: int,
    seed: int = 2025,
    password: str = DEFAULT_PASSWORD,
    slapd: ManagedSlapd | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Generate and load; with ``slapd`` (stopped) by slapadd, else through ``directory``'s server."""
    started = time.monotonic()
    if slapd is not None:
        if slapd.ensure_running():  # the base entries exist only after a first start
            slapd.stop()
        synthetic = build_synthetic(
            officials, base_dn=slapd.base_dn, seed=seed, password=hash_password(password), member_of=True
        )
        total = len(synthetic.units) + len(synthetic.people) + len(synthetic.groups)
        with tempfile.NamedTemporaryFile("w", suffix=".ldif", encoding="utf-8", delete=False) as fh:
            path = Path(fh.name)
            batch: list[tuple[str, Attrs]] = []
            done = 0
            for entry in synthetic.entries():
                batch.append(entry)
                if len(batch) == 5000:
                    fh.write(write_ldif(batch))
                    done += len(batch)
                    batch = []
                    if progress:
                        progress(done, total)
            fh.write(write_ldif(batch))
        try:
            slapd.slapadd(path)
        finally:
            path.unlink(missing_ok=True)
        if progress:
            progress(total, total)
        method = "slapadd"
    else:
        if directory is None:
            raise ValueError("a directory or a stopped managed slapd is needed")
        synthetic = build_synthetic(officials, base_dn=directory.config.base_dn, seed=seed, password=password)
        for people in (synthetic.people,):
            for _, attrs in people:
                attrs.pop("pwdChangedTime", None)  # the server sets it
        total = len(synthetic.units) + len(synthetic.people) + len(synthetic.groups)
        done = 0

        def add(entry: tuple[str, Attrs]) -> None:
            dn, attrs = entry
            # generating again with the same seed adds what is missing
            with contextlib.suppress(AlreadyExistsError):
                directory.pool.run(lambda c: c.add(dn, attrs))

        for part in (synthetic.units, synthetic.people, synthetic.groups):
            if part is synthetic.units:
                for entry in part:  # parents before children: in order
                    add(entry)
                    done += 1
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    for _ in pool.map(add, part):
                        done += 1
                        if progress and done % 500 == 0:
                            progress(done, total)
        if progress:
            progress(total, total)
        method = "server"
    return {
        "units": len(synthetic.units),
        "officials": len(synthetic.people),
        "groups": len(synthetic.groups),
        "seconds": round(time.monotonic() - started, 2),
        "method": method,
    }
