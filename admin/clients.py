"""OIDC clients as client managers see them: register, list, read, edit (against the version read), disable and
enable, a new secret shown once — delegated by unit like the rest.

A client belongs to a unit (``unit_code``; ``*`` for the platform's own and for those registered before units
existed): a client manager granted on a province manages that province's clients and registers new ones there; one
granted on the root manages all. A client outside the caller's units reads like no client at all (404).

Two things stay with client managers of the whole platform, because they reach beyond any province: making a client
*trusted* (its users are not asked to consent), giving it the scopes that act in an official's name or
administer (:data:`PLATFORM_SCOPES`: ``signing:*``, ``admin``, ``scim``), and pointing the addresses the server
itself calls (back-channel logout, a JWK Set) at the loopback or a private address. The platform's own clients
(the portal, the console) cannot be edited or disabled from here: the console would lock its administrators out.

A client is bound to its unit's entryUUID as well as its code (:mod:`admin.unit_identity`): when the unit is deleted
the client is *orphaned* and only client managers of the whole platform see and manage it, even once a new unit
takes the code; a renamed or moved unit keeps its clients.
"""

from __future__ import annotations

import builtins
import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from admin.client_pages import ClientsPage, page_of_clients
from admin.client_query import clients_after, unbound_clients, units_reached
from admin.delegation import Actor, Delegation, covers
from admin.errors import AdminError, NotPermittedError, OutOfReachError, PreconditionFailedError, TakenError
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import DEFAULT_PAGE
from admin.unit_identity import UNIT_GONE
from admin.versions import check_version, etag_of
from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.database import Database
from idp.oidc.clients import (
    ADMIN_SCOPES,
    SECRET_METHODS,
    SIGNING_SCOPES,
    ClientChangedError,
    ClientError,
    ClientRecord,
    ClientRegistry,
    ClientSpec,
)
from idp.oidc.errors import ClientAddressRefusedError
from idp.oidc.first_party import FIRST_PARTY_APPS

__all__ = [
    "EDITABLE_FIELDS",
    "PLATFORM_SCOPES",
    "ClientMetadataError",
    "Clients",
    "FirstPartyClientError",
    "NoSecretError",
    "PlatformOnlyError",
    "client_etag",
]

# scopes that act in an official's name or administer: given by client managers of the whole platform only
PLATFORM_SCOPES = frozenset(SIGNING_SCOPES + ADMIN_SCOPES)
# what an edit may change, by ClientSpec field
EDITABLE_FIELDS = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "scopes",
    "grant_types",
    "auth_method",
    "required_acr",
    "home_url",
    "trusted",
    "public",
    "jwks_uri",
    "unit_code",
)


class FirstPartyClientError(AdminError):
    status = 409
    code = "first-party-client"

    def __init__(self, client_id: str, what: str = "disabled") -> None:
        super().__init__(f"{client_id} is one of the platform's own pages and cannot be {what} here")


class NoSecretError(AdminError):
    status = 409
    code = "no-secret"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"{client_id} does not authenticate with a secret")


class ClientMetadataError(AdminError):
    """A registration the provider would refuse (a redirect URI with a fragment, plain http, an unknown scope…);
    ``field`` names the bad one, in the API's terms."""

    status = 400
    code = "invalid-client-metadata"

    def __init__(self, field: str, reason: str, *, inward: bool = False) -> None:
        self.field = field
        self.reason = reason
        self.inward = inward  # a URI the server would call leads to an address it does not call
        super().__init__(f"{field}: {reason}")


class PlatformOnlyError(AdminError):
    """A power over a client that reaches beyond any unit: for client managers of the whole platform."""

    status = 403
    code = "platform-only"


def client_etag(record: ClientRecord) -> str:
    """The version of a client as its managers see it: any change (here, the CLI, a rotation) gives another."""
    return etag_of(record.as_json())


# the API's names of ClientSpec's fields, for errors the provider's checks raise
_API_FIELD = {
    "redirect_uri": "redirect_uris",
    "post_logout_uri": "post_logout_redirect_uris",
    "grant_type": "grant_types",
    "scope": "scope",
    "auth_method": "token_endpoint_auth_method",
    "name": "client_name",
}


