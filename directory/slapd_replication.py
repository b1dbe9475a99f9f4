"""Multi-provider replication of a managed slapd: its slapd.conf lines and its status.

Every server is a provider (``syncprov``) and a consumer of every other one (``syncrepl`` in
refreshAndPersist mode, ``multiprovider on``): a write, a password change or a ppolicy failure counter
recorded on any of them reaches the others. OpenLDAP 2.5 documents ppolicy's state (``pwdFailureTime``,
``pwdAccountLockedTime``…) as written where the bind happens and replicated like any other change; with
every server a provider, no ``ppolicy_forward_updates``/chain overlay is needed (that is for read-only
consumers). Kept apart from :mod:`directory.slapd_config` so that the database settings there change alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from directory.config import DirectoryConfig
from directory.errors import DirectoryError
from directory.ldap_client import LdapConnection

__all__ = [
    "ReplicationPeer",
    "SlapdReplication",
    "context_csns",
    "peer_status",
    "provider_has_data",
    "replication_database_lines",
    "replication_global_lines",
    "seeds_the_directory",
    "sync_state",
]


@dataclass(frozen=True)
class SlapdReplication:
    """This server's place among the providers."""

    server_id: int
    """Unique among the providers, 1 to 4095 (slapd's ``serverID``); server 1 creates the base entries."""
    providers: tuple[str, ...]
    """The other providers' ``ldap://`` or ``ldaps://`` URIs this server replicates from."""
    retry_seconds: int = 1
    """How often a consumer reconnects to a provider that is down (forever)."""

    def problems(self) -> list[str]:
        problems: list[str] = []
        if not 1 <= self.server_id <= 4095:
            problems.append(f"the server ID must be between 1 and 4095, not {self.server_id}")
        if not self.providers:
            problems.append("at least one other provider is needed")
        for uri in self.providers:
            if urlsplit(uri).scheme not in ("ldap", "ldaps"):
                problems.append(f"{uri!r} is not an ldap:// or ldaps:// URI")
        return problems


def replication_global_lines(replication: SlapdReplication | None) -> list[str]:
    """The global section's lines: the syncprov module and this server's ID."""
    if replication is None:
        return []
    return ["moduleload syncprov", f"serverID {replication.server_id}"]


def replication_database_lines(
    replication: SlapdReplication | None, *, base_dn: str, service_dn: str, service_password: str
) -> list[str]:
    """The database's lines, after its other overlays: syncprov, one syncrepl per provider, multiprovider.

    The consumer binds to each provider as the service account, which reads every attribute (ppolicy's
    operational ones included) and has no size limit.
    """
    if replication is None:
        return []
    lines = [
        "# --- multi-provider replication (directory/slapd_replication.py) ---",
        "index entryCSN eq",
        "overlay syncprov",
        "syncprov-checkpoint 100 1",
        "syncprov-sessionlog 10000",
    ]
    for rid, uri in enumerate(replication.providers, start=1):
        lines.append(
            f"syncrepl rid={rid:03d} provider={uri} type=refreshAndPersist"
            f' searchbase={_quote(base_dn)} attrs="*,+"'
            f" bindmethod=simple binddn={_quote(service_dn)} credentials={_quote(service_password)}"
            f' retry="{replication.retry_seconds} +" network-timeout=1 timeout=2 keepalive=30:3:5'
        )
    lines.append("multiprovider on")
    return lines


@dataclass(frozen=True)
class ReplicationPeer:
    """What this server knows of one provider."""

    uri: str
    reachable: bool
    in_sync: bool
    """The provider's contextCSN values are the same as this server's."""
    detail: str = ""


def sync_state(local: set[str], remote: set[str] | None) -> bool:
    """True when both servers have seen the same last change from every server (their contextCSN sets)."""
    return remote is not None and bool(local) and local == remote


def context_csns(conn: LdapConnection, base_dn: str) -> set[str]:
    """The suffix's contextCSN values: one per server, the last change from it this server has applied."""
    entry = conn.read(base_dn, ["contextCSN"])
    return set(entry.get("contextCSN")) if entry is not None else set()


def _service_connection(uri: str, service_dn: str, password: str, timeout: float) -> LdapConnection:
    config = DirectoryConfig(uris=(uri,), base_dn="", bind_dn=service_dn, bind_password=password, timeout=timeout)
    conn = LdapConnection(uri, config)
    try:
        conn.bind(service_dn, password)
    except DirectoryError:
        conn.close()
        raise
    return conn


def provider_has_data(uri: str, service_dn: str, password: str, timeout: float = 1.0) -> bool:
    """True when the provider answers and knows the service account (its directory was created)."""
    try:
        _service_connection(uri, service_dn, password, timeout).close()
    except DirectoryError:
        return False
    return True


def seeds_the_directory(replication: SlapdReplication | None, *, service_dn: str, password: str) -> bool:
    """Whether a server with an empty database creates the base entries: alone, or as server 1 when no
    provider holds the directory yet. The others wait for replication to bring them: the same DNs created on
    two servers would be two different entries (two entryUUIDs) in conflict.
    """
    if replication is None:
        return True
    if replication.server_id != 1:
        return False
    return not any(provider_has_data(uri, service_dn, password) for uri in replication.providers)


def peer_status(
    uri: str, local: set[str], *, base_dn: str, service_dn: str, password: str, timeout: float = 1.0
) -> ReplicationPeer:
    """Whether the provider at ``uri`` answers and holds the same changes as this server (``local``)."""
    try:
        conn = _service_connection(uri, service_dn, password, timeout)
    except DirectoryError as err:
        return ReplicationPeer(uri, reachable=False, in_sync=False, detail=str(err))
    try:
        remote = context_csns(conn, base_dn)
    except DirectoryError as err:
        return ReplicationPeer(uri, reachable=True, in_sync=False, detail=str(err))
    finally:
        conn.close()
    in_sync = sync_state(local, remote)
    detail = "" if in_sync else f"{len(local ^ remote)} contextCSN value(s) differ"
    return ReplicationPeer(uri, reachable=True, in_sync=in_sync, detail=detail)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
