"""Who the portal serves: the official signed in through the provider (the ``antin-portal`` client), as the
directory knows them now (unit, groups, status)."""

from __future__ import annotations

from flask import current_app, request

from antin.kernel.instance import Instance
from directory.instance import directory_service
from directory.models import Person
from idp.oidc.first_party import PORTAL, FirstPartySignIn

__all__ = ["client_ip", "current_official", "instance", "sign_in"]

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
