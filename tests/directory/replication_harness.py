"""Two managed slapds replicating with each other (multi-provider), for the replication tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from directory.config import DirectoryConfig
from directory.errors import DirectoryError
from directory.slapd import ManagedSlapd, SlapdPortTakenError, free_port
from directory.slapd_replication import SlapdReplication, context_csns
from tests.components import require_command
from tests.directory.conftest import BASE_DN, SERVICE_PASSWORD, config_for


@dataclass
class ProviderPair:
    a: ManagedSlapd
    b: ManagedSlapd

    def config(self, *servers: ManagedSlapd, **overrides: object) -> DirectoryConfig:
        """A client configuration over ``servers``, in that order."""
        return config_for(self.a, uris=tuple(s.ldap_uri for s in servers), **overrides)

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


def start_pair(folder: Path) -> ProviderPair:
    """Server 1 (``a``, which creates the directory) and server 2 (``b``, which receives it by replication).

    Each knows the other's port before either starts, so a port another program takes meanwhile (the suite's
    own connections draw from the same range) cannot be replaced on one side: the pair starts again on two others.
    """
    require_command("slapd")
    for attempt in range(2):
        try:
            return _start_pair(folder / f"try-{attempt}")
        except SlapdPortTakenError:
            continue
    return _start_pair(folder / "try-2")


def _start_pair(folder: Path) -> ProviderPair:
    port_a = free_port()
    port_b = next(port for port in iter(free_port, None) if port != port_a)

    def provider(name: str, port: int, server_id: int, other_port: int) -> ManagedSlapd:
        replication = SlapdReplication(server_id, (f"ldap://127.0.0.1:{other_port}",))
        return ManagedSlapd(
            folder / name, base_dn=BASE_DN, port=port, service_password=SERVICE_PASSWORD, replication=replication
        )

    pair = ProviderPair(provider("a", port_a, 1, port_b), provider("b", port_b, 2, port_a))
    try:
        pair.a.start()
        pair.b.start()
        wait_in_sync(pair.a, pair.b)
    except BaseException:
        pair.stop()  # a pair that did not start leaves no slapd behind (the fixture's teardown never runs)
        raise
    return pair


def csns(server: ManagedSlapd) -> set[str]:
    conn = server.admin_connection(timeout=1.0)
    try:
        return context_csns(conn, BASE_DN)
    finally:
        conn.close()


def wait_in_sync(first: ManagedSlapd, second: ManagedSlapd, timeout: float = 15.0) -> float:
    """Wait until both servers have applied the same changes (same contextCSN set); returns the seconds waited.

    Reads the state as the directory admin, never by binding as a person (a test bind would count as a failure).
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            ours, theirs = csns(first), csns(second)
        except DirectoryError:  # a server still starting: look again
            ours, theirs = set(), {"?"}
        if ours and ours == theirs:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"not in sync after {timeout} s: {sorted(ours)} vs {sorted(theirs)}")
        time.sleep(0.02)
