"""The ``antin`` command: one console script, a subcommand per task.

Every subcommand works on the instance its settings name (``ANTIN_DATA_DIR``, ``ANTIN_CONFIG``…), also while
``antin demo`` runs on it. Commands that scripts read take ``--json``.
"""

from __future__ import annotations

import getpass
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from antin import lifecycle

if TYPE_CHECKING:  # the kernel is imported when a command needs it: `antin --help` stays quick
    from antin.kernel.instance import Instance
    from antin.kernel.settings import Settings

__all__ = ["cli", "main"]


def load_platform_settings(overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    from antin.settings import SettingsError, load_settings

    try:
        return load_settings(overrides=overrides)
    except SettingsError as err:
        raise click.ClickException(str(err)) from None


def build_instance(overrides: dict[str, dict[str, Any]] | None = None) -> Instance:
    from antin.kernel.audit.anchor_keys import provide_anchor_signer
    from antin.kernel.instance import Instance

    instance = Instance(load_platform_settings(overrides), start_directory=True)
    provide_anchor_signer(instance, _hsm_anchor_signer)
    return instance


def _hsm_anchor_signer(instance: Instance) -> Any:
    from signing.anchor_key import hsm_anchor_signer  # the token is opened only by commands that anchor

    return hsm_anchor_signer(instance)


# Each package's commands, imported only when used: `antin audit list` need not load pyHanko. Their one-line
# help is written here too, so that `antin --help` imports none of them (a test keeps both in step).
SUBCOMMANDS = {
    "admin": "admin.cli:admin",
    "backup": "antin.backup:backup",
    "demo": "antin.demo:demo",
    "serve": "antin.serve:serve",
    "db": "antin.db_cli:db",
    "audit": "antin.kernel.cli:audit",
    "directory": "directory.cli:directory",
    "documents": "signing.documents.cli:documents",
    "clients": "idp.oidc.cli:clients",
    "keys": "idp.oidc.cli:keys",
    "sessions": "idp.oidc.session_cli:sessions",
    "mfa": "idp.mfa.cli:mfa",
    "pki": "signing.cli:pki",
    "sign": "signing.cli:sign",
    "verify": "signing.validation.cli:verify",
    "restore": "antin.restore:restore",
}
SHORT_HELP = {
    "admin": "Delegated administration: roles granted on units (each covers the unit's whole subtree).",
    "audit": "Read and verify the hash-chained audit log.",
    "backup": "Back up this instance into FOLDER (new or empty): database, directory, HSM token, keys, settings.",
    "clients": "Register and manage OpenID Connect clients (relying parties).",
    "db": "Create and upgrade the SQL schema (Alembic migrations).",
    "demo": "Run the whole platform on this machine: directory, database, keys, web (development only).",
    "directory": "Officials, Party units, groups and roles in the LDAP directory.",
    "documents": "Officials' documents: send the deadline reminders that are due (`remind`, from a timer).",
    "keys": "Signing keys of the OpenID Provider (ES256 and RS256).",
    "mfa": (
        "Second factors of officials (TOTP apps, security keys and passkeys, recovery codes): list them, reset them."
    ),
    "pki": "The certification authority: certificates of officials and units, revocation, CRLs, renewal.",
    "restore": "Restore a backup made by `antin backup` onto this instance's fresh data folder.",
    "serve": "Serve the platform with granian, or gunicorn with --server gunicorn (production).",
    "sessions": "SSO sessions and their tokens: delete those long over (run `purge` daily, e.g. from a systemd timer).",
    "sign": "Sign PDF documents with PAdES (an official's signature, or a unit's seal with --seal).",
    "verify": "Verify the signatures and document time-stamps of FILE (ETSI EN 319 102-1 indications).",
}


class PlatformGroup(click.Group):
    """The root group: subcommands of every package, loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS and cmd_name not in self.commands:
            module_name, attr = SUBCOMMANDS[cmd_name].split(":")
            module = importlib.import_module(module_name)
            self.add_command(getattr(module, attr), cmd_name)
            if cmd_name == "directory":
                module.change_listeners.append(record_directory_change)
            if cmd_name == "clients":
                # the webhook secret of the signing requests is signing's, kept beside the client it belongs to
                from signing.requests.cli import webhook_secret

                getattr(module, attr).add_command(webhook_secret)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in SHORT_HELP and name not in self.commands:
                rows.append((name, SHORT_HELP[name]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=PlatformGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="antin")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ấn Tín: identity, single sign-on, strong authentication and e-signatures.

    Settings come from ANTIN_* environment variables and the TOML file named by ANTIN_CONFIG;
    `antin config show` prints them.
    """
    ctx.meta["antin.stop_requested"] = lifecycle.stop_requested  # `directory serve` waits on it
    if ctx.invoked_subcommand in ("demo", "serve"):
        return  # these read their settings themselves, with their own flags
    if ctx.invoked_subcommand == "verify":
        ctx.obj = load_platform_settings()  # verifying needs no database, directory or token
        return
    instance = build_instance()
    ctx.obj = instance
    ctx.call_on_close(instance.close)
    if ctx.invoked_subcommand in AUDITED_GROUPS:
        ensure_schema(instance)


# Groups whose commands change things and record them in the audit log.
AUDITED_GROUPS = ("admin", "directory", "documents")


def ensure_schema(instance: Instance) -> None:
    """The audit log needs the schema: create it in development, demand the migration in production."""
    from antin.migrate import is_up_to_date, upgrade

    if is_up_to_date(instance.database):
        return
    if instance.settings.production:
        raise click.ClickException("the database schema is not up to date: run `antin db upgrade` first")
    upgrade(instance.database)


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


# Accounts that can no longer sign: their signing certificates are revoked at once.
ENDS_SIGNING = ("directory:user:disable", "directory:user:delete")


def record_directory_change(ctx: click.Context, event: str, subject: str, details: dict[str, Any]) -> None:
    from antin.kernel.audit import AuditEvent
    from antin.kernel.instance import Instance

    instance = ctx.find_object(Instance)
    if instance is None:
        return
    instance.audit.record(AuditEvent(event), actor=cli_actor(), subject=subject, details=details)
    if event in ENDS_SIGNING:
        from signing.service import signing_service

        revoked = signing_service(instance).on_account_disabled(subject, actor=cli_actor())
        if revoked:
            click.echo(f"revoked {len(revoked)} signing certificate(s) of {subject}", err=True)


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
    for name, values in settings.sections().items():
        shown: dict[str, Any] = {}
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            secret = any(word in f.name for word in ("password", "secret", "pin")) or f.name.endswith(
                ("_token", "_key")
            )
            if secret and value:
                value = "********"
            elif isinstance(value, tuple):
                value = [str(v) for v in value]
            elif value is not None and not isinstance(value, bool | int | float | str):
                value = str(value)
            shown[f.name] = value
        out[name] = shown
    return out


def main() -> None:
    if lifecycle.is_serving(sys.argv[1:]):
        lifecycle.defer_stop_signals()  # before the commands' imports: a stop is honoured from the first moment
    try:
        cli.main(prog_name="antin")
    except KeyboardInterrupt:
        sys.exit(130)
