"""The ``antin`` command: one console script, a subcommand per task.

Every subcommand works on the instance its settings name (``ANTIN_DATA_DIR``, ``ANTIN_CONFIG``…), also while
``antin demo`` runs on it. Commands that scripts read take ``--json``.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click

from antin.db_cli import db
from antin.demo import demo
from antin.migrate import is_up_to_date, upgrade
from antin.serve import serve
from directory.cli import change_listeners, directory
from idp.audit import AuditEvent
from idp.cli import audit
from idp.instance import Instance
from idp.settings import Settings, SettingsError, load_settings
from signing.cli import pki, sign
from signing.validation.cli import verify

__all__ = ["cli", "main"]


def build_instance(overrides: dict[str, dict[str, Any]] | None = None) -> Instance:
    try:
        settings = load_settings(overrides=overrides)
    except SettingsError as err:
        raise click.ClickException(str(err)) from None
    return Instance(settings, start_directory=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="antin")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ấn Tín: identity, single sign-on, strong authentication and e-signatures.

    Settings come from ANTIN_* environment variables and the TOML file named by ANTIN_CONFIG;
    `antin config show` prints them.
    """
    if ctx.invoked_subcommand in ("demo", "serve"):
        return  # these build their instance themselves, with their own flags
    instance = build_instance()
    ctx.obj = instance
    ctx.call_on_close(instance.close)
    if ctx.invoked_subcommand in AUDITED_GROUPS:
        ensure_schema(instance)


# Groups whose commands change things and record them in the audit log.
AUDITED_GROUPS = ("directory",)


def ensure_schema(instance: Instance) -> None:
    """The audit log needs the schema: create it in development, demand the migration in production."""
    if is_up_to_date(instance.database):
        return
    if instance.settings.production:
        raise click.ClickException("the database schema is not up to date: run `antin db upgrade` first")
    upgrade(instance.database)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


# Accounts that can no longer sign: their signing certificates are revoked at once.
ENDS_SIGNING = (AuditEvent.DIRECTORY_USER_DISABLE, AuditEvent.DIRECTORY_USER_DELETE)


def record_directory_change(ctx: click.Context, event: str, subject: str, details: dict[str, Any]) -> None:
    instance = ctx.find_object(Instance)
    if instance is None:
        return
    instance.audit.record(AuditEvent(event), actor=cli_actor(), subject=subject, details=details)
    if AuditEvent(event) in ENDS_SIGNING:
        from signing.service import signing_service

        revoked = signing_service(instance).on_account_disabled(subject, actor=cli_actor())
        if revoked:
            click.echo(f"revoked {len(revoked)} signing certificate(s) of {subject}", err=True)


change_listeners.append(record_directory_change)


@cli.group()
def config() -> None:
    """Show and check the settings of this instance."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config_show(instance: Instance, as_json: bool) -> None:
    """Print every setting in effect, secrets masked."""
    data = settings_as_dict(instance.settings)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for section, values in data.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            click.echo(f"  {key} = {value}")


def settings_as_dict(settings: Settings) -> dict[str, dict[str, Any]]:
    import dataclasses

    out: dict[str, dict[str, Any]] = {}
    for section in dataclasses.fields(settings):
        values = getattr(settings, section.name)
        shown: dict[str, Any] = {}
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            if any(word in f.name for word in ("password", "secret", "pin")) and value:
                value = "********"
            elif isinstance(value, tuple):
                value = [str(v) for v in value]
            elif value is not None and not isinstance(value, bool | int | float | str):
                value = str(value)
            shown[f.name] = value
        out[section.name] = shown
    return out


cli.add_command(demo)
cli.add_command(serve)
cli.add_command(db)
cli.add_command(audit)
cli.add_command(directory)
cli.add_command(verify)

from idp.oidc.cli import clients, keys  # noqa: E402

cli.add_command(clients)
cli.add_command(keys)


def main() -> None:
    try:
        cli.main(prog_name="antin")
    except KeyboardInterrupt:
        sys.exit(130)


cli.add_command(pki)
cli.add_command(sign)
