"""``antin directory``: officials, units, groups, import/export and the managed slapd, from the shell.

Every command works on the instance named by the settings (``ctx.obj`` is the Instance). With the managed
slapd of the embedded default, a command reuses the running one (``antin demo`` starts it) or starts it for
its own duration. Errors are one line on stderr and exit status 1 (2 for usage errors), never a traceback.

One module per command group (``users``, ``units``, ``groups``; ``server``, ``import_export`` and ``populate``
for the commands directly under ``antin directory``); ``context`` is what they all need of click's context,
``output`` how they print, ``listeners`` who hears of their changes.
"""

from __future__ import annotations

from typing import Any

import click

from directory.cli.groups import groups
from directory.cli.import_export import export, import_
from directory.cli.listeners import ChangeListener, change_listeners
from directory.cli.output import group_to_json, person_to_json, unit_to_json
from directory.cli.populate import generate, seed_demo_command
from directory.cli.search_keys import search_keys_command
from directory.cli.server import schema, serve
from directory.cli.units import units
from directory.cli.users import users
from directory.errors import DirectoryError

__all__ = ["ChangeListener", "change_listeners", "directory", "group_to_json", "person_to_json", "unit_to_json"]


class _DirectoryGroup(click.Group):
    """Turns directory errors into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DirectoryError as err:
            raise click.ClickException(str(err)) from None


@click.group(cls=_DirectoryGroup)
def directory() -> None:
    """Officials, Party units, groups and roles in the LDAP directory."""


for _command in (
    serve,
    schema,
    users,
    units,
    groups,
    import_,
    export,
    generate,
    seed_demo_command,
    search_keys_command,
):
    directory.add_command(_command)
