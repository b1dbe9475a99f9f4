"""``antin admin``: bootstrap and inspect delegated administration (grants of roles on units).

Whoever has a shell on the server is the operator: these commands may grant anything, and every grant and
revocation is audited with the operator's name (``cli:<user>``).
"""

from __future__ import annotations

import getpass
import json

import click

from admin.delegation import Actor
from admin.errors import AdminError
from admin.models import ROOT_UNIT, AdminRole, GrantView
from admin.service import admin_service
from antin.kernel.instance import Instance
from directory.errors import DirectoryError

__all__ = ["admin"]

ROLE_CHOICE = click.Choice([r.value for r in AdminRole])


def _operator() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", operator=True)


def _show(grants: list[GrantView], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([g.as_json() for g in grants], indent=2, ensure_ascii=False))
        return
    for g in grants:
        when = g.granted_at.strftime("%Y-%m-%d %H:%M")
        void = "  ORPHANED (its unit was deleted: covers nothing)" if g.orphaned else ""
        who = g.login or g.subject
        click.echo(f"{g.id:>5}  {who:20} {g.role.value:20} {g.unit_code:16} {when}  by {g.granted_by}{void}")


@click.group()
def admin() -> None:
    """Delegated administration: roles granted on units (each covers the unit's whole subtree)."""


@admin.command("grant")
@click.argument("login", required=False)
@click.option("--client", "client_id", default=None, help="An OIDC client (SCIM provisioning) instead of an official.")
@click.option("--role", required=True, type=ROLE_CHOICE, help="The role to give.")
@click.option("--unit", required=True, help=f"Code of the unit whose subtree it covers ({ROOT_UNIT}: everything).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def grant(instance: Instance, login: str | None, client_id: str | None, role: str, unit: str, as_json: bool) -> None:
    """Give the official LOGIN a role on a unit (platform-admin only on the root, *); or bind the OIDC client
    --client to a unit with the role provisioner (its client_credentials tokens with the scope scim)."""
    if (login is None) == (client_id is None):
        raise click.UsageError("give either LOGIN or --client")
    delegation = admin_service(instance).delegation
    try:
        if client_id is not None:
            view = delegation.grant_client(_operator(), client_id, role, unit)
        else:
            assert login is not None
            view = delegation.grant(_operator(), login, role, unit)
    except (AdminError, DirectoryError) as err:
        raise click.ClickException(str(err)) from None
    _show([view], as_json)


@admin.command("revoke")
@click.argument("grant_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def revoke(instance: Instance, grant_id: int, as_json: bool) -> None:
    """Take away the grant GRANT_ID (its number in `antin admin list`)."""
    try:
        view = admin_service(instance).delegation.revoke(_operator(), grant_id)
    except (AdminError, DirectoryError) as err:
        raise click.ClickException(str(err)) from None
    _show([view], as_json)


@admin.command("list")
@click.option("--login", default=None, help="Only this administrator's grants.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_grants(instance: Instance, login: str | None, as_json: bool) -> None:
    """List the grants: number, administrator, role, unit, when and by whom."""
    try:
        grants = admin_service(instance).delegation.grants(_operator(), login=login)
    except (AdminError, DirectoryError) as err:
        raise click.ClickException(str(err)) from None
    _show(grants, as_json)
