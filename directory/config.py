"""How to reach an LDAP directory: the options of :class:`directory.service.LdapDirectory`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DirectoryConfig"]


@dataclass(frozen=True)
class DirectoryConfig:
    """Connection options; :class:`antin.kernel.instance.Instance` builds one from ``ANTIN_DIRECTORY_*`` settings."""

    uris: tuple[str, ...]
    """LDAP URIs tried in order (``ldap://``, ``ldaps://``, ``ldapi://``); a failed one is skipped for a while."""
    base_dn: str
    """The directory's suffix; units live under ``ou=units``, groups under ``ou=groups``."""
    bind_dn: str
    """The service account the platform reads and writes with."""
    bind_password: str
    """The service account's password."""
    start_tls: bool = False
    """Issue StartTLS on ``ldap://`` connections (``ldaps://`` is always TLS)."""
    ca_file: Path | None = None
    """CA certificates that sign the servers' certificates; None uses the system's."""
    timeout: float = 5.0
    """Seconds for each operation (and to connect, when ``connect_timeout`` is longer)."""
    connect_timeout: float = 1.0
    """Seconds to open a TCP connection: a server that does not answer is given up for the next one."""
    page_size: int = 500
    """Entries per page in paged searches."""
    pool_size: int = 4
    """Service connections (and as many bind connections) kept per process."""
    retry_down_after: float = 10.0
    """Seconds a URI that failed is skipped while another one answers."""

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def units_dn(self) -> str:
        return f"ou=units,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        return f"ou=groups,{self.base_dn}"

    @property
    def policies_dn(self) -> str:
        return f"ou=policies,{self.base_dn}"

    @property
    def default_policy_dn(self) -> str:
        return f"cn=default,{self.policies_dn}"
