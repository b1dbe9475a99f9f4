"""``antin directory serve`` and ``schema``: the managed slapd in the foreground, the project's LDAP schema."""

from __future__ import annotations

import click

from directory.cli.context import instance_of
from directory.instance import managed_slapd

__all__ = ["schema", "serve"]


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the managed slapd in the foreground until Ctrl-C."""
    slapd = managed_slapd(instance_of(ctx))
    if slapd is None:
        raise click.ClickException("ANTIN_DIRECTORY_MANAGED is false: the directory is an outside server")
    click.echo(f"slapd for {slapd.base_dn} on {', '.join(slapd.uris)} (Ctrl-C stops it)", err=True)
    until = ctx.meta.get("antin.stop_requested")
    slapd.serve(until=until if callable(until) else lambda: False)


@click.command()
@click.option("--ldif", "as_ldif", is_flag=True, help="The cn=config form, for ldapadd on a production server.")
def schema(as_ldif: bool) -> None:
    """Print the project's LDAP schema."""
    from directory.slapd_config import schema_as_ldif, schema_text

    click.echo(schema_as_ldif() if as_ldif else schema_text(), nl=False)
