"""OIDC clients as client managers see them: the list, one client, disable and enable, a new secret shown once.

Clients belong to no unit yet, so managing them needs ``clients:manage`` on the whole directory (``*``: a platform
administrator, or a client manager granted there); one who holds it only on units is told no client is there, like
any target out of reach. The platform's own clients (the portal, the console) cannot be disabled from here: the
console would lock its administrators out.
"""

from __future__ import annotations

from collections.abc import Callable

from admin.delegation import Actor, Delegation
from admin.errors import AdminError, OutOfReachError
from admin.models import ROOT_UNIT, AdminAction
from antin.kernel.audit import AuditEvent, AuditLog
from idp.oidc.clients import SECRET_METHODS, ClientRecord, ClientRegistry
from idp.oidc.first_party import FIRST_PARTY_APPS

__all__ = ["Clients", "FirstPartyClientError", "NoSecretError"]


class FirstPartyClientError(AdminError):
    status = 409
    code = "first-party-client"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"{client_id} is one of the platform's own pages and cannot be disabled here")


class NoSecretError(AdminError):
    status = 409
    code = "no-secret"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"{client_id} does not authenticate with a secret")


class Clients:
    def __init__(self, registry: Callable[[], ClientRegistry], delegation: Delegation, audit: AuditLog) -> None:
        self._registry = registry
        self.delegation = delegation
        self.audit = audit

    def list(self, actor: Actor) -> list[ClientRecord]:
        self._check(actor, ("clients", "*"))
        return self._registry().list()

    def get(self, actor: Actor, client_id: str) -> ClientRecord:
        self._check(actor, ("client", client_id))
        record = self._registry().get(client_id)
        if record is None:
            raise OutOfReachError("client", client_id)
        return record

    def set_disabled(self, actor: Actor, client_id: str, disabled: bool) -> ClientRecord:
        before = self.get(actor, client_id)
        if disabled and client_id in {app.client_id for app in FIRST_PARTY_APPS}:
            raise FirstPartyClientError(client_id)
        record = self._registry().set_disabled(client_id, disabled)
        self.audit.record(
            AuditEvent.OAUTH_CLIENT_DISABLE,
            actor=actor.name,
            client_id=client_id,
            details={"enabled": not disabled, "before": {"disabled": before.disabled}},
        )
        return record

    def rotate_secret(self, actor: Actor, client_id: str) -> tuple[ClientRecord, str]:
        """A new secret; the old one stops working at once. The secret is returned once and stored as a digest."""
        before = self.get(actor, client_id)
        if before.token_endpoint_auth_method not in SECRET_METHODS:
            raise NoSecretError(client_id)
        record, secret = self._registry().rotate_secret(client_id)
        self.audit.record(AuditEvent.OAUTH_CLIENT_ROTATE, actor=actor.name, client_id=client_id)
        return record, secret

    def _check(self, actor: Actor, target: tuple[str, str]) -> None:
        self.delegation.authorize(actor, AdminAction.CLIENTS_MANAGE, [ROOT_UNIT], target=target)
