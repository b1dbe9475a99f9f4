"""What a resource server that runs its own OAuth exchange (CSC's credential authorisation in ``signing.csc``)
may know of a registered client: its name to show the official, whether it is public, where it may be sent back,
and whether a secret is its secret. Exported by :mod:`idp.oidc`."""

from __future__ import annotations

from dataclasses import dataclass

from antin.kernel.instance import Instance
from idp.oidc.service import get_provider

__all__ = ["RegisteredClient", "client_secret_matches", "registered_client"]


@dataclass(frozen=True)
class RegisteredClient:
    """What a resource server that runs its own OAuth exchange (CSC's credential authorisation) may know of a
    client: its name to show the official, whether it is public, and where it may be sent back."""

    client_id: str
    name: str
    public: bool
    redirect_uris: tuple[str, ...]


def registered_client(instance: Instance, client_id: str) -> RegisteredClient | None:
    """The active (not disabled) client ``client_id``, or None."""
    record = get_provider(instance).clients.active(client_id)
    if record is None:
        return None
    return RegisteredClient(record.client_id, record.name, record.public, record.redirect_uris)


def client_secret_matches(instance: Instance, client_id: str, secret: str) -> bool:
    """Whether ``secret`` is the active client's secret (compared in constant time by the client registry)."""
    clients = get_provider(instance).clients
    record = clients.active(client_id)
    return record is not None and clients.check_secret(record, secret) is not None
