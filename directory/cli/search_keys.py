"""``antin directory search-keys``: write the officials' search keys a directory from before them lacks."""

from __future__ import annotations

import time

import click

from directory.cli.context import json_option, open_directory
from directory.cli.output import echo_json
from directory.search_keys import FIX_COMMAND

__all__ = ["search_keys_command"]


@click.command("search-keys")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: count the officials whose key is missing or stale; exit status 1 when there are any.",
)
@json_option
@click.pass_context
def search_keys_command(ctx: click.Context, check: bool, as_json: bool) -> None:
    """Write each official's search key (folded name and login) where it is missing or stale.

    The managed slapd does it by itself on its first start after an upgrade. Run it after upgrading an outside
    directory whose officials were written before the key existed, and after creating or renaming officials with
    another LDAP tool: the console's and the API's text search find an official only by it. Safe to run again;
    it writes only what differs.
    """
    started = time.perf_counter()
    read, written = open_directory(ctx).refresh_search_keys(write=not check)
    seconds = round(time.perf_counter() - started, 2)
    if check:
        if as_json:
            echo_json({"officials": read, "stale": written, "seconds": seconds})
        elif written:
            click.echo(f"warning: {written} of {read} officials lack their right search key: run `{FIX_COMMAND}`")
        else:
            click.echo(f"every one of {read} officials has its search key ({seconds} s)")
        ctx.exit(1 if written else 0)
    if as_json:
        echo_json({"officials": read, "written": written, "seconds": seconds})
        return
    click.echo(f"{written} of {read} officials given their search key in {seconds} s")
