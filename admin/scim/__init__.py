"""SCIM 2.0 (RFC 7643, RFC 7644) at ``/scim/v2``: officials as Users (with the enterprise extension) and groups as
Groups, for provisioning clients bound to units.

A provisioning client is an OIDC client of the platform with the scope ``scim`` and a ``provisioner`` grant on a
unit (``antin admin grant --client ID --role provisioner --unit CODE``); its client_credentials tokens act in that
unit's subtree exactly as an administrator's would, through the same service layer (:mod:`admin.service`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from admin.service import AdminService
    from antin.kernel.instance import Instance

__all__ = ["init_scim"]


def init_scim(app: Flask, instance: Instance, service: AdminService) -> None:
    """Register ``/scim/v2`` on ``app``."""
    from admin.scim.groups import ScimGroups
    from admin.scim.store import ExternalIds
    from admin.scim.users import ScimUsers
    from admin.scim.views import ScimState, register
    from idp.oidc import DPOP_ALGS, resource_server_checks
    from signing.auth import AccessTokenVerifier

    issuer = instance.settings.core.issuer
    base_url = f"{issuer}/scim/v2"
    verifier = AccessTokenVerifier(
        issuer,
        (base_url, issuer),  # RFC 8707 resource when the client asked for one, else the issuer
        checks=resource_server_checks(instance),
        dpop_algs=DPOP_ALGS,
        clock=lambda: instance.clock.now().timestamp(),
    )
    external_ids = ExternalIds(instance.database)
    state = ScimState(
        ScimUsers(service, external_ids, base_url),
        ScimGroups(service, external_ids, base_url),
        service.units,
        verifier,
        service.delegation.client_exists,
    )
    register(app, state)
