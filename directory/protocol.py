"""The directory as the rest of the platform sees it.

``LdapDirectory`` (the directory/service/ package) is the real implementation; ``InMemoryDirectory``
(directory/memory.py) is the shipped test double for unit tests of code that only needs people.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from directory.models import AuthOutcome, Person, Unit
from directory.policy import LockoutPolicy

__all__ = ["UserDirectory"]


class UserDirectory(Protocol):
    def authenticate(self, login: str, password: str) -> AuthOutcome:
        """Check a password by binding as the person named by ``login`` (uid or e-mail)."""
        ...

    def authenticate_person(self, person: Person, password: str) -> AuthOutcome:
        """:meth:`authenticate` for a person the caller has just found by :meth:`find_by_login`: the bind alone,
        without reading the entry, its units and groups a second time."""
        ...

    def find_by_login(self, login: str, *, with_units: bool = True) -> Person | None:
        """The person whose uid or e-mail is ``login``; without ``with_units`` its unit and unit path may be left
        empty (a sign-in needs the entry, its status and groups, not its units: one search less)."""
        ...

    def find_by_uuid(self, entry_uuid: str) -> Person | None:
        """The person with this entryUUID (the OIDC ``sub``)."""
        ...

    def is_active(self, entry_uuid: str) -> bool | None:
        """Whether the person with this entryUUID may still sign in (None: no such person); a cheap read."""
        ...

    def change_own_password(self, login: str, old_password: str, new_password: str) -> None:
        """Change a password as its owner (RFC 3062); raises PasswordQualityError, InvalidCredentialsError…"""
        ...

    def units_by_code(self, codes: Iterable[str]) -> list[Unit]:
        """The units with these codes that exist (with their entryUUIDs); codes no unit has are left out."""
        ...

    def lockout_policy(self) -> LockoutPolicy:
        """The strictest lockout of the directory's password policies (the same answer for every login)."""
        ...

    def check(self) -> None:
        """Raise DirectoryUnavailableError unless the directory answers."""
        ...
