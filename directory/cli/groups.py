"""``antin directory groups``: groups and roles, and their members (officials or nested groups)."""

from __future__ import annotations

import click

from directory.cli.context import json_option, open_directory
from directory.cli.listeners import announce
from directory.cli.output import echo_json, echo_json_or_text, group_kind, group_line, group_to_json

__all__ = ["groups"]


@click.group()
def groups() -> None:
    """Groups and roles; a group may contain groups."""


@groups.command("list")
@json_option
@click.pass_context
def groups_list(ctx: click.Context, as_json: bool) -> None:
    """List groups and roles."""
    found = open_directory(ctx).list_groups()
    if as_json:
        echo_json([group_to_json(g) for g in found])
        return
    for g in found:
        click.echo(group_line(g))


@groups.command("add")
@click.argument("name")
@click.option("--description", default="")
@click.option("--role", is_flag=True, help="A role (what its members may do) rather than a group.")
@click.option("--unit", help="The unit (and sub-units) a role applies to.")
@json_option
@click.pass_context
def groups_add(ctx: click.Context, *, name: str, description: str, role: bool, unit: str | None, as_json: bool) -> None:
    """Add a group or a role."""
    group = open_directory(ctx).create_group(name, description, is_role=role, unit_code=unit)
    announce(ctx, "directory:group:create", group.name, role=role, unit=unit)
    echo_json_or_text(as_json, group_to_json(group), f"added {group_kind(role)} {group.name}")


@groups.command("show")
@click.argument("name")
@json_option
@click.pass_context
def groups_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a group: direct members and every official in it (nested groups resolved)."""
    d = open_directory(ctx)
    group = d.get_group(name)
    officials = d.group_members(name)
    if as_json:
        echo_json({**group_to_json(group), "officials": [p.uid for p in officials]})
        return
    click.echo(f"{group.name}  ({group_kind(group.is_role)})  {group.description}")
    for dn in group.members:
        click.echo(f"  member: {dn}")
    click.echo(f"  officials ({len(officials)}): " + ", ".join(p.uid for p in officials))


@groups.command("add-member")
@click.argument("group")
@click.argument("uid", required=False)
@click.option("--group", "child", help="Add this group (nested) instead of an official.")
@click.pass_context
def groups_add_member(ctx: click.Context, group: str, uid: str | None, child: str | None) -> None:
    """Add an official (UID) or a group (--group) to GROUP."""
    if (uid is None) == (child is None):
        raise click.UsageError("give either UID or --group NAME")
    open_directory(ctx).add_member(group, uid=uid, group=child)
    announce(ctx, "directory:group:member-add", group, member=uid or f"group:{child}")
    click.echo(f"added {uid or child} to {group}")


@groups.command("remove-member")
@click.argument("group")
@click.argument("uid", required=False)
@click.option("--group", "child", help="Remove this group instead of an official.")
@click.pass_context
def groups_remove_member(ctx: click.Context, group: str, uid: str | None, child: str | None) -> None:
    """Remove an official (UID) or a group (--group) from GROUP."""
    if (uid is None) == (child is None):
        raise click.UsageError("give either UID or --group NAME")
    open_directory(ctx).remove_member(group, uid=uid, group=child)
    announce(ctx, "directory:group:member-remove", group, member=uid or f"group:{child}")
    click.echo(f"removed {uid or child} from {group}")


@groups.command("delete")
@click.argument("name")
@click.pass_context
def groups_delete(ctx: click.Context, name: str) -> None:
    """Delete a group or role."""
    open_directory(ctx).delete_group(name)
    announce(ctx, "directory:group:delete", name)
    click.echo(f"deleted {name}")
