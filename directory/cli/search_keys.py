"""``antin directory search-keys``: write the officials' search keys a directory from before them lacks."""

from __future__ import annotations

import time

import click

from directory.cli.context import json_option, open_directory
from directory.cli.output import echo_json

__all__ = ["search_keys_command"]


@click.command("search-keys")
@json_option
@click.pass_context
def search_keys_command(ctx: click.Context, as_json: bool) -> None:
    """Write each official's search key (folded name and login) where it is missing or stale.

    Run it once after upgrading a directory whose officials were written before the key existed (and after
    changing names with another LDAP tool): the console's and the API's text search find an official only by it.
    Safe to run again; it writes only what differs.
    """
    started = time.perf_counter()
    read, written = open_directory(ctx).refresh_search_keys()
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        echo_json({"officials": read, "written": written, "seconds": seconds})
        return
    click.echo(f"{written} of {read} officials given their search key in {seconds} s")
