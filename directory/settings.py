"""The ``[directory]`` settings section (``ANTIN_DIRECTORY_*``): where the LDAP directory is and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from antin.kernel.settings import doc

__all__ = ["DirectorySettings"]


@dataclass(frozen=True)
class DirectorySettings:
    SECTION: ClassVar[str] = "directory"

    managed: bool = doc("run a private slapd in the data folder (the embedded default)", True)
    uris: tuple[str, ...] = doc("LDAP URIs tried in order (ldap://, ldaps://, ldapi://)", ())
    base_dn: str = doc("the directory's suffix", "dc=antin,dc=vn")
    bind_dn: str = doc("the service account's DN; empty means cn=antin-service,<base_dn>", "")
    bind_password: str = doc("the service account's password; generated in development", "")
    start_tls: bool = doc("issue StartTLS on ldap:// connections", False)
    ca_file: Path | None = doc("CA certificates that sign the LDAP servers' certificates", None)
    port: int = doc(
        "port of the managed slapd on 127.0.0.1 (0: the one kept in the data folder, picked at the first start below"
        " the range of outgoing connections' ports, picked again when another program has taken it)",
        0,
    )
    timeout: float = doc("seconds for each operation", 5.0)
    connect_timeout: float = doc("seconds to connect before the next URI is tried", 1.0)
    page_size: int = doc("entries per page in paged searches", 500)
    pool_size: int = doc("LDAP connections kept per process", 4)
    sync_commits: bool = doc(
        "the managed slapd syncs every commit to disk (~100 adds/s); off, a machine crash can lose its last writes"
        " or damage its database (restore it from a backup)",
        False,
    )

    @property
    def service_dn(self) -> str:
        """The service account's DN: ``bind_dn``, or ``cn=antin-service,<base_dn>``."""
        return self.bind_dn or f"cn=antin-service,{self.base_dn}"

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not 0 <= self.port < 65536:
            problems["port"] = "must be between 0 and 65535"
        if not self.managed and not self.uris:
            problems["uris"] = "is required when ANTIN_DIRECTORY_MANAGED is false"
        for uri in self.uris:
            if urlsplit(uri).scheme not in ("ldap", "ldaps", "ldapi"):
                problems["uris"] = f"{uri!r} is not an ldap://, ldaps:// or ldapi:// URI"
        if self.timeout <= 0:
            problems["timeout"] = "must be more than 0 seconds"
        if self.connect_timeout <= 0:
            problems["connect_timeout"] = "must be more than 0 seconds"
        return problems

    def production_problems(self) -> dict[str, str]:
        refused: dict[str, str] = {}
        if self.managed:
            refused["managed"] = "is for development; set it false and give ANTIN_DIRECTORY_URIS"
        if not self.bind_password:
            refused["bind_password"] = "is required in production"
        return refused
