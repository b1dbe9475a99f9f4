"""``antin db``: the SQL schema of this instance."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
from alembic import command

from antin.kernel.database import Database
from antin.kernel.instance import Instance
from antin.migrate import alembic_config, current_revision, head_revision, upgrade
from idp.oidc.first_party import ensure_all_registered

__all__ = ["db"]


@click.group()
def db() -> None:
    """Create and upgrade the SQL schema (Alembic migrations)."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(instance: Instance) -> None:
    """Bring the database to the newest schema (safe to run again)."""
    upgrade(instance.database)
    ensure_all_registered(instance)  # the portal and the console sign officials in as clients of the provider
    click.echo(f"database at revision {current_revision(instance.database)}")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def db_status(instance: Instance, as_json: bool) -> None:
    """Show the database's revision and the newest one."""
    current, head = current_revision(instance.database), head_revision(instance.database)
    if as_json:
        click.echo(json.dumps({"current": current, "head": head, "up_to_date": current == head}))
    else:
        click.echo(f"current: {current or '(empty)'}\nnewest:  {head}")
    if current != head:
        raise SystemExit(1)


@db.command("revision", hidden=True)
@click.option("-m", "--message", required=True, help="What the migration does.")
def db_revision(message: str) -> None:
    """(Developers) Write a new migration from the difference between the models and the migrations."""
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}")
        upgrade(database)
        config = alembic_config(database)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True)
        database.dispose()
