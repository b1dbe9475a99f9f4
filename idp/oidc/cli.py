"""``antin clients`` and ``antin keys``: registering relying parties and rotating signing keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from antin.kernel.instance import Instance
from idp.oidc.acr import ACR_ALIASES, ACR_VALUES, normalise_acr
from idp.oidc.audit import Auditor
from idp.oidc.clients import (
    AUTH_METHODS,
    DEFAULT_SCOPES,
    GRANT_TYPES,
    PLATFORM_UNIT,
    SUPPORTED_SCOPES,
    ClientRecord,
    ClientRegistry,
    ClientSpec,
    client_registry,
    parse_jwks,
)
from idp.oidc.errors import ClientError
from idp.oidc.keys import SigningKeys
from idp.settings import OidcSettings

__all__ = ["clients", "keys"]


def _registry(instance: Instance) -> ClientRegistry:
    return client_registry(instance)


def _existing_unit(instance: Instance, code: str) -> tuple[str, str]:
    """The unit's code as the directory spells it and its entryUUID; a unit that does not exist is refused."""
    from directory.errors import InvalidInputError, NotFoundError
    from directory.instance import directory_service

    try:
        unit = directory_service(instance).get_unit(code)
        return unit.code, unit.entry_uuid
    except (NotFoundError, InvalidInputError):
        raise ClientError("unit", f"no unit {code!r} in the directory") from None


def _print_client(record: ClientRecord, as_json: bool, secret: str | None = None) -> None:
    data = record.as_json()
    if secret is not None:
        data["client_secret"] = secret
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for key, value in data.items():
        shown = " ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:32} {shown if shown not in (None, '') else '-'}")
    if secret is not None:
        click.echo("The secret is shown once; only its digest is stored.", err=True)


@click.group()
def clients() -> None:
    """Register and manage OpenID Connect clients (relying parties)."""


@clients.command("add")
@click.option("--name", required=True, help="Name shown to officials on the consent screen.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI (repeatable).")
@click.option("--public", is_flag=True, help="A public client (SPA, mobile): no secret, PKCE only.")
@click.option("--trusted", is_flag=True, help="First-party: officials are not asked to consent.")
@click.option("--post-logout-uri", "post_logout_uris", multiple=True, help="Registered post-logout redirect URI.")
@click.option("--backchannel-logout-uri", default=None, help="Where logout tokens are POSTed.")
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    type=click.Choice(GRANT_TYPES),
    help="Allowed grant (repeatable); default authorization_code and refresh_token.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SUPPORTED_SCOPES),
    help="Allowed scope (repeatable); default openid profile email phone party. The signing scopes"
    " (signing:sign, signing:verify, signing:request) and admin are given only when named here, --trusted or not.",
)
@click.option(
    "--acr",
    "required_acr",
    type=click.Choice((*ACR_VALUES, *ACR_ALIASES)),
    default=None,
    help="Authentication level this client requires (phr, phrh: the OpenID EAP names of the last two).",
)
@click.option(
    "--auth-method",
    type=click.Choice(AUTH_METHODS),
    default=None,
    help="Token endpoint authentication; default client_secret_basic (none for --public).",
)
@click.option("--jwks-uri", default=None, help="URL of the client's JWK Set (private_key_jwt).")
@click.option(
    "--jwks", "jwks_text", default=None, help="The client's JWK Set as JSON, or @FILE to read it (private_key_jwt)."
)
@click.option("--id-token-alg", type=click.Choice(("RS256", "ES256")), default="RS256", help="ID token algorithm.")
@click.option("--dpop", is_flag=True, help="Require DPoP-bound access tokens for this client.")
@click.option("--client-id", default=None, help="Use this client_id instead of a generated one.")
@click.option("--home-url", default=None, help="The application's start page: lists it on the officials' portal.")
@click.option(
    "--unit",
    "unit_code",
    default=PLATFORM_UNIT,
    show_default=True,
    help="The directory unit (its code) whose client managers manage it in /admin; * the whole platform's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with client_secret for confidential clients).")
