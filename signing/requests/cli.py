"""``antin clients webhook-secret ID``: give a client a new webhook secret, shown once (``antin.cli`` adds it to
the ``clients`` group: the secret is the signing requests' business, the clients are the provider's)."""

from __future__ import annotations

import json

import click

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from idp.oidc import registered_client
from signing.requests.webhooks import WebhookSecrets

__all__ = ["webhook_secret"]


@click.command("webhook-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with the new webhook_secret.")
@click.pass_obj
def webhook_secret(instance: Instance, client_id: str, as_json: bool) -> None:
    """Give a client a new secret for the signatures of its signing requests' webhooks (shown once).

    The old secret stops at once: webhooks sent from now on are signed with the new one.
    """
    if registered_client(instance, client_id) is None:
        raise click.ClickException(f"no active client {client_id!r}")
    secret = WebhookSecrets(instance).rotate(client_id)
    instance.audit.record(AuditEvent.SIGNING_WEBHOOK_SECRET, actor="cli", subject=f"client:{client_id}")
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "webhook_secret": secret}))
    else:
        click.echo(f"webhook secret of {client_id} (shown once): {secret}")
