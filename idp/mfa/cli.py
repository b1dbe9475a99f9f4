"""``antin mfa``: an operator lists an official's second factors, or removes them all (a lost phone and no
recovery code left)."""

from __future__ import annotations

import getpass
import json

import click

from antin.kernel.instance import Instance
from directory.errors import DirectoryError
from directory.models import Person
from idp.mfa import get_mfa_service
from idp.mfa.security_keys import SecurityKeyView, get_security_keys
from idp.oidc.service import get_provider

__all__ = ["mfa"]


def _person(instance: Instance, login: str) -> Person:
    try:
        person = get_provider(instance).directory.find_by_login(login)
    except DirectoryError as err:
        raise click.ClickException(f"the directory cannot be read: {err}") from None
    if person is None:
        raise click.ClickException(f"no official with the login or e-mail {login!r}")
    return person


@click.group()
def mfa() -> None:
    """Second factors of officials (TOTP apps, security keys and passkeys, recovery codes): list them, reset them."""


def _key_details(key: SecurityKeyView) -> dict[str, object]:
    return {
        "aaguid": key.aaguid,
        "transports": list(key.transports),
        "backup_eligible": key.backup_eligible,
        "backed_up": key.backed_up,
    }


@mfa.command("list")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_factors(instance: Instance, login: str, as_json: bool) -> None:
    """The factors LOGIN (a uid or an e-mail address) has enrolled, and their recovery codes left."""
    person = _person(instance, login)
    service = get_mfa_service(instance)
    factors = service.factors(person.entry_uuid)
    left = service.recovery_codes_left(person.entry_uuid)
    keys = {k.id: k for k in get_security_keys(instance).keys(person.entry_uuid)}
    if as_json:
        data = {
            "login": person.uid,
            "subject": person.entry_uuid,
            "factors": [
                {
                    "id": f.id,
                    "kind": str(f.kind),
                    "name": f.name,
                    "created_at": f.created_at.isoformat(),
                    "last_used_at": f.last_used_at.isoformat() if f.last_used_at else None,
                    **(_key_details(keys[f.id]) if f.id in keys else {}),
                }
                for f in factors
            ],
            "recovery_codes_left": left,
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{person.uid} ({person.entry_uuid})")
    if not factors:
        click.echo("  no factor: signs in with the password only")
    for f in factors:
        used = f.last_used_at.strftime("%Y-%m-%d %H:%M") if f.last_used_at else "never"
        click.echo(f"  {f.id}  {f.kind:9} {f.name}  added {f.created_at:%Y-%m-%d %H:%M}, last used {used}")
        if f.id in keys:
            key = keys[f.id]
            synced = "synced passkey" if key.backup_eligible else "kept on one device"
            click.echo(f"      AAGUID {key.aaguid}, {synced}, transports {' '.join(key.transports) or '-'}")
    click.echo(f"  recovery codes left: {left}")


@mfa.command("reset")
@click.argument("login")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def reset(instance: Instance, login: str, yes: bool) -> None:
    """Remove every factor of LOGIN and end their sessions; the next sign-in sets a factor up again when their
    policy needs one (their groups', the application's), else is with the password alone."""
    person = _person(instance, login)
    if not yes:
        click.confirm(f"Remove every second factor of {person.uid} and sign them out everywhere?", abort=True)
    actor = f"cli:{getpass.getuser()}"
    removed = get_mfa_service(instance).reset(person.entry_uuid, actor=actor)
    ended = get_provider(instance).end_all_sessions(person.entry_uuid, reason="second factors reset by an operator")
    click.echo(f"removed {removed} factor(s) of {person.uid}; ended {ended} session(s)")
