"""Who the portal serves: the official signed in through the provider (the ``antin-portal`` client), as the
directory knows them now (unit, groups, status)."""

from __future__ import annotations

from flask import current_app, request

from antin.kernel.instance import Instance
from directory.errors import InvalidInputError, NotFoundError
from directory.instance import directory_service
from directory.models import Person
from idp.oidc.first_party import PORTAL, FirstPartySignIn
from signing.documents.errors import UploadRefusedError
from signing.documents.groups import Assignee, is_leaders_name, leaders_named
from signing.documents.models import RecipientKind
from signing.documents.records_office import MAX_RECIPIENTS, Recipient

__all__ = [
    "MAX_NAMED",
    "NamedOfficialError",
    "client_ip",
    "current_official",
    "instance",
    "officials_named",
    "recipients_named",
    "sign_in",
    "steps_named",
]

MAX_NAMED = 20  # reviewers, or signers, named on one upload

sign_in = FirstPartySignIn(PORTAL)


def instance() -> Instance:
    value: Instance = current_app.extensions["antin.instance"]
    return value


def current_official() -> Person | None:
    """The signed-in official, or None (signed out, or no longer an active account in the directory)."""
    signed_in = sign_in.current()
    if signed_in is None:
        return None
    person = directory_service(instance()).find_by_login(signed_in.login)
    if person is None or person.entry_uuid != signed_in.sub or not person.active:
        return None
    return person


def client_ip() -> str:
    return request.remote_addr or ""


class NamedOfficialError(Exception):
    """A login in a form's list that names nobody who can act: ``unknown-official``, ``named-twice``, ``too-many``;
    or a unit code that names no unit: ``unknown-unit``."""

    def __init__(self, reason: str, login: str = "") -> None:
        super().__init__(reason)
        self.reason, self.login = reason, login


def officials_named(text: str) -> list[Person]:
    """The active officials a form names by login, in order (apart by commas, spaces or lines)."""
    logins = [login[:64] for login in text.replace(",", " ").split()]
    if len(logins) > MAX_NAMED:
        raise NamedOfficialError("too-many")
    directory = directory_service(instance())
    people: list[Person] = []
    for login in logins:
        person = directory.find_by_login(login)
        if person is None or not person.active:
            raise NamedOfficialError("unknown-official", login)
        if any(p.entry_uuid == person.entry_uuid for p in people):
            raise NamedOfficialError("named-twice", login)
        people.append(person)
    return people


def steps_named(text: str) -> list[Assignee]:
    """The reviewers or signers a form names, in order: active officials by login, or a unit's leaders by their
    group's name (``lanh-dao-bnh``): ``unknown-group`` when the directory has no such group."""
    names = [name[:128] for name in text.replace(",", " ").split()]
    if len(names) > MAX_NAMED:
        raise NamedOfficialError("too-many")
    steps: list[Assignee] = []
    for name in names:
        if is_leaders_name(instance(), name):
            try:
                step: Assignee = leaders_named(instance(), name)
            except UploadRefusedError:
                raise NamedOfficialError("unknown-group", name) from None
        else:
            (step,) = officials_named(name)
        if step in steps:  # the same group, or the same person (their frozen record) under another spelling
            raise NamedOfficialError("named-twice", name)
        steps.append(step)
    return steps


def recipients_named(unit_codes: str, logins: str) -> list[Recipient]:
    """The units (by code) and active officials (by login) a document is issued to, units first."""
    codes = [code[:64] for code in unit_codes.replace(",", " ").split()]
    if len(codes) > MAX_RECIPIENTS:
        raise NamedOfficialError("too-many")
    directory = directory_service(instance())
    recipients: list[Recipient] = []
    for code in codes:
        try:
            unit = directory.get_unit(code)
        except (NotFoundError, InvalidInputError):
            raise NamedOfficialError("unknown-unit", code) from None
        if any(r.reference == unit.code for r in recipients):
            raise NamedOfficialError("named-twice", code)
        recipients.append(Recipient(RecipientKind.UNIT, unit.code, unit.name))
    recipients += [
        Recipient(RecipientKind.OFFICIAL, person.entry_uuid, person.full_name) for person in officials_named(logins)
    ]
    return recipients
