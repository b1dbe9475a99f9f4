"""What every directory command needs: the instance and its directory from click's context, --json, secrets.

With the managed slapd of the embedded default, a command reuses the running one (``antin demo`` starts it)
or starts it for its own duration.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from antin.kernel.instance import Instance
from directory.instance import directory_service, managed_slapd

if TYPE_CHECKING:
    from directory.service import LdapDirectory

__all__ = ["instance_of", "json_option", "open_directory", "read_secret_stdin"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def instance_of(ctx: click.Context) -> Instance:
    instance = ctx.obj
    if not isinstance(instance, Instance):
        raise click.UsageError("no instance: run this through `antin directory ...`")
    return instance


def open_directory(ctx: click.Context) -> LdapDirectory:
    """The instance's directory; a managed slapd that is not running is started for this command only."""
    instance = instance_of(ctx)
    slapd = managed_slapd(instance)
    if slapd is not None and slapd.ensure_running():
        ctx.call_on_close(slapd.stop)
    return directory_service(instance)


def read_secret_stdin(what: str) -> str:
    line = sys.stdin.readline()
    value = line.rstrip("\r\n")
    if not value:
        raise click.UsageError(f"{what} expected on standard input")
    return value
