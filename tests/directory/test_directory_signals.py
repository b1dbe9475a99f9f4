"""A signal that arrives while an LDAP call waits (Ctrl-C taken as a stop request, SIGCHLD in a worker) does not
fail the call: `antin demo` stopped with "directory unavailable: Interrupted system call" before."""

from __future__ import annotations

import signal
from types import FrameType

from directory.ldap_client import connect_external
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd


def test_ldap_calls_go_on_through_signals(slapd: ManagedSlapd, directory: LdapDirectory) -> None:
    delivered = 0

    def count(_signum: int, _frame: FrameType | None) -> None:
        nonlocal delivered
        delivered += 1

    previous = signal.signal(signal.SIGALRM, count)
    signal.siginterrupt(signal.SIGALRM, True)  # as Python's own handlers do: waiting system calls see EINTR
    signal.setitimer(signal.ITIMER_REAL, 0.0003, 0.0003)
    try:
        for _ in range(200):
            conn = connect_external(str(slapd.layout.socket))
            assert conn.read(slapd.base_dn, ["1.1"]) is not None
            conn.close()
            assert directory.find_by_uid("nobody-by-this-name") is None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert delivered > 100, "the signals did not come while the calls ran"
