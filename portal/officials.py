"""Who the portal serves: the official signed in through the provider (the ``antin-portal`` client), as the
directory knows them now (unit, groups, status)."""

from __future__ import annotations

from flask import current_app, request

from antin.kernel.instance import Instance
from directory.instance import directory_service
from directory.models import Person
from idp.oidc.first_party import PORTAL, FirstPartySignIn

__all__ = ["MAX_NAMED", "NamedOfficialError", "client_ip", "current_official", "instance", "officials_named", "sign_in"]

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
    """A login in a form's list that names nobody who can act: ``unknown-official``, ``named-twice``, ``too-many``."""

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