class Clients:
    def __init__(
        self, registry: Callable[[], ClientRegistry], delegation: Delegation, audit: AuditLog, database: Database
    ) -> None:
        self._registry = registry
        self.delegation = delegation
        self.audit = audit
        self._database = database

    # -- reading --------------------------------------------------------------------------------------------

    def list(self, actor: Actor, *, unit: str | None = None) -> list[ClientRecord]:
        """The clients in the caller's units (under ``unit`` when given, itself in reach)."""
        held = self._held(actor)
        if unit is not None and unit != ROOT_UNIT:
            path = self.delegation.authorize_unit(actor, AdminAction.CLIENTS_MANAGE, unit)
            held = [path[0]]
        records = self._bound(self._registry().list())
        if ROOT_UNIT in held:
            return records
        paths = self._paths({r.unit_code for r in records})
        return [r for r in records if covers(held, self._path_of(r, paths))]

    def page(
        self,
        actor: Actor,
        text: str = "",
        *,
        unit: str | None = None,
        cursor: str | None = None,
        size: int = DEFAULT_PAGE,
    ) -> ClientsPage:
        """One page of :meth:`list` searched by ``text`` (:func:`admin.client_pages.page_of_clients`), read from
        the database a page at a time: the caller's reach is their units' codes and entryUUIDs, in SQL."""
        reach = self._reach(actor, unit)
        with self._database.reading() as session:
            unbound = unbound_clients(session)
        self._bound(unbound)
        with self._database.reading() as session:

            def read(needle: str, after: str, limit: int) -> builtins.list[ClientRecord]:
                return clients_after(session, reach=reach, text=needle, after=after, size=limit)

            return page_of_clients(read, text, unit=unit, cursor=cursor, size=size)

    def _reach(self, actor: Actor, unit: str | None) -> set[tuple[str, str]] | None:
        """The (lower-cased code, entryUUID) of every unit whose clients the caller manages (under ``unit`` when
        given, itself in reach); None for the whole platform's (every client, orphans too)."""
        held = self._held(actor)
        if unit is not None and unit != ROOT_UNIT:
            held = [self.delegation.authorize_unit(actor, AdminAction.CLIENTS_MANAGE, unit)[0]]
        if ROOT_UNIT in held:
            return None
        units = units_reached(self.delegation.directory, held)
        self.delegation.units.remember(units)  # what the API then says of each client's unit needs no search
        return {(u.code.lower(), u.entry_uuid) for u in units if u.entry_uuid}

    def get(self, actor: Actor, client_id: str) -> ClientRecord:
        held = self._held(actor)
        record = self._registry().get(client_id)
        if record is not None:
            record = self._bound([record])[0]
        if record is None or not covers(held, self._path_of(record, self._paths({record.unit_code}))):
            raise OutOfReachError("client", client_id)
        return record

    def orphaned(self, record: ClientRecord) -> bool:
        """Whether the client's unit is gone (a unit with its code since is another): the platform's to manage."""
        return bool(self.orphaned_ids([record]))

    def orphaned_ids(self, records: builtins.list[ClientRecord]) -> set[str]:
        """The ids of those clients whose unit is gone, in one directory search (remembered for the request)."""
        units = self.delegation.units
        current = units.current(r.unit_code for r in records)
        return {r.client_id for r in records if not units.is_live(r.unit_code, r.unit_uuid, current)}

    def may_give_platform_powers(self, actor: Actor) -> bool:
        """Whether the caller may make a client trusted or give it :data:`PLATFORM_SCOPES` (what a form offers)."""
        return ROOT_UNIT in self.delegation.units_holding(actor, AdminAction.CLIENTS_MANAGE)

    def units_for(self, actor: Actor) -> builtins.list[str]:
        """The units the caller registers clients in: ``*`` first when held there."""
        held = self._held(actor)
        return [ROOT_UNIT] if ROOT_UNIT in held else sorted(held)

    # -- changing -------------------------------------------------------------------------------------------

    def register(self, actor: Actor, spec: ClientSpec, *, unit: str | None) -> tuple[ClientRecord, str | None]:
        """Register a client in ``unit`` (default: the caller's one unit, or ``*``); its secret is returned once."""
        unit_code = self.unit_for_new(actor, unit)  # a unit out of reach is refused before the rest is judged
        spec = dataclasses.replace(spec, unit_code=unit_code, unit_uuid=self._uuid_of(unit_code))
        self._check_platform_powers(actor, spec, before=None)
        registry = self._registry()
        if spec.client_id is not None and registry.get(spec.client_id) is not None:
            raise TakenError(f"client_id {spec.client_id!r} is already registered")
        try:
            record, secret = registry.add(spec)
        except ClientError as err:
            raise _metadata_error(err) from None
        self.audit.record(
            AuditEvent.OAUTH_CLIENT_CREATE,
            actor=actor.name,
            client_id=record.client_id,
            details={"after": _audited(record)},
        )
        return record, secret

    def edit(
        self,
        actor: Actor,
        client_id: str,
        changes: Mapping[str, Any],
        *,
        if_match: str | None,
        required: bool = True,
    ) -> tuple[ClientRecord, str | None]:
        """Change fields of a registration (:data:`EDITABLE_FIELDS`) made against the version ``if_match``.

        Moving a client (``unit_code``) needs both units in reach. A client that starts authenticating with a
        secret gets one, returned once.
        """
        before = self.get(actor, client_id)
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise ClientMetadataError(sorted(unknown)[0], "cannot be changed")
        if client_id in _FIRST_PARTY:
            raise FirstPartyClientError(client_id, "edited")
        if "unit_code" in changes and not changes["unit_code"]:
            raise ClientMetadataError("unit", "must be a unit's code, or * for the whole platform")
        check_version(client_etag(before), if_match, required=required)
        spec = dataclasses.replace(before.as_spec(), **changes)
        # a new unit, or an orphaned client's unit named again (by a platform client manager): bound to it as it is now
        if spec.unit_code != before.unit_code or ("unit_code" in changes and self.orphaned(before)):
            unit_code = self._unit_in_reach(actor, spec.unit_code)
            spec = dataclasses.replace(spec, unit_code=unit_code, unit_uuid=self._uuid_of(unit_code))
        self._check_platform_powers(actor, spec, before=before)
        try:
            record, secret = self._registry().replace(spec, expected=before)
        except ClientChangedError as changed:
            raise PreconditionFailedError(client_etag(changed.current)) from None
        except ClientError as err:
            raise _metadata_error(err) from None
        self.audit.record(
            AuditEvent.OAUTH_CLIENT_UPDATE,
            actor=actor.name,
            client_id=client_id,
            details={"before": _audited(before), "after": _audited(record), "new_secret": secret is not None},
        )
        return record, secret

    def set_disabled(
        self, actor: Actor, client_id: str, disabled: bool, *, if_match: str | None = None
    ) -> ClientRecord:
        before = self.get(actor, client_id)
        if disabled and client_id in _FIRST_PARTY:
            raise FirstPartyClientError(client_id)
        check_version(client_etag(before), if_match)
        record = self._registry().set_disabled(client_id, disabled)
        self.audit.record(
            AuditEvent.OAUTH_CLIENT_DISABLE,
            actor=actor.name,
            client_id=client_id,
            details={"enabled": not disabled, "before": {"disabled": before.disabled}},
        )
        return record

    def rotate_secret(self, actor: Actor, client_id: str, *, if_match: str | None = None) -> tuple[ClientRecord, str]:
        """A new secret; the old one stops working at once. The secret is returned once and stored as a digest."""
        before = self.get(actor, client_id)
        if before.token_endpoint_auth_method not in SECRET_METHODS:
            raise NoSecretError(client_id)
        check_version(client_etag(before), if_match)
        record, secret = self._registry().rotate_secret(client_id)
        self.audit.record(AuditEvent.OAUTH_CLIENT_ROTATE, actor=actor.name, client_id=client_id)
        return record, secret

    # -- inside ---------------------------------------------------------------------------------------------

    def _held(self, actor: Actor) -> builtins.list[str]:
        held = self.delegation.units_holding(actor, AdminAction.CLIENTS_MANAGE)
        if not held:
            raise NotPermittedError(AdminAction.CLIENTS_MANAGE.value)
        return held

    def _paths(self, codes: set[str]) -> dict[str, tuple[str, builtins.list[str]]]:
        """Each unit's entryUUID and path, read in one directory search per 200 units (paths from their DNs)."""
        directory = self.delegation.directory
        units = directory.units_by_code(codes - {ROOT_UNIT})
        self.delegation.units.remember(units)  # what the API then says of each client's unit needs no search
        found = {u.code.casefold(): (u.entry_uuid, [u.code, *directory.names.unit_codes_above(u.dn)]) for u in units}
        return {code: found.get(code.casefold(), (UNIT_GONE, [code])) for code in codes}

    @staticmethod
    def _path_of(record: ClientRecord, paths: dict[str, tuple[str, builtins.list[str]]]) -> builtins.list[str]:
        """Where the client sits: its unit's path, or the root's (the platform's) when it is orphaned."""
        if record.unit_code == ROOT_UNIT:
            return [ROOT_UNIT]
        unit_uuid, path = paths[record.unit_code]
        return path if record.unit_uuid and record.unit_uuid == unit_uuid else [ROOT_UNIT]

    def _bound(self, records: builtins.list[ClientRecord]) -> builtins.list[ClientRecord]:
        """The clients, those registered before units were bound by entryUUID bound now to the unit that has
        their code (or marked orphaned when none has it)."""
        unbound = [r for r in records if r.unit_uuid is None and r.unit_code != ROOT_UNIT]
        if not unbound:
            return records
        current = self.delegation.units.current(r.unit_code for r in unbound)
        registry = self._registry()
        bound = {
            r.client_id: registry.bind_unit(r.client_id, r.unit_code, current.get(r.unit_code.casefold(), UNIT_GONE))
            for r in unbound
        }
        return [b for r in records if (b := bound.get(r.client_id, r)) is not None]

    def _uuid_of(self, unit_code: str) -> str | None:
        """The entryUUID of the unit (just checked to exist) a client is put in; None for the platform's."""
        if unit_code == ROOT_UNIT:
            return None
        return self.delegation.units.current([unit_code]).get(unit_code.casefold(), UNIT_GONE)

    def _unit_in_reach(self, actor: Actor, unit: str) -> str:
        """The unit's code as the directory spells it, if the caller manages clients there; else 404."""
        if unit == ROOT_UNIT:
            self.delegation.authorize(actor, AdminAction.CLIENTS_MANAGE, [ROOT_UNIT], target=("unit", ROOT_UNIT))
            return ROOT_UNIT
        return self.delegation.authorize_unit(actor, AdminAction.CLIENTS_MANAGE, unit)[0]

    def unit_for_new(self, actor: Actor, unit: str | None) -> str:
        """The unit a new client goes in: ``unit`` if in reach (else 404), or the caller's only one."""
        if unit:
            return self._unit_in_reach(actor, unit)
        held = self.units_for(actor)
        if len(held) != 1:
            raise ClientMetadataError("unit", "is required: the unit whose client managers manage the client")
        return held[0]

    def _check_platform_powers(self, actor: Actor, spec: ClientSpec, *, before: ClientRecord | None) -> None:
        added = (set(spec.scopes) & PLATFORM_SCOPES) - set(before.scopes if before else ())
        made_trusted = spec.trusted and not (before and before.trusted)
        kept = {before.backchannel_logout_uri, before.jwks_uri} if before else set()
        called = (spec.backchannel_logout_uri, spec.jwks_uri)  # what the server itself requests
        inward = [uri for uri in called if uri and uri not in kept and _names_the_inside(uri)]
        if (added or made_trusted or inward) and not self.may_give_platform_powers(actor):
            if added:
                what = f"the scope {sorted(added)[0]}"
            elif made_trusted:
                what = "trust (no consent page)"
            else:
                what = f"an address the server itself calls on its own network ({inward[0]})"
            raise PlatformOnlyError(f"only a client manager of the whole platform may give a client {what}")


_FIRST_PARTY = frozenset(app.client_id for app in FIRST_PARTY_APPS)


def _names_the_inside(uri: str) -> bool:
    """Whether a URI the server itself calls (back-channel logout, a JWK Set) names the loopback or a private,
    link-local or otherwise non-public address literally: from a province, that would aim the platform's own
    requests at its internal network."""
    host = (urlsplit(uri).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name: the JWK Set fetcher checks what it resolves to when it calls


def _metadata_error(err: ClientError) -> ClientMetadataError:
    inward = isinstance(err, ClientAddressRefusedError)
    return ClientMetadataError(_API_FIELD.get(err.field, err.field), err.reason, inward=inward)


def _audited(record: ClientRecord) -> dict[str, Any]:
    """What the audit log keeps of a registration: all its metadata, never a secret (the record holds none)."""
    document = record.as_json()
    for volatile in ("created_at", "secret_rotated_at", "jwks"):
        document.pop(volatile, None)
    return document
