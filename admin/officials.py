"""Officials as administrators see them: search within one's units, read, create, edit, move, unlock, reset the
password, disable and enable.

Every operation names its :class:`~admin.models.AdminAction` and goes through :meth:`Delegation.authorize` before
anything else (so that a stranger's target reads like nobody, whatever else is wrong with the request); every change
is audited with the values before and after, and takes the version (ETag) it was made against.
Disabling an official ends their SSO sessions, revokes their grants and refresh tokens at the provider, and revokes
their signing certificates, at once: the same consequences as ``antin directory users disable``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from admin.delegation import Actor, Delegation
from admin.errors import (
    AdminError,
    ConflictError,
    NotPermittedError,
    OutOfReachError,
    PreconditionFailedError,
    TakenError,
)
from admin.models import ROOT_UNIT, AdminAction
from admin.password_mail import MailUnavailableError, PasswordMailer
from admin.versions import check_version, etag_of
from antin.kernel.audit import AuditEvent, AuditLog
from directory.errors import AlreadyExistsError, ChangedMeanwhileError, InvalidInputError
from directory.models import AccountStatus, NewPerson, Person, PersonBrief, PersonChanges
from directory.names import ascii_fold
from directory.service import LdapDirectory

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "AccountEnder",
    "InvalidQueryError",
    "NewOfficial",
    "Officials",
    "OfficialsPage",
    "SelfDisableError",
    "person_etag",
    "person_json",
]

MAX_PAGE = 200
DEFAULT_PAGE = 50

# What ends an account's access elsewhere: (the official, the actor's name) → a summary for the audit log.
AccountEnder = Callable[[Person, str], dict[str, Any]]


class InvalidQueryError(AdminError):
    status = 400
    code = "invalid-query"


class SelfDisableError(AdminError):
    status = 409
    code = "self-disable"


@dataclass(frozen=True)
class OfficialsPage:
    items: tuple[Person, ...]
    cursor: str | None  # pass back for the next page; None on the last


def person_json(person: Person) -> dict[str, Any]:
    return {
        "login": person.uid,
        "sub": person.entry_uuid,
        "full_name": person.full_name,
        "display_name": person.display_name or person.full_name,
        "mail": person.mail,
        "phone": person.phone,
        "employee_number": person.employee_number,
        "position": person.position,
        "status": person.status.value,
        "locked": person.locked,
        "unit": {"code": person.unit.code, "name": person.unit.name} if person.unit else None,
        "unit_path": [u.code for u in person.unit_path],
        "groups": list(person.groups),
    }


def person_etag(person: Person) -> str:
    """The official's version: it changes with anything an administrator sees of them."""
    return etag_of(person_json(person))


@dataclass(frozen=True)
class NewOfficial:
    """An official to create; ``password`` None: the platform makes one, returned once, to change at first login."""

    login: str
    full_name: str
    unit_code: str | None  # None: outside every unit (only a platform administrator)
    mail: str | None = None
    phone: str | None = None
    employee_number: str | None = None
    party_card_number: str | None = None
    position: str | None = None
    password: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    surname: str | None = None  # None: from the full name (and so the two below)
    given_name: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class WithPassword:
    """An official and the password just given them: shown once, never stored by the platform."""

    person: Person
    password: str | None
    delivered: str = "shown"  # "shown": in this answer; "mail": e-mailed to the official; "none": set as given


