"""``antin documents remind``: remind the officials whose steps are near or past their deadline (for a cron job or
a systemd timer; the server's own periodic job does the same every ``[documents] remind_every_minutes``)."""

from __future__ import annotations

import json

import click

from antin.kernel.database import DatabaseUnavailableError
from antin.kernel.instance import Instance
from antin.kernel.mail import mailer_for
from directory.errors import DirectoryError

__all__ = ["documents"]


@click.group()
def documents() -> None:
    """Officials' documents: send the deadline reminders that are due (`remind`, from a timer)."""


@documents.command("remind")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: due_soon, overdue, mailed.")
@click.pass_obj
def remind(instance: Instance, as_json: bool) -> None:
    """Send the reminders that are due: each step's official, once before its deadline and once when overdue.

    Safe to run as often as you like and on several hosts at once: each reminder is sent once. Exits after the
    e-mails were handed to the SMTP server (or given up, which is logged and audited).
    """
    from signing.documents.reminders import send_reminders

    try:
        run = send_reminders(instance)
    except (DatabaseUnavailableError, DirectoryError) as err:
        raise click.ClickException(f"{type(err).__name__}: {err}") from None
    mailer = mailer_for(instance)
    if not mailer.wait_until_sent(timeout=instance.settings.mail.timeout_seconds * max(1, run.mailed) + 5):
        click.echo("warning: some e-mails were still being sent when the command gave up waiting", err=True)
    if as_json:
        click.echo(json.dumps(run.as_dict()))
    else:
        click.echo(f"reminded: {run.due_soon} due soon, {run.overdue} overdue; {run.mailed} e-mail(s) sent")
