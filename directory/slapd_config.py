"""The configuration a managed slapd runs with: slapd.conf text and the project's schema.

The same overlays, indexes and ACLs are what a production OpenLDAP needs (docs/directory.md lists them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["SCHEMA_FILE", "SlapdLayout", "placeholder_member", "render_slapd_conf", "schema_as_ldif", "schema_text"]

SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson")
SCHEMA_FILE = "antin.schema"
MODULES = ("back_mdb", "ppolicy", "memberof", "refint", "unique", "argon2")
# Attributes nobody but the service account (and the person, for some) may see.
PRIVATE_ATTRS = (
    "pwdHistory",
    "pwdFailureTime",
    "pwdAccountLockedTime",
    "pwdGraceUseTime",
    "pwdChangedTime",
    "pwdReset",
    "pwdPolicySubentry",
    "antinPartyCardNumber",
)
UNIQUE_ATTRS = ("uid", "mail", "employeeNumber", "antinUnitCode")
# What is searched, and nothing more: every index key is written on every add (docs/directory.md, "Indexes").
# Text searches (the console, the admin API, ``antin directory users list --search``) match antinSearchKey (the
# folded full name and the login) by substring, through its one index; cn's substring index, which only outside
# clients' name searches used, made way for it (an official writes ~27 substring keys instead of ~21). Substring
# keys of displayName (always cn), sn, givenName and antinPosition, which nobody searched, cost a third of
# slapd's CPU per imported official (docs/benchmarks.md, Directory).
INDEXES = (
    "objectClass eq",
    "uid,mail,employeeNumber,antinUnitCode,antinStatus,antinUnitKind,antinScopeUnitCode eq",
    "cn,sn,givenName,displayName,antinPosition eq",
    "antinSearchKey sub",
    "member,memberOf eq",
    "entryUUID eq",
)


def placeholder_member(base_dn: str) -> str:
    """The member DN that keeps an empty groupOfNames valid (member is mandatory); never a real entry."""
    return f"cn=nobody,{base_dn}"


def schema_text() -> str:
    """The project's schema in slapd.conf form (shipped as package data)."""
    return resources.files("directory.schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def schema_as_ldif() -> str:
    """The project's schema as a cn=config entry, for ``ldapadd -Y EXTERNAL -H ldapi:///`` in production."""
    lines = ["dn: cn=antin,cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: antin"]
    keyword_to_attr = {
        "objectidentifier": "olcObjectIdentifier",
        "attributetype": "olcAttributeTypes",
        "objectclass": "olcObjectClasses",
    }
    for definition in _schema_definitions(schema_text()):
        keyword, _, rest = definition.partition(" ")
        lines.append(f"{keyword_to_attr[keyword.lower()]}: {rest.strip()}")
    return "\n".join(lines) + "\n"


def _schema_definitions(text: str) -> list[str]:
    """Each definition of a .schema file on one line (continuation lines start with white space)."""
    definitions: list[str] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace() and definitions:
            definitions[-1] += " " + raw.strip()
        else:
            definitions.append(raw.strip())
    return definitions


@dataclass(frozen=True)
class SlapdLayout:
    """Where a managed slapd keeps its files, all inside one folder."""

    folder: Path

    @property
    def conf(self) -> Path:
        return self.folder / "slapd.conf"

    @property
    def schema(self) -> Path:
        return self.folder / SCHEMA_FILE

    @property
    def db(self) -> Path:
        return self.folder / "db"

    @property
    def pidfile(self) -> Path:
        return self.folder / "slapd.pid"

    @property
    def argsfile(self) -> Path:
        return self.folder / "slapd.args"

    @property
    def portfile(self) -> Path:
        return self.folder / "port"

    @property
    def logfile(self) -> Path:
        return self.folder / "slapd.log"

    @property
    def lockfile(self) -> Path:
        return self.folder / "start.lock"

    @property
    def socket(self) -> Path:
        """The ldapi socket: in the folder when the path is short enough, else in a short temp path.

        A Unix socket path is limited to 107 bytes; libldap needs some slack as well.
        """
        inside = self.folder.resolve() / "ldapi"
        if len(os.fsencode(inside)) <= 90:
            return inside
        import hashlib

        digest = hashlib.sha256(os.fsencode(self.folder.resolve())).hexdigest()[:16]
        return Path("/tmp") / f"antin-ldapi-{digest}"  # noqa: S108 (a socket path must be short)


# Without ANTIN_DIRECTORY_SYNC_COMMITS: speed for development, demos and tests, paid for in what a crash of the
# machine (not of slapd) can do: lose the last transactions, or, with writemap, damage the database.
_FAST_COMMITS = (
    "# Commits are not synced: a machine crash can lose the last transactions (ANTIN_DIRECTORY_SYNC_COMMITS).",
    "dbnosync",
    "# Writes go straight into the memory map instead of a pwrite() of every page an add touches (each",
    "# official's ~80 index keys): 2.0 -> 0.3 ms of slapd CPU per add, 5x the import (docs/benchmarks.md).",
    "# data.mdb then has the size of maxsize, sparse. Only with dbnosync: with synced commits writemap is the",
    "# slower (52 beside 129 adds/s measured), so the two go or stay together. With dbnosync, the OS may write",
    "# the map's pages in any order, so a machine crash can leave a database that does not open: restore it.",
    "envflags writemap",
)


def render_slapd_conf(
    layout: SlapdLayout,
    *,
    base_dn: str,
    service_dn: str,
    admin_dn: str,
    password_hash: str = "{ARGON2}",  # noqa: S107 (a scheme name)
    module_path: Path = Path("/usr/lib/ldap"),
    schema_dir: Path = Path("/etc/ldap/schema"),
    max_size: int = 8 * 1024**3,
    tls: tuple[Path, Path] | None = None,
    global_extra: Sequence[str] = (),
    database_extra: Sequence[str] = (),
    sync_commits: bool = False,
) -> str:
    """slapd.conf for one managed instance.

    The directory admin is whoever connects on the ldapi socket with the same Unix uid as this process
    (SASL EXTERNAL); it has no password. The service account writes everything under the suffix.
    ``global_extra`` and ``database_extra`` end the global and the database sections (replication's lines,
    :mod:`directory.slapd_replication`). ``sync_commits`` makes every commit durable before slapd answers
    (neither ``dbnosync`` nor ``envflags writemap``): about 100 adds/s instead of 3,000 (docs/benchmarks.md).
    """
    uid = os.getuid()
    policies_dn = f"ou=policies,{base_dn}"
    q = _quote
    out = [
        "# Written by Ấn Tín (directory/slapd_config.py) on every start: edits are lost.",
        *(f"include {schema_dir / name}.schema" for name in SYSTEM_SCHEMAS),
        f"include {layout.schema}",
        f"modulepath {module_path}",
        *(f"moduleload {name}" for name in MODULES),
        *global_extra,
        f"pidfile {layout.pidfile}",
        f"argsfile {layout.argsfile}",
        f"password-hash {password_hash}",
        *([f"TLSCertificateFile {tls[0]}", f"TLSCertificateKeyFile {tls[1]}"] if tls else []),
        "sizelimit 500",
        "# No per-operation statistics: slapd's default (stats) sends three syslog lines per search to LOCAL4, a",
        "# fifth to a third of its CPU per search (docs/benchmarks.md, ldap15); what slapd always logs still goes.",
        "loglevel none",
        "# The owner of this folder, on the ldapi socket, is the directory admin.",
        f'authz-regexp "^gidNumber=[0-9]+.uidNumber={uid},cn=peercred,cn=external,cn=auth$" {q(admin_dn)}',
        "",
        "database mdb",
        f"suffix {q(base_dn)}",
        f"rootdn {q(admin_dn)}",
        f"directory {layout.db}",
        f"maxsize {max_size}",
        *(() if sync_commits else _FAST_COMMITS),
        *(f"index {line}" for line in INDEXES),
        f"limits dn.exact={q(service_dn)} size=unlimited time=unlimited",
        "",
        "# --- access control: first match wins ---",
        'access to dn.base="" by * read',
        'access to dn.base="cn=Subschema" by * read',
        f"access to dn.subtree={q(base_dn)} attrs=userPassword",
        f"    by dn.exact={q(service_dn)} manage",
        "    by self =wx",
        "    by anonymous auth",
        "    by * none",
        f"access to dn.subtree={q(base_dn)} attrs={','.join(PRIVATE_ATTRS)}",
        f"    by dn.exact={q(service_dn)} manage",
        "    by self read",
        "    by * none",
        f"access to dn.subtree={q(policies_dn)}",
        f"    by dn.exact={q(service_dn)} manage",
        "    by * none",
        f"access to dn.subtree={q(base_dn)}",
        f"    by dn.exact={q(service_dn)} manage",
        "    by users read",
        "    by * none",
        "",
        "# --- overlays ---",
        "# memberOf kept on every member (people and groups) when groups change: reads cost nothing. dynlist's",
        "# read-time memberOf skips groups, and its recursive form costs ~25 ms per entry with 100,000 officials;",
        "# Ấn Tín resolves nesting itself from the groups' own memberOf.",
        "overlay memberof",
        "memberof-group-oc groupOfNames",
        "memberof-member-ad member",
        "memberof-memberof-ad memberOf",
        "memberof-refint TRUE",
        "memberof-dangling ignore",
        "overlay refint",
        "refint_attributes member",
        f"refint_nothing {q(placeholder_member(base_dn))}",
        "overlay unique",
        *(f'unique_uri "ldap:///{base_dn}?{attr}?sub"' for attr in UNIQUE_ATTRS),
        "overlay ppolicy",
        f'ppolicy_default "cn=default,{policies_dn}"',
        "ppolicy_hash_cleartext",
        "ppolicy_use_lockout",
        *database_extra,
        "",
    ]
    return "\n".join(out)


def _quote(value: str) -> str:
    """A slapd.conf argument in double quotes (backslash and quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
