"""``antin directory serve`` and ``schema``: the managed slapd in the foreground, the project's LDAP schema."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from directory.cli.context import instance_of
from directory.errors import DirectoryError
from directory.instance import managed_slapd

if TYPE_CHECKING:
    from directory.slapd import ManagedSlapd
    from directory.slapd_replication import ReplicationPeer

__all__ = ["schema", "serve"]

STATUS_EVERY = 2.0  # seconds between two looks at the providers (a line is printed only when it changes)


@click.command()
@click.option("--server-id", type=int, default=None, help="This provider's replication ID (1-4095, unique).")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    metavar="URI",
    help="Another provider to replicate with (ldap:// or ldaps://); repeat for each one.",
)
@click.option(
    "--listen",
    "listen",
    multiple=True,
    metavar="URI",
    help="Another address to listen on (e.g. ldap://10.0.0.5:389/) so that other providers reach this one.",
)
@click.pass_context
def serve(ctx: click.Context, server_id: int | None, providers: tuple[str, ...], listen: tuple[str, ...]) -> None:
    """Run the managed slapd in the foreground until Ctrl-C; with --provider, as one of several providers."""
    slapd = managed_slapd(instance_of(ctx))
    if slapd is None:
        raise click.ClickException("ANTIN_DIRECTORY_MANAGED is false: the directory is an outside server")
    if providers or server_id is not None:
        from directory.slapd_replication import SlapdReplication

        if server_id is None or not providers:
            raise click.UsageError("replication needs both --server-id and at least one --provider")
        replication = SlapdReplication(server_id, providers)
        if problems := replication.problems():
            raise click.UsageError("; ".join(problems))
        slapd.replication = replication
    slapd.extra_listeners = listen
    listening = ", ".join((*slapd.uris, *listen))
    click.echo(f"slapd for {slapd.base_dn} on {listening} (Ctrl-C stops it)", err=True)
    if slapd.replication is not None:
        click.echo(
            f"replication: server {slapd.replication.server_id}, providers {', '.join(slapd.replication.providers)}",
            err=True,
        )
    stop = ctx.meta.get("antin.stop_requested")
    stop_requested: Callable[[], bool] = stop if callable(stop) else lambda: False
    slapd.serve(until=_reporting_replication(slapd, stop_requested))


def _reporting_replication(slapd: ManagedSlapd, stop_requested: Callable[[], bool]) -> Callable[[], bool]:
    """``stop_requested``, which also prints each provider's replication state when it changes."""
    if slapd.replication is None:
        return stop_requested
    last: dict[str, str] = {}
    next_look = 0.0

    def until() -> bool:
        nonlocal next_look
        if stop_requested():
            return True
        if time.monotonic() >= next_look and slapd.is_running():
            next_look = time.monotonic() + STATUS_EVERY
            try:
                peers = slapd.replication_status()
            except DirectoryError as err:
                peers = []
                click.echo(f"replication: status unknown ({err})", err=True)
            for peer in peers:
                line = _describe(peer)
                if last.get(peer.uri) != line:
                    last[peer.uri] = line
                    click.echo(f"replication: {peer.uri} {line}", err=True)
        return False

    return until


def _describe(peer: ReplicationPeer) -> str:
    if not peer.reachable:
        return f"unreachable ({peer.detail})" if peer.detail else "unreachable"
    return "in sync" if peer.in_sync else f"catching up ({peer.detail})"


@click.command()
@click.option("--ldif", "as_ldif", is_flag=True, help="The cn=config form, for ldapadd on a production server.")
def schema(as_ldif: bool) -> None:
    """Print the project's LDAP schema."""
    from directory.slapd_config import schema_as_ldif, schema_text

    click.echo(schema_as_ldif() if as_ldif else schema_text(), nl=False)