@click.pass_obj
def add(
    instance: Instance,
    *,
    name: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    trusted: bool,
    post_logout_uris: tuple[str, ...],
    backchannel_logout_uri: str | None,
    grant_types: tuple[str, ...],
    scopes: tuple[str, ...],
    required_acr: str | None,
    auth_method: str | None,
    jwks_uri: str | None,
    jwks_text: str | None,
    id_token_alg: str,
    dpop: bool,
    client_id: str | None,
    home_url: str | None,
    unit_code: str,
    as_json: bool,
) -> None:
    """Register a client; a confidential client's secret is printed once."""
    try:
        unit_uuid = None
        if unit_code != PLATFORM_UNIT:
            unit_code, unit_uuid = _existing_unit(instance, unit_code)
        jwks: dict[str, Any] | None = None
        if jwks_text:
            if jwks_text.startswith("@"):
                jwks_text = Path(jwks_text[1:]).read_text()
            jwks = parse_jwks(jwks_text)
        spec = ClientSpec(
            name=name,
            redirect_uris=redirect_uris,
            public=public,
            trusted=trusted,
            post_logout_redirect_uris=post_logout_uris,
            backchannel_logout_uri=backchannel_logout_uri,
            grant_types=grant_types or ("authorization_code", "refresh_token"),
            scopes=scopes or DEFAULT_SCOPES,
            required_acr=normalise_acr(required_acr) if required_acr else None,
            auth_method=auth_method,
            jwks_uri=jwks_uri,
            jwks=jwks,
            id_token_signed_response_alg=id_token_alg,
            dpop_bound_access_tokens=dpop,
            client_id=client_id,
            home_url=home_url,
            unit_code=unit_code,
            unit_uuid=unit_uuid,
        )
        record, secret = _registry(instance).add(spec)
    except (ClientError, OSError) as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record(
        "oauth:client:create",
        actor="cli",
        client_id=record.client_id,
        details={
            "name": record.name,
            "public": record.public,
            "trusted": record.trusted,
            "scopes": list(record.scopes),
        },
    )
    _print_client(record, as_json, secret)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_clients(instance: Instance, as_json: bool) -> None:
    """List registered clients."""
    records = _registry(instance).list()
    if as_json:
        click.echo(json.dumps([r.as_json() for r in records], indent=2, ensure_ascii=False))
        return
    for r in records:
        kind = "public" if r.public else "confidential"
        state = "disabled" if r.disabled else "active"
        click.echo(f"{r.client_id}\t{r.name}\t{kind}{' trusted' if r.trusted else ''}\t{state}")


def _get(instance: Instance, client_id: str) -> ClientRecord:
    record = _registry(instance).get(client_id)
    if record is None:
        raise click.ClickException(f"no client {client_id!r}")
    return record


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(instance: Instance, client_id: str, as_json: bool) -> None:
    """Show one client (never its secret)."""
    _print_client(_get(instance, client_id), as_json)


