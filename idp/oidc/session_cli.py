"""``antin sessions``: housekeeping of SSO sessions and of what they left (ended and expired ones are kept until
purged)."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from antin.kernel.instance import Instance
from idp.oidc.grant_purge import purge_spent
from idp.oidc.service import get_provider
from idp.settings import OidcSettings

__all__ = ["sessions"]


@click.group()
def sessions() -> None:
    """SSO sessions and their tokens: delete those long over (run `purge` daily, e.g. from a systemd timer)."""


@sessions.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="DAYS",
    help=(
        "Delete sessions ended or expired more than DAYS days ago, logout deliveries done as long, and tokens,"
        " grants, codes, interactions and pushed requests spent as long."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def purge(instance: Instance, *, days: int, as_json: bool) -> None:
    """Delete ended and expired SSO sessions (with their clients), finished logout deliveries, and the tokens,
    grants, authorization codes, interactions and pushed requests no flow can use any more.

    Live sessions are never touched; an idle one is kept until its absolute limit, since its applications' refresh
    tokens live until then. A token goes DAYS after its expiry (a reused rotated one is refused still), a grant
    when it has no token left or its session is gone, a code when its grant is gone. The audit log keeps every
    sign-in, token and logout.
    """
    count = get_provider(instance).sessions.purge(timedelta(days=days))
    now = instance.clock()
    # a grant's access tokens have no row: the grant stays while the last of them may live (and a leeway)
    access_ttl = timedelta(seconds=instance.settings.section(OidcSettings).access_token_ttl + 300)
    spent = purge_spent(instance.database, now - timedelta(days=days), access_tokens_since=now - access_ttl)
    if as_json:
        fields = {"sessions": count.sessions, "deliveries": count.deliveries, "older_than_days": days}
        fields |= {
            "tokens": spent.tokens,
            "grants": spent.grants,
            "codes": spent.codes,
            "interactions": spent.interactions,
            "pushed_requests": spent.pushed_requests,
        }
        click.echo(json.dumps(fields))
    else:
        click.echo(f"deleted {count.sessions} sessions and {count.deliveries} logout deliveries over for {days}+ days")
        click.echo(
            f"deleted {spent.tokens} tokens, {spent.grants} grants, {spent.codes} codes, {spent.interactions}"
            f" interactions and {spent.pushed_requests} pushed requests spent for {days}+ days"
        )
