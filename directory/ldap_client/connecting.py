"""Opening a python-ldap connection: protocol options, timeouts and TLS (ldaps:// or StartTLS)."""

from __future__ import annotations

from typing import Any

import ldap

from directory.config import DirectoryConfig
from directory.ldap_client.errors import directory_error

__all__ = ["open_ldap"]


def open_ldap(uri: str, config: DirectoryConfig) -> Any:
    """python-ldap's LDAPObject for ``uri`` (TLS started when asked); failures are directory errors."""
    try:
        conn = ldap.initialize(uri)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        # a signal (Ctrl-C taken as a stop request, a worker's SIGCHLD) must not fail the call in progress:
        # libldap waits again after EINTR instead of reporting "Interrupted system call"
        conn.set_option(ldap.OPT_RESTART, ldap.OPT_ON)
        # a dead host never refuses: give up connecting quickly so that the next URI is tried within a second
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, min(config.connect_timeout, config.timeout))
        conn.set_option(ldap.OPT_TIMEOUT, config.timeout)
        if config.ca_file is not None:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(config.ca_file))
        if uri.startswith("ldaps://") or config.start_tls:
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        conn.timeout = config.timeout  # the synchronous methods' wait for a result
        if config.start_tls and uri.startswith("ldap://"):
            conn.start_tls_s()
    except ldap.LDAPError as err:
        raise directory_error(err, uris=(uri,)) from err
    return conn