@clients.command("set-scopes")
@click.argument("client_id")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SUPPORTED_SCOPES),
    help="Allowed scope (repeatable): the client's whole list, which replaces the old one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def set_scopes(instance: Instance, client_id: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Replace the scopes a client may be granted, e.g. to allow it signing:sign.

    Running servers use the new list within ANTIN_OIDC_CLIENT_CACHE_SECONDS; tokens already issued keep their
    scopes until they expire (`antin clients disable` stops them at once).
    """
    try:
        before = _get(instance, client_id).scopes
        record = _registry(instance).set_scopes(client_id, scopes)
    except ClientError as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record(
        "oauth:client:scopes",
        actor="cli",
        client_id=client_id,
        details={"before": list(before), "after": list(record.scopes)},
    )
    _print_client(record, as_json)


@clients.command("set-home-url")
@click.argument("client_id")
@click.argument("home_url", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def set_home_url(instance: Instance, client_id: str, home_url: str, as_json: bool) -> None:
    """Set the application's start page, which lists it on the officials' portal (none given: unlist it)."""
    try:
        before = _get(instance, client_id).home_url
        record = _registry(instance).set_home_url(client_id, home_url or None)
    except ClientError as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record(
        "oauth:client:home-url",
        actor="cli",
        client_id=client_id,
        details={"before": before, "after": record.home_url},
    )
    _print_client(record, as_json)


@clients.command("update")
@click.argument("client_id")
@click.option(
    "--acr",
    "required_acr",
    type=click.Choice((*ACR_VALUES, *ACR_ALIASES, "none")),
    required=True,
    help="Authentication level every sign-in to this client must reach; none: a password is enough.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def update(instance: Instance, client_id: str, required_acr: str, as_json: bool) -> None:
    """Change the level a client requires (its default_acr_values).

    An official who has no factor reaching it is led through enrolment inside the login ([mfa] enrol_in_login);
    running servers use the new level within ANTIN_OIDC_CLIENT_CACHE_SECONDS.
    """
    level = None if required_acr == "none" else normalise_acr(required_acr)
    try:
        before = _get(instance, client_id).required_acr
        record = _registry(instance).set_required_acr(client_id, level)
    except ClientError as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record(
        "oauth:client:acr", actor="cli", client_id=client_id, details={"before": before, "after": level}
    )
    _print_client(record, as_json)


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with the new client_secret.")
@click.pass_obj
def rotate_secret(instance: Instance, client_id: str, as_json: bool) -> None:
    """Give a confidential client a new secret.

    The new secret works at once; running servers refuse the old one within ANTIN_OIDC_CLIENT_CACHE_SECONDS.
    """
    try:
        record, secret = _registry(instance).rotate_secret(client_id)
    except ClientError as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record("oauth:client:rotate-secret", actor="cli", client_id=client_id)
    _print_client(record, as_json, secret)


@clients.command("disable")
@click.argument("client_id")
@click.option("--enable", is_flag=True, help="Enable a disabled client again.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def disable(instance: Instance, client_id: str, enable: bool, as_json: bool) -> None:
    """Disable a client: its sign-ins, token requests and tokens stop working.

    Running servers refuse it within ANTIN_OIDC_CLIENT_CACHE_SECONDS (2 s by default).
    """
    try:
        record = _registry(instance).set_disabled(client_id, not enable)
    except ClientError as err:
        raise click.ClickException(str(err)) from None
    Auditor(instance).record("oauth:client:disable", actor="cli", client_id=client_id, details={"enabled": enable})
    _print_client(record, as_json)


@click.group()
def keys() -> None:
    """Signing keys of the OpenID Provider (ES256 and RS256)."""


def _signing_keys(instance: Instance) -> SigningKeys:
    o = instance.settings.section(OidcSettings)
    longest = max(o.access_token_ttl, o.id_token_ttl, o.refresh_token_ttl)
    return SigningKeys(
        instance.database,
        instance.secret_key,
        retire_after_seconds=longest + o.key_overlap_hours * 3600,
        clock=instance.clock,
    )


def _print_keys(signing: SigningKeys, as_json: bool) -> None:
    rows = [
        {
            "kid": k.kid,
            "alg": k.alg,
            "state": k.state,
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            "unpublish_at": k.unpublish_at.isoformat() if k.unpublish_at else None,
        }
        for k in signing.list()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['kid']}\t{row['alg']}\t{row['state']}\tuntil {row['unpublish_at'] or '-'}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_keys(instance: Instance, as_json: bool) -> None:
    """List signing keys: active ones sign, retired ones stay published until their tokens expire."""
    signing = _signing_keys(instance)
    signing.ensure()
    _print_keys(signing, as_json)


@keys.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def rotate(instance: Instance, as_json: bool) -> None:
    """Create new signing keys; the old ones stay in the JWKS until every token they signed has expired."""
    signing = _signing_keys(instance)
    signing.rotate()
    Auditor(instance).record("oauth:key:rotate", actor="cli")
    _print_keys(signing, as_json)
