"""``antin audit``: read and verify the audit log of this instance."""

from __future__ import annotations

import json
from datetime import datetime

import click

from antin.kernel.instance import Instance

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Read and verify the hash-chained audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def audit_verify(instance: Instance, as_json: bool) -> None:
    """Check every entry of the chain; name the first broken or missing one. Exit 1 when broken."""
    result = instance.audit.verify()
    if as_json:
        brk = result.first_break
        click.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "entries_checked": result.entries_checked,
                    "first_break": None if brk is None else {"seq": brk.seq, "reason": brk.reason},
                }
            )
        )
    elif result.ok:
        click.echo(f"audit log intact: {result.entries_checked} entries checked")
    else:
        assert result.first_break is not None
        click.echo(f"audit log BROKEN at entry {result.first_break.seq}: {result.first_break.reason}", err=True)
    if not result.ok:
        raise SystemExit(1)


@audit.command("list")
@click.option("--event", help="Only this event, e.g. login:password:failure.")
@click.option("--actor", help="Only events by this actor.")
@click.option("--subject", help="Only events about this subject.")
@click.option("--since", type=click.DateTime(), help="Only events at or after this time (UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def audit_list(
    instance: Instance,
    event: str | None,
    actor: str | None,
    subject: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the newest entries first."""
    for rec in instance.audit.entries(event=event, actor=actor, subject=subject, since=since, limit=limit):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "seq": rec.seq,
                        "occurred_at": rec.occurred_at.isoformat(),
                        "event": rec.event,
                        "actor": rec.actor,
                        "subject": rec.subject,
                        "client_id": rec.client_id,
                        "ip": rec.ip,
                        "details": rec.details,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            who = rec.actor or "-"
            click.echo(f"{rec.seq:>7}  {rec.occurred_at:%Y-%m-%d %H:%M:%S}  {rec.event:<32} {who}  {rec.subject or ''}")
