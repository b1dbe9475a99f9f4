"""``antin demo``: the whole platform on one machine with no outside service (the embedded default)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from antin import lifecycle
from antin.kernel.settings import CoreSettings, Settings, SettingsError, env_name
from antin.settings import load_settings

if TYPE_CHECKING:  # the platform is imported in _run, one package at a time, a stop request looked for in between
    from antin.kernel.instance import Instance

__all__ = ["demo", "demo_settings"]

ACCOUNTS_FILE = "demo-accounts.json"


def demo_settings(port: int | None, host: str | None) -> Settings:
    """Settings for ``antin demo``: ``--port`` also moves the issuer unless ANTIN_ISSUER says otherwise."""
    overrides: dict[str, dict[str, object]] = {"server": {}}
    if port is not None:
        overrides["server"]["port"] = port
    if host is not None:
        overrides["server"]["host"] = host
    settings = load_settings(overrides=overrides)
    if (
        port is not None
        and env_name("core", "issuer") not in os.environ
        and settings.core.issuer == CoreSettings.issuer
    ):
        overrides["core"] = {"issuer": f"http://localhost:{port}"}
        settings = load_settings(overrides=overrides)
    return settings


def prepare_directory(instance: Instance, out: ExitStack) -> list[dict[str, str]]:
    """Start the managed slapd (stopped when the demo ends) and seed it on first start."""
    from directory.instance import directory_service, managed_slapd

    slapd = managed_slapd(instance)
    if slapd is not None and not slapd.is_running():
        out.callback(slapd.stop)
        slapd.start()
    accounts_path = instance.data_dir / ACCOUNTS_FILE
    if accounts_path.exists():
        accounts: list[dict[str, str]] = json.loads(accounts_path.read_text(encoding="utf-8"))
        return accounts
    from directory.demo_data import seed_demo

    accounts = [{"uid": uid, "password": pw, "role": role} for uid, pw, role in seed_demo(directory_service(instance))]
    fd = os.open(accounts_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(accounts, fh, ensure_ascii=False, indent=2)
    return accounts


def print_banner(
    settings: Settings,
    accounts: list[dict[str, str]],
    data_dir: Path,
    client: dict[str, object],
    administrators: Sequence[tuple[str, str, str]] = (),
    totp: dict[str, str] | None = None,
    waiting: str | None = None,
) -> None:
    from admin.settings import AdminSettings
    from signing.documents.demo import DEMO_SIGNER

    click.secho("Ấn Tín — demo instance", bold=True)
    click.echo(f"  issuer:      {settings.core.issuer}")
    click.echo(f"  discovery:   {settings.core.issuer}/.well-known/openid-configuration")
    click.echo(f"  data folder: {data_dir.resolve()}")
    if settings.core.env == "development" and accounts:
        click.echo("  demo accounts (development only):")
        for account in accounts:
            click.echo(f"    {account['uid']:<22} {account['password']:<18} {account['role']}")
        click.echo("  demo administrators (development only; `antin admin list`):")
        for login, role, unit in administrators:
            click.echo(f"    {login:<22} {role} on {unit}")
    if settings.core.env == "development":
        click.echo("  demo OpenID client (development only):")
        click.echo(f"    client_id:     {client['client_id']}")
        click.echo(f"    client_secret: {client['client_secret']}")
        redirects = client.get("redirect_uris")
        if isinstance(redirects, list | tuple):
            click.echo(f"    redirect URIs: {', '.join(map(str, redirects))}")
    if totp:
        click.echo("  two-step verification (development only):")
        click.echo(f"    {totp['uid']} signs in with a 6-digit code after the password; authenticator key:")
        click.echo(f"    {totp['key']}")
        click.echo('    (add it to an authenticator app, or read the code with: python -c "import pyotp;')
        click.echo(f"    print(pyotp.TOTP('{totp['key'].replace(' ', '')}').now())\")")
        click.echo(f"    anyone can add an app at {settings.core.issuer}/account/security")
    click.echo("  passkeys and security keys (a browser on this computer, at http://localhost: WebAuthn needs it):")
    click.echo(f"    sign in, open {settings.core.issuer}/account/security/webauthn and add one (a phone, Windows")
    click.echo("    Hello, a USB key, or Chrome's DevTools > More tools > WebAuthn > 'Enable virtual authenticator');")
    click.echo("    then 'Sign in with a passkey' on the login page signs in without a password")
    click.echo(f"  officials' portal: {settings.core.issuer}/ (documents, upload, signing with a security key)")
    if waiting:
        click.echo(
            f"    {DEMO_SIGNER} has a document waiting for the signature: {settings.core.issuer}/documents/{waiting}"
        )
        click.echo("    (signing asks for a security key or passkey: add one first at /account/security)")
    click.echo(f"  your account:  {settings.core.issuer}/account")
    click.echo(f"  admin console: {settings.core.issuer}/admin  (sign in as a demo administrator above)")
    if settings.section(AdminSettings).console_acr:
        click.echo("    it asks for a security key or passkey: add one first at /account/security/webauthn,")
        click.echo("    or start the demo with ANTIN_ADMIN_CONSOLE_ACR= to let a password in (development only)")
    click.echo("  stop with Ctrl-C")


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Port to serve on (default 5000; moves the issuer too).")
@click.option("--host", help="Address to listen on (default localhost).")
def demo(port: int | None, host: str | None) -> None:
    """Run the whole platform on this machine: directory, database, keys, web (development only)."""
    try:
        settings = demo_settings(port, host)
    except SettingsError as err:
        raise click.ClickException(str(err)) from None
    if settings.production:
        raise click.ClickException("antin demo is for development; in production run `antin serve`")
    # `antin demo` takes Ctrl-C and SIGTERM alike as a stop request (antin.lifecycle); one that comes during
    # start-up ends it once what was started has been stopped again
    with contextlib.suppress(lifecycle.StopRequested):
        _run(settings)
    click.echo("Ấn Tín demo stopped", err=True)


# What the demo imports, in steps of at most a few hundred milliseconds (seconds on a busy machine): a stop request
# is looked for between two of them. Imported at the top of this module, they held a stop back for up to 3.8 s.
KERNEL_MODULES = ("sqlalchemy.orm", "antin.kernel.instance", "antin.migrate")
DIRECTORY_MODULES = ("ldap", "directory.instance", "directory.demo_data")
PLATFORM_MODULES = (
    "flask",
    "admin.demo",
    "idp.oidc.service",
    "idp.oidc.demo",
    "idp.mfa.demo",
    "idp.login",
    "signing.pades",
    "signing.validation",
    "signing",
    "antin.app",
    "werkzeug.serving",
)


def _run(settings: Settings) -> None:
    """Start each part, looking for a stop request between them; serve until one comes; stop in reverse order."""
    lifecycle.import_in_steps(KERNEL_MODULES)
    from antin.kernel.audit import AuditEvent
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade

    instance = Instance(settings)
    with ExitStack() as stack:
        stack.callback(instance.close)
        instance.ensure_data_dir()
        upgrade(instance.database)
        lifecycle.import_in_steps(DIRECTORY_MODULES)
        accounts = prepare_directory(instance, stack)
        lifecycle.import_in_steps(PLATFORM_MODULES)
        from werkzeug.serving import make_server

        from admin.demo import grant_demo_administrators
        from antin.app import create_app
        from idp.mfa.demo import ensure_demo_totp
        from idp.oidc.demo import ensure_demo_client
        from idp.oidc.first_party import ensure_all_registered
        from signing.documents.demo import seed_demo_documents

        ensure_all_registered(instance)
        administrators = grant_demo_administrators(instance)
        lifecycle.check()
        client = ensure_demo_client(instance)
        waiting = seed_demo_documents(instance)
        waiting = seed_demo_documents(instance)
        totp = ensure_demo_totp(instance, accounts[-1]["uid"]) if accounts else None
        lifecycle.check()
        app = create_app(instance=instance)
        server = make_server(settings.server.host, settings.server.port, app, threaded=True)
        stack.callback(server.server_close)
        lifecycle.check()
        instance.audit.record(AuditEvent.INSTANCE_START, details={"mode": "demo", "issuer": settings.core.issuer})
        print_banner(settings, accounts, instance.data_dir, client, administrators, totp, waiting)
        # the serving loop looks for shutdown() every poll_interval (0.5 s by default): a stop should not wait for it
        serving = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="antin-demo-http", daemon=True
        )
        serving.start()
        stack.callback(serving.join, 5.0)
        stack.callback(server.shutdown)  # runs first: the serving loop ends, then the thread is joined
        lifecycle.wait()
