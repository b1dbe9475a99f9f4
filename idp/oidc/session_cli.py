"""``antin sessions``: housekeeping of SSO sessions (ended and expired ones are kept until purged)."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from antin.kernel.instance import Instance
from idp.oidc.service import get_provider

__all__ = ["sessions"]


@click.group()
def sessions() -> None:
    """SSO sessions: delete those long over (run `purge` daily, e.g. from a systemd timer)."""


@sessions.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="DAYS",
    help="Delete sessions ended or expired more than DAYS days ago, and logout deliveries done as long.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def purge(instance: Instance, *, days: int, as_json: bool) -> None:
    """Delete ended and expired SSO sessions (with their clients) and finished logout deliveries.

    Live sessions are never touched; an idle one is kept until its absolute limit, since its applications' refresh
    tokens live until then. The audit log keeps every sign-in and logout.
    """
    count = get_provider(instance).sessions.purge(timedelta(days=days))
    if as_json:
        click.echo(json.dumps({"sessions": count.sessions, "deliveries": count.deliveries, "older_than_days": days}))
    else:
        click.echo(f"deleted {count.sessions} sessions and {count.deliveries} logout deliveries over for {days}+ days")
