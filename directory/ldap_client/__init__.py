"""The one package that imports python-ldap: connections, a pool with failover, errors translated.

Everything above it sees plain Python values (:class:`Entry`, :class:`BindResult`) and the errors of
:mod:`directory.errors`; python-ldap's exceptions never leave it. Values put into filters and DNs are escaped
here too (:func:`filter_format`, :func:`escape_dn_value`), so callers have no excuse to build them by hand.

- ``values``: the plain values handed out and taken;
- ``escaping``: filters and DNs;
- ``errors``: python-ldap's exceptions translated; ``ppolicy``: the password-policy response control;
- ``connecting``: options and TLS of a new connection; ``connection``: ``LdapConnection`` and its operations;
- ``pool``: ``LdapPool``, reuse and failover;
- ``ldif_text``: reading and writing LDIF.
"""

from __future__ import annotations

from directory.ldap_client.connection import LdapConnection, connect_external
from directory.ldap_client.errors import ConnectionLostError
from directory.ldap_client.escaping import (
    dn_parent,
    dn_rdn_value,
    equality_terms,
    escape_dn_value,
    explode_dn,
    filter_format,
    normalize_dn,
)
from directory.ldap_client.ldif_text import read_ldif, write_ldif
from directory.ldap_client.pool import LdapPool
from directory.ldap_client.values import BindResult, Entry, LdifRecord, Modification, PolicyError, Scope

__all__ = [
    "BindResult",
    "ConnectionLostError",
    "Entry",
    "LdapConnection",
    "LdapPool",
    "LdifRecord",
    "Modification",
    "PolicyError",
    "Scope",
    "connect_external",
    "dn_parent",
    "dn_rdn_value",
    "equality_terms",
    "escape_dn_value",
    "explode_dn",
    "filter_format",
    "normalize_dn",
    "read_ldif",
    "write_ldif",
]
