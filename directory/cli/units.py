"""``antin directory units``: the hierarchy of Party units."""

from __future__ import annotations

import click

from directory.cli.context import json_option, open_directory
from directory.cli.listeners import announce
from directory.cli.output import echo_json, echo_json_or_text, unit_line, unit_path_text, unit_to_json
from directory.models import UnitKind

__all__ = ["units"]


@click.group()
def units() -> None:
    """Party units: a hierarchy of any depth."""


@units.command("list")
@click.option("--parent", help="Only the units under this one.")
@json_option
@click.pass_context
def units_list(ctx: click.Context, parent: str | None, as_json: bool) -> None:
    """List units, parents before children."""
    found = open_directory(ctx).list_units(parent)
    if as_json:
        echo_json([unit_to_json(u) for u in found])
        return
    for u in found:
        click.echo(unit_line(u))


@units.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in UnitKind]))
@click.option("--parent", help="Code of the parent unit; none for a top unit.")
@click.option("--description", default="")
@json_option
@click.pass_context
def units_add(
    ctx: click.Context, *, code: str, name: str, kind: str, parent: str | None, description: str, as_json: bool
) -> None:
    """Add a unit."""
    unit = open_directory(ctx).create_unit(code, name, UnitKind(kind), parent, description)
    announce(ctx, "directory:unit:create", unit.code, parent=parent)
    echo_json_or_text(as_json, unit_to_json(unit), f"added unit {unit.code} ({unit.name})")


@units.command("show")
@click.argument("code")
@json_option
@click.pass_context
def units_show(ctx: click.Context, code: str, as_json: bool) -> None:
    """Show a unit and its path to the root."""
    path = open_directory(ctx).unit_path(code)
    if as_json:
        echo_json({**unit_to_json(path[0]), "path": [unit_to_json(u) for u in path]})
        return
    click.echo(f"{path[0].code}  {path[0].name}  ({path[0].kind.value})")
    click.echo("  path: " + unit_path_text(path))


@units.command("move")
@click.argument("code")
@click.option("--parent", help="Code of the new parent unit.")
@click.option("--top", is_flag=True, help="Make it a top unit.")
@json_option
@click.pass_context
def units_move(ctx: click.Context, code: str, parent: str | None, top: bool, as_json: bool) -> None:
    """Move a unit, with its sub-units and officials, under another one."""
    if (parent is None) == (not top):
        raise click.UsageError("give either --parent CODE or --top")
    unit = open_directory(ctx).move_unit(code, parent)
    announce(ctx, "directory:unit:move", unit.code, parent=parent)
    echo_json_or_text(as_json, unit_to_json(unit), f"moved {unit.code} under {unit.parent_code or 'the top'}")


@units.command("delete")
@click.argument("code")
@click.pass_context
def units_delete(ctx: click.Context, code: str) -> None:
    """Delete a unit that holds nothing."""
    open_directory(ctx).delete_unit(code)
    announce(ctx, "directory:unit:delete", code)
    click.echo(f"deleted unit {code}")
