"""The administration service of one instance, reached with ``admin_service(instance)``.

It puts together :class:`~admin.delegation.Delegation` (grants and the authorisation check),
:class:`~admin.officials.Officials`, :class:`~admin.units.Units` and :class:`~admin.groups.Groups`, over the
directory, the OpenID provider (to end sessions and revoke tokens) and the signing service (to revoke
certificates). The console, the API, SCIM and the CLI all call it, so a check made here is made for all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from admin.delegation import Actor, Delegation
from admin.groups import Groups
from admin.officials import Officials
from admin.units import Units

if TYPE_CHECKING:
    from antin.kernel.instance import Instance
    from directory.models import Person

__all__ = ["SERVICE_KEY", "AdminService", "admin_service"]

SERVICE_KEY = "antin.admin"


class AdminService:
    def __init__(self, delegation: Delegation, officials: Officials, units: Units, groups: Groups) -> None:
        self.delegation = delegation
        self.officials = officials
        self.units = units
        self.groups = groups

    def actor(self, subject: str) -> Actor:
        return Actor.administrator(subject)


def admin_service(instance: Instance) -> AdminService:
    return instance.service(SERVICE_KEY, _build)


def _build(instance: Instance) -> AdminService:
    from directory.instance import directory_service

    directory = directory_service(instance)

    def client_exists(client_id: str) -> bool:
        """Whether the provider has this client and it is not disabled (its cache: a change is seen at once here)."""
        from idp.oidc.service import get_provider

        return get_provider(instance).clients.active(client_id) is not None

    delegation = Delegation(
        instance.database, instance.audit, directory, instance.clock.now, client_exists=client_exists
    )

    def end_access(person: Person, actor: str) -> dict[str, Any]:
        """Sign the official out everywhere and revoke their tokens and signing certificates, at once."""
        from idp.oidc.service import get_provider
        from signing.service import signing_service

        sessions = get_provider(instance).end_all_sessions(person.entry_uuid, reason="account-disabled")
        certificates = signing_service(instance).on_account_disabled(person.uid, actor=actor)
        return {"sessions_ended": sessions, "certificates_revoked": [c.serial for c in certificates]}

    audit = instance.audit
    return AdminService(
        delegation,
        Officials(directory, delegation, audit, end_access),
        Units(directory, delegation, audit),
        Groups(directory, delegation, audit),
    )
