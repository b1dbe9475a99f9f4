"""The demo's administrators: a platform administrator and one per province, granted on every ``antin demo`` start
when missing (the demo tree's quan-tri-* officials)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from admin.delegation import Actor
from admin.models import ROOT_UNIT, AdminRole

if TYPE_CHECKING:
    from antin.kernel.instance import Instance

__all__ = ["DEMO_GRANTS", "grant_demo_administrators"]

# (login, role, unit)
DEMO_GRANTS: tuple[tuple[str, AdminRole, str], ...] = (
    ("dungpt", AdminRole.PLATFORM_ADMIN, ROOT_UNIT),
    ("tuanbv", AdminRole.UNIT_ADMIN, "BNH"),
    ("hieunm", AdminRole.UNIT_ADMIN, "HNI"),
)


def grant_demo_administrators(instance: Instance) -> list[tuple[str, str, str]]:
    """Grant what is missing of :data:`DEMO_GRANTS`; return every one as (login, role, unit)."""
    from admin.service import admin_service

    delegation = admin_service(instance).delegation
    demo = Actor("demo", operator=True)
    held = {(g.login, g.role, g.unit_code) for g in delegation.grants(demo)}
    for login, role, unit in DEMO_GRANTS:
        if (login, role, unit) not in held and delegation.directory.find_by_uid(login) is not None:
            delegation.grant(demo, login, role, unit)
    return [(login, role.value, unit) for login, role, unit in DEMO_GRANTS]
