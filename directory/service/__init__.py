"""``LdapDirectory``: the directory of officials, units and groups over LDAP.

It implements :class:`directory.protocol.UserDirectory` (what the IdP needs) and the administration the CLI,
the importer and the admin console need. Each concern is one module of this package, a mixin of the class:

- ``base``: the connection pool, the default password policy, people read with their units and groups;
- ``units``: the hierarchy of Party units;
- ``people``: finding, searching and listing officials;
- ``people_changes``: creating, changing, moving and deleting officials;
- ``accounts``: logging in, passwords, password policies, lockouts and suspension;
- ``groups``: groups and roles, nested.
"""

from __future__ import annotations

from directory.service.accounts import AccountsMixin
from directory.service.groups import GroupsMixin
from directory.service.people_changes import PeopleChangesMixin

__all__ = ["LdapDirectory"]


class LdapDirectory(AccountsMixin, PeopleChangesMixin, GroupsMixin):
    """The real :class:`~directory.protocol.UserDirectory`; thread-safe, one per process."""