DELIVERIES = ("show", "mail")


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics: "Đặng Thị Hương" and "dang thi huong" fold alike."""
    return ascii_fold(text).casefold()


class Officials:
    def __init__(
        self,
        directory: LdapDirectory,
        delegation: Delegation,
        audit: AuditLog,
        end_access: AccountEnder,
        password_mailer: PasswordMailer | None = None,
    ) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit
        self.end_access = end_access
        self.password_mailer = password_mailer

    def can_mail_password(self, person: Person) -> bool:
        """Whether a reset password could be e-mailed to ``person`` (the console offers it then)."""
        if self.password_mailer is None:
            return False
        try:
            self.password_mailer.check(person)
        except AdminError:
            return False
        return True

    def search(
        self,
        actor: Actor,
        text: str = "",
        *,
        unit: str | None = None,
        cursor: str | None = None,
        size: int = DEFAULT_PAGE,
    ) -> OfficialsPage:
        """One page of the officials in ``actor``'s units (or in ``unit``) whose name (with or without diacritics)
        or login contains ``text`` (starts or ends with it, under four letters), or whose e-mail or employee number
        it is: what the directory's indexes find without testing every official (docs/directory.md, "Indexes")."""
        if not 1 <= size <= MAX_PAGE:
            raise InvalidQueryError(f"page size must be between 1 and {MAX_PAGE}")
        text = text.strip()
        if len(text) > 128:
            raise InvalidQueryError("the search text is over 128 characters")
        tops: list[str] | None
        if unit:
            path = self.delegation.authorize_unit(actor, AdminAction.OFFICIALS_READ, unit)
            tops = None if path == [ROOT_UNIT] else [path[0]]
        else:
            tops = self.delegation.reach(actor, AdminAction.OFFICIALS_READ)
            if tops == []:
                raise NotPermittedError(AdminAction.OFFICIALS_READ.value)
        query = {"t": text, "u": tops}
        offset = _offset_of(cursor, query)
        wanted: list[str] = []
        more = False
        for index, brief in enumerate(self._matching(text, tops, offset + size + 1)):
            if index < offset:
                continue
            if len(wanted) == size:
                more = True
                break
            wanted.append(brief.uid)
        # only the page is read in full (unit path, groups), in one search
        found = self.directory.find_people(wanted) if wanted else {}
        page = tuple(found[uid.lower()] for uid in wanted if uid.lower() in found)
        return OfficialsPage(page, _cursor(offset + size, query) if more else None)

    def _matching(self, text: str, tops: list[str] | None, wanted: int) -> Iterator[PersonBrief]:
        """The officials under ``tops`` that match, in the directory's order: the directory finds them by their
        folded search key (LDAP's own substring match does not ignore diacritics); the check here keeps only
        what the folded text matches. ``wanted``: how many the caller reads at most (the server's pages are no
        larger: slapd stops looking once it has them)."""
        needle = " ".join(fold(text).split())
        for top in tops if tops is not None else [None]:
            for brief in self.directory.iter_people_brief(unit_code=top, folded=needle, page_size=wanted):
                if not needle or _matches(brief, needle):
                    yield brief

    def get(self, actor: Actor, login: str) -> Person:
        return self._reachable(actor, AdminAction.OFFICIALS_READ, login)

    def disable(
        self,
        actor: Actor,
        login: str,
        status: AccountStatus = AccountStatus.SUSPENDED,
        *,
        if_match: str | None = None,
    ) -> Person:
        person = self._reachable(actor, AdminAction.OFFICIALS_DISABLE, login)
        if person.entry_uuid == actor.name:
            raise SelfDisableError("you cannot disable your own account")
        check_version(person_etag(person), if_match)
        disabled = self.directory.disable(person.uid, status)
        ended = self.end_access(disabled, actor.name)
        self.audit.record(
            AuditEvent.DIRECTORY_USER_DISABLE,
            actor=actor.name,
            subject=disabled.uid,
            details={"status": status.value, "before": person.status.value, **ended},
        )
        return disabled

    def enable(self, actor: Actor, login: str, *, if_match: str | None = None) -> Person:
        person = self._reachable(actor, AdminAction.OFFICIALS_DISABLE, login)
        check_version(person_etag(person), if_match)
        enabled = self.directory.enable(person.uid)
        self.audit.record(
            AuditEvent.DIRECTORY_USER_ENABLE,
            actor=actor.name,
            subject=enabled.uid,
            details={"before": person.status.value},
        )
        return enabled

    def reachable(self, actor: Actor, action: AdminAction, login: str) -> Person:
        """The official ``login`` if ``actor`` may do ``action`` on them (for the other admin services)."""
        return self._reachable(actor, action, login)

    # -- changes ------------------------------------------------------------------------------------------

    def create(self, actor: Actor, new: NewOfficial) -> WithPassword:
        """Create an official in a unit of ``actor``'s; without a password one is made (to change at first login)."""
        unit_code = new.unit_code or ROOT_UNIT
        self.delegation.authorize_unit(actor, AdminAction.OFFICIALS_WRITE, unit_code)
        generated = new.password is None
        password = new.password if new.password is not None else new_password()
        try:
            person = self.directory.create_person(
                NewPerson(
                    uid=new.login,
                    full_name=new.full_name,
                    unit_code=new.unit_code,
                    password=password,
                    mail=new.mail,
                    phone=new.phone,
                    employee_number=new.employee_number,
                    party_card_number=new.party_card_number,
                    position=new.position,
                    status=new.status,
                    must_change_password=generated,
                    surname=new.surname,
                    given_name=new.given_name,
                    display_name=new.display_name,
                )
            )
        except AlreadyExistsError as err:
            raise TakenError(f"{err.what} {err.key!r} is already taken") from None
        self.audit.record(
            AuditEvent.DIRECTORY_USER_CREATE,
            actor=actor.name,
            subject=person.uid,
            details={"after": _audited(person_json(person)), "credential": "generated" if generated else "given"},
        )
        return WithPassword(person, password if generated else None)

    def edit(
        self,
        actor: Actor,
        login: str,
        changes: PersonChanges,
        *,
        if_match: str | None = None,
        required: bool = False,
        entry_version: str | None = None,
    ) -> Person:
        """Change an official's name, e-mail, phone, employee number, party card number or position.

        ``entry_version``: the :attr:`Person.version` the caller checked its own version on (SCIM's), so that the
        directory refuses the write if the entry changed since.
        """
        person = self._reachable(actor, AdminAction.OFFICIALS_WRITE, login)
        check_version(person_etag(person), if_match, required=required)
        # the server refuses the write if the entry changed after the read the version was checked on
        version = entry_version or (person.version if if_match else None)
        try:
            changed = self.directory.modify_person(person.uid, changes, version=version)
        except AlreadyExistsError as err:
            raise TakenError(f"{err.what} {err.key!r} is already taken") from None
        except ChangedMeanwhileError:
            raise PreconditionFailedError(person_etag(self.directory.get_person(person.uid))) from None
        before, after = _difference(person_json(person), person_json(changed))
        if after:
            self.audit.record(
                AuditEvent.DIRECTORY_USER_MODIFY,
                actor=actor.name,
                subject=changed.uid,
                details={"before": before, "after": after},
            )
        return changed

    def move(self, actor: Actor, login: str, unit_code: str, *, if_match: str | None = None) -> Person:
        """Move an official to another unit; both the official and the target unit must be within reach."""
        person = self._reachable(actor, AdminAction.OFFICIALS_WRITE, login)
        self.delegation.authorize_unit(actor, AdminAction.OFFICIALS_WRITE, unit_code)
        check_version(person_etag(person), if_match)
        moved = self.directory.move_person(person.uid, None if unit_code == ROOT_UNIT else unit_code)
        self.audit.record(
            AuditEvent.DIRECTORY_USER_MOVE,
            actor=actor.name,
            subject=moved.uid,
            details={"before": {"unit_path": _path(person)}, "after": {"unit_path": _path(moved)}},
        )
        return moved

    def unlock(self, actor: Actor, login: str, *, if_match: str | None = None) -> Person:
        """Lift the password policy's lockout (too many failed logins); a disabled account must be enabled."""
        person = self._reachable(actor, AdminAction.OFFICIALS_WRITE, login)
        check_version(person_etag(person), if_match)
        try:
            unlocked = self.directory.unlock(person.uid)
        except InvalidInputError as err:
            raise ConflictError(err.reason) from None
        self.audit.record(
            AuditEvent.DIRECTORY_ACCOUNT_UNLOCK,
            actor=actor.name,
            subject=unlocked.uid,
            details={"before": {"locked": person.locked}, "after": {"locked": unlocked.locked}},
        )
        return unlocked

    def reset_password(
        self,
        actor: Actor,
        login: str,
        *,
        if_match: str | None = None,
        password: str | None = None,
        must_change: bool = True,
        deliver: str = "show",
    ) -> WithPassword:
        """Give the official a new password made here, to change at the next login: returned once, never kept
        (``deliver="show"``), or e-mailed to the official (``"mail"``: the caller never sees it); or set
        ``password`` as given (a provisioning client's)."""
        person = self._reachable(actor, AdminAction.OFFICIALS_WRITE, login)
        check_version(person_etag(person), if_match)
        if deliver not in DELIVERIES:
            raise InvalidInputError("deliver", "show or mail")
        mailing = deliver == "mail" and password is None
        if mailing:  # before anything changes: a password that cannot be sent must not replace the old one
            if self.password_mailer is None:
                raise MailUnavailableError()
            self.password_mailer.check(person)
        generated = password is None
        password = new_password() if password is None else password
        self.directory.reset_password(person.uid, password, must_change=must_change)
        after = self.directory.get_person(person.uid)
        delivered = "none"
        if generated:
            # the mailer's queue full (a thousand waiting): the administrator is shown it rather than nobody
            sent = mailing and self.password_mailer is not None and self.password_mailer.send(after, password)
            delivered = "mail" if sent else "shown"
        self.audit.record(
            AuditEvent.DIRECTORY_PASSWORD_RESET,
            actor=actor.name,
            subject=person.uid,
            details={
                "before": {"must_change": person.must_change_password},  # "password" keys are redacted
                "after": {"must_change": after.must_change_password},
                "delivered": delivered,
            },
        )
        return WithPassword(after, password if delivered == "shown" else None, delivered)

    def _reachable(self, actor: Actor, action: AdminAction, login: str) -> Person:
        """The official ``login`` if ``actor`` may do ``action`` on them; a stranger and nobody read the same."""
        person = self.directory.find_by_uid(login)
        path = [u.code for u in person.unit_path] if person is not None else []
        self.delegation.authorize(actor, action, path, target=("official", login))
        if person is None:
            raise OutOfReachError("official", login)
        return person


_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "-_.!"


def new_password(length: int = 16) -> str:
    """A random password that passes the platform's quality rules (letters of both cases and digits)."""
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def _path(person: Person) -> list[str]:
    return [u.code for u in person.unit_path]


def _audited(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("groups", "unit")}


def _difference(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, as they were and as they are."""
    keys = [k for k in before if before[k] != after.get(k)]
    return {k: before[k] for k in keys}, {k: after.get(k) for k in keys}


def _matches(person: PersonBrief, needle: str) -> bool:
    if needle in fold(person.full_name) or needle in person.uid.casefold():
        return True
    if person.mail and needle in person.mail.casefold():
        return True
    return bool(person.employee_number and needle == person.employee_number.casefold())


def _cursor(offset: int, query: dict[str, Any]) -> str:
    raw = json.dumps({"o": offset, "q": query}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset_of(cursor: str | None, query: dict[str, Any]) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidQueryError("the cursor is not one this search gave") from None
    if data.get("q") != query or offset < 0:
        raise InvalidQueryError("the cursor is not one this search gave")
    return offset
