"""``InMemoryDirectory``: the shipped test double of :class:`directory.protocol.UserDirectory`.

For unit tests of code that only needs people (the login interaction, claims). It follows the same rules
as the real directory for what callers can observe: unknown login and wrong password look the same,
suspended accounts are disabled, a locked account refuses even the right password, and like ppolicy it
locks an account after ``lockout.max_failures`` wrong passwords (a right one forgets the count).
"""

from __future__ import annotations

import dataclasses
import hmac
import time
import uuid
from collections.abc import Iterable

from directory.errors import DirectoryUnavailableError, InvalidCredentialsError, NotFoundError, PasswordQualityError
from directory.models import AccountStatus, AuthOutcome, AuthStatus, Group, Person, Unit
from directory.policy import LockoutPolicy

__all__ = ["InMemoryDirectory"]


class InMemoryDirectory:
    def __init__(self, *, min_password_length: int = 8) -> None:
        self.people: dict[str, Person] = {}
        self.passwords: dict[str, str] = {}
        self.available = True
        self.min_password_length = min_password_length
        self.lockout = LockoutPolicy()
        self.failure_times: dict[str, list[float]] = {}

    def add(self, uid: str, password: str, **fields: object) -> Person:
        """Add a person; ``fields`` are any :class:`Person` fields (``full_name``, ``mail``, ``unit``…)."""
        full_name = str(fields.pop("full_name", uid))
        defaults: dict[str, object] = {
            "dn": f"uid={uid},ou=people,dc=example",
            "uid": uid,
            "entry_uuid": str(uuid.uuid4()),
            "full_name": full_name,
            "surname": full_name.split(" ", maxsplit=1)[0],
            "given_name": full_name.rsplit(" ", maxsplit=1)[-1],
            "display_name": full_name,
        }
        defaults.update(fields)
        person = Person(**defaults)  # type: ignore[arg-type]
        self.people[uid] = person
        self.passwords[uid] = password
        return person

    def update(self, uid: str, **fields: object) -> Person:
        person = dataclasses.replace(self.people[uid], **fields)  # type: ignore[arg-type]
        self.people[uid] = person
        return person

    def _require_available(self) -> None:
        if not self.available:
            raise DirectoryUnavailableError("in-memory directory switched off")

    def authenticate(self, login: str, password: str) -> AuthOutcome:
        self._require_available()
        person = self.find_by_login(login)
        if person is None:
            return AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
        return self.authenticate_person(person, password)

    def authenticate_person(self, person: Person, password: str) -> AuthOutcome:
        self._require_available()
        person = self.people.get(person.uid, person)  # the double's current state (locks, status) decides
        # compared as UTF-8 bytes: compare_digest refuses str with non-ASCII characters (Vietnamese passwords)
        if not hmac.compare_digest(self.passwords[person.uid].encode(), password.encode()):
            self._count_failure(person)
            return AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
        if person.locked:
            return AuthOutcome(AuthStatus.LOCKED)
        if person.status is not AccountStatus.ACTIVE:
            return AuthOutcome(AuthStatus.DISABLED)
        self.failure_times.pop(person.uid, None)
        if person.must_change_password:
            return AuthOutcome(AuthStatus.MUST_CHANGE, person=person)
        return AuthOutcome(AuthStatus.SUCCESS, person=person)

    def _count_failure(self, person: Person) -> None:
        policy = self.lockout
        if policy.max_failures <= 0 or person.locked:
            return
        now = time.time()
        interval = policy.failure_count_interval
        times = [t for t in self.failure_times.get(person.uid, []) if not interval or t > now - interval]
        times.append(now)
        self.failure_times[person.uid] = times
        if len(times) >= policy.max_failures:
            self.people[person.uid] = dataclasses.replace(person, locked=True)

    def lockout_policy(self) -> LockoutPolicy:
        return self.lockout

    def find_by_login(self, login: str, *, with_units: bool = True) -> Person | None:
        self._require_available()
        login = login.strip().lower()
        for person in self.people.values():
            if person.uid.lower() == login or (person.mail or "").lower() == login:
                return person
        return None

    def get_group(self, name: str) -> Group:
        """A group someone belongs to: the double knows groups only through their members' ``groups``."""
        self._require_available()
        if not any(name in person.groups for person in self.people.values()):
            raise NotFoundError("group", name)
        return Group(dn=f"cn={name},ou=groups,dc=example", name=name)

    def get_unit(self, code: str | None) -> Unit:
        """A unit someone works in or under: the double knows units only through their members' unit paths."""
        self._require_available()
        for person in self.people.values():
            path = person.unit_path or ((person.unit,) if person.unit else ())
            for index, ref in enumerate(path):  # from the person's unit up: the next one is the parent
                if ref.code == code:
                    parent = path[index + 1] if index + 1 < len(path) else None
                    return Unit(
                        dn=ref.dn,
                        code=ref.code,
                        name=ref.name,
                        kind=ref.kind,
                        parent_code=parent.code if parent else None,
                        parent_dn=parent.dn if parent else None,
                        entry_uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, ref.dn)),  # stable for its DN, as a server's is
                    )
        raise NotFoundError("unit", str(code))

    def units_by_code(self, codes: Iterable[str]) -> list[Unit]:
        known = {
            ref.code.casefold(): ref.code
            for p in self.people.values()
            for ref in (p.unit_path or ((p.unit,) if p.unit else ()))
        }
        return [self.get_unit(known[code]) for code in sorted({c.casefold() for c in codes}) if code in known]

    def find_by_uuid(self, entry_uuid: str) -> Person | None:
        self._require_available()
        return next((p for p in self.people.values() if p.entry_uuid == entry_uuid), None)

    def is_active(self, entry_uuid: str) -> bool | None:
        person = self.find_by_uuid(entry_uuid)
        return None if person is None else person.active

    def change_own_password(self, login: str, old_password: str, new_password: str) -> None:
        self._require_available()
        person = self.find_by_login(login)
        if person is None:
            raise InvalidCredentialsError()
        if not hmac.compare_digest(self.passwords[person.uid], old_password):
            self._count_failure(person)
            raise InvalidCredentialsError()
        if len(new_password) < self.min_password_length:
            raise PasswordQualityError(f"at least {self.min_password_length} characters")
        if new_password == old_password:
            raise PasswordQualityError("the new password must differ from the old one")
        self.passwords[person.uid] = new_password
        self.people[person.uid] = dataclasses.replace(person, must_change_password=False)

    def check(self) -> None:
        self._require_available()
