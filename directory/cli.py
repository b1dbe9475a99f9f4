"""``antin directory``: officials, units, groups, import/export and the managed slapd, from the shell.

Every command works on the instance named by the settings (``ctx.obj`` is the Instance). With the managed
slapd of the embedded default, a command reuses the running one (``antin demo`` starts it) or starts it for
its own duration. Errors are one line on stderr and exit status 1 (2 for usage errors), never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from antin.kernel.instance import Instance
from directory.errors import DirectoryError
from directory.instance import directory_service, managed_slapd
from directory.models import AccountStatus, Group, NewPerson, Person, PersonChanges, Unit, UnitKind

if TYPE_CHECKING:
    from directory.service import LdapDirectory

__all__ = ["ChangeListener", "change_listeners", "directory", "group_to_json", "person_to_json", "unit_to_json"]

F = TypeVar("F", bound=Callable[..., Any])


# (click context, event name "directory:<subject>:<action>", subject, details): the composition root may
# register one that writes the audit log (directory/ cannot import idp); names match antin.kernel.audit.events.
ChangeListener = Callable[[click.Context, str, str, dict[str, Any]], None]
change_listeners: list[ChangeListener] = []


def announce(ctx: click.Context, event: str, subject: str, **details: Any) -> None:
    """Tell the registered listeners about a change this command made (never passwords)."""
    for listener in change_listeners:
        listener(ctx, event, subject, details)


class _DirectoryGroup(click.Group):
    """Turns directory errors into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DirectoryError as err:
            raise click.ClickException(str(err)) from None


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


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def read_secret_stdin(what: str) -> str:
    line = sys.stdin.readline()
    value = line.rstrip("\r\n")
    if not value:
        raise click.UsageError(f"{what} expected on standard input")
    return value


# -- JSON shapes --------------------------------------------------------------------------------------------


def person_to_json(p: Person) -> dict[str, Any]:
    return {
        "uid": p.uid,
        "dn": p.dn,
        "entry_uuid": p.entry_uuid,
        "name": p.full_name,
        "surname": p.surname,
        "given_name": p.given_name,
        "mail": p.mail,
        "phone": p.phone,
        "employee_number": p.employee_number,
        "party_card": p.party_card_number,
        "position": p.position,
        "status": p.status.value,
        "unit": p.unit.code if p.unit else None,
        "unit_path": [{"code": u.code, "name": u.name, "kind": u.kind.value} for u in p.unit_path],
        "groups": list(p.groups),
        "locked": p.locked,
        "must_change_password": p.must_change_password,
    }


def unit_to_json(u: Unit) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "kind": u.kind.value,
        "parent": u.parent_code,
        "dn": u.dn,
        "description": u.description,
    }


def group_to_json(g: Group) -> dict[str, Any]:
    data = asdict(g)
    data["members"] = list(g.members)
    return data


def show_person(p: Person, as_json: bool) -> None:
    if as_json:
        echo_json(person_to_json(p))
        return
    click.echo(f"{p.uid}  {p.full_name}  [{p.status.value}{', locked' if p.locked else ''}]")
    if p.unit_path:
        click.echo("  unit: " + " < ".join(f"{u.name} ({u.code})" for u in p.unit_path))
    for label, value in (
        ("position", p.position),
        ("mail", p.mail),
        ("phone", p.phone),
        ("employee number", p.employee_number),
        ("party card", p.party_card_number),
        ("groups", ", ".join(p.groups)),
        ("entryUUID", p.entry_uuid),
    ):
        if value:
            click.echo(f"  {label}: {value}")
    if p.must_change_password:
        click.echo("  must change the password at the next login")


# -- the group ---------------------------------------------------------------------------------------------


@click.group(cls=_DirectoryGroup)
def directory() -> None:
    """Officials, Party units, groups and roles in the LDAP directory."""


@directory.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the managed slapd in the foreground until Ctrl-C."""
    slapd = managed_slapd(instance_of(ctx))
    if slapd is None:
        raise click.ClickException("ANTIN_DIRECTORY_MANAGED is false: the directory is an outside server")
    click.echo(f"slapd for {slapd.base_dn} on {', '.join(slapd.uris)} (Ctrl-C stops it)", err=True)
    until = ctx.meta.get("antin.stop_requested")
    slapd.serve(until=until if callable(until) else lambda: False)


@directory.command()
@click.option("--ldif", "as_ldif", is_flag=True, help="The cn=config form, for ldapadd on a production server.")
def schema(as_ldif: bool) -> None:
    """Print the project's LDAP schema."""
    from directory.slapd_config import schema_as_ldif, schema_text

    click.echo(schema_as_ldif() if as_ldif else schema_text(), nl=False)


# -- users -----------------------------------------------------------------------------------------------------


@directory.group()
def users() -> None:
    """Officials: add, show, list, modify, move, disable, passwords."""


@users.command("add")
@click.option("--uid", required=True, help="Login name (a-z, 0-9, . _ -).")
@click.option("--name", "full_name", required=True, help='Full name, e.g. "Nguyễn Văn An".')
@click.option("--unit", required=True, help="Code of the official's unit.")
@click.option("--password-stdin", is_flag=True, help="Read the initial password from standard input.")
@click.option("--mail")
@click.option("--employee-number")
@click.option("--position", help='Position, e.g. "Chánh Văn phòng".')
@click.option("--phone")
@click.option("--party-card", help="Party card number.")
@click.option("--must-change", is_flag=True, help="The official must change the password at first login.")
@json_option
@click.pass_context
def users_add(
    ctx: click.Context,
    *,
    uid: str,
    full_name: str,
    unit: str,
    password_stdin: bool,
    mail: str | None,
    employee_number: str | None,
    position: str | None,
    phone: str | None,
    party_card: str | None,
    must_change: bool,
    as_json: bool,
) -> None:
    """Add an official."""
    password = read_secret_stdin("a password") if password_stdin else None
    d = open_directory(ctx)
    person = d.create_person(
        NewPerson(
            uid=uid,
            full_name=full_name,
            unit_code=unit,
            password=password,
            mail=mail,
            phone=phone,
            employee_number=employee_number,
            party_card_number=party_card,
            position=position,
            must_change_password=must_change,
        )
    )
    announce(ctx, "directory:user:create", person.uid, unit=unit)
    if as_json:
        echo_json(person_to_json(person))
    else:
        click.echo(f"added {person.uid} ({person.full_name}) to {unit}")


@users.command("show")
@click.argument("login")
@json_option
@click.pass_context
def users_show(ctx: click.Context, login: str, as_json: bool) -> None:
    """Show an official by uid, e-mail, employee number or entryUUID."""
    d = open_directory(ctx)
    person = d.find_by_login(login) or d.find_by_employee_number(login) or d.find_by_uuid(login)
    if person is None:
        raise click.ClickException(f"no official {login!r}")
    show_person(person, as_json)


@users.command("list")
@click.option("--unit", help="Only this unit (and its sub-units).")
@click.option("--search", "text", help="Text in the uid, name, e-mail or employee number.")
@click.option("--status", type=click.Choice([s.value for s in AccountStatus]))
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many.")
@json_option
@click.pass_context
def users_list(
    ctx: click.Context, *, unit: str | None, text: str | None, status: str | None, limit: int | None, as_json: bool
) -> None:
    """List officials."""
    d = open_directory(ctx)
    people: list[Person] = []
    cookie: bytes | None = None
    while True:
        page = d.search_people(text, unit_code=unit, status=AccountStatus(status) if status else None, cookie=cookie)
        people += page.items
        cookie = page.cookie
        if cookie is None or (limit is not None and len(people) >= limit):
            break
    if limit is not None:
        people = people[:limit]
    if as_json:
        echo_json([person_to_json(p) for p in people])
        return
    for p in people:
        unit_code = p.unit.code if p.unit else "-"
        click.echo(f"{p.uid:<24} {p.full_name:<32} {unit_code:<16} {p.status.value}")


@users.command("modify")
@click.argument("uid")
@click.option("--name", "full_name")
@click.option("--mail", help='"" removes it.')
@click.option("--employee-number")
@click.option("--position")
@click.option("--phone")
@click.option("--party-card")
@json_option
@click.pass_context
def users_modify(
    ctx: click.Context,
    *,
    uid: str,
    full_name: str | None,
    mail: str | None,
    employee_number: str | None,
    position: str | None,
    phone: str | None,
    party_card: str | None,
    as_json: bool,
) -> None:
    """Change an official's details."""
    d = open_directory(ctx)
    person = d.modify_person(
        uid,
        PersonChanges(
            full_name=full_name,
            mail=mail,
            phone=phone,
            employee_number=employee_number,
            party_card_number=party_card,
            position=position,
        ),
    )
    announce(ctx, "directory:user:modify", person.uid)
    show_person(person, as_json)


@users.command("move")
@click.argument("uid")
@click.option("--unit", required=True, help="Code of the new unit.")
@json_option
@click.pass_context
def users_move(ctx: click.Context, uid: str, unit: str, as_json: bool) -> None:
    """Move an official to another unit (entryUUID and groups stay)."""
    person = open_directory(ctx).move_person(uid, unit)
    announce(ctx, "directory:user:move", person.uid, unit=unit)
    show_person(person, as_json)


@users.command("disable")
@click.argument("uid")
@click.option("--retired", is_flag=True, help="Retired rather than suspended.")
@json_option
@click.pass_context
def users_disable(ctx: click.Context, uid: str, retired: bool, as_json: bool) -> None:
    """Suspend (or retire) an official: every login is refused."""
    status = AccountStatus.RETIRED if retired else AccountStatus.SUSPENDED
    person = open_directory(ctx).disable(uid, status)
    announce(ctx, "directory:user:disable", person.uid, status=status.value)
    show_person(person, as_json)


@users.command("enable")
@click.argument("uid")
@json_option
@click.pass_context
def users_enable(ctx: click.Context, uid: str, as_json: bool) -> None:
    """Make a suspended or retired official active again."""
    person = open_directory(ctx).enable(uid)
    announce(ctx, "directory:user:enable", person.uid)
    show_person(person, as_json)


@users.command("unlock")
@click.argument("uid")
@json_option
@click.pass_context
def users_unlock(ctx: click.Context, uid: str, as_json: bool) -> None:
    """Lift a lockout after too many failed logins."""
    person = open_directory(ctx).unlock(uid)
    announce(ctx, "directory:account:unlock", person.uid)
    show_person(person, as_json)


@users.command("delete")
@click.argument("uid")
@click.pass_context
def users_delete(ctx: click.Context, uid: str) -> None:
    """Delete an official (groups lose the membership)."""
    open_directory(ctx).delete_person(uid)
    announce(ctx, "directory:user:delete", uid)
    click.echo(f"deleted {uid}")


@users.command("reset-password")
@click.argument("uid")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option("--no-must-change", is_flag=True, help="Do not make the official change it at the next login.")
@json_option
@click.pass_context
def users_reset_password(
    ctx: click.Context, uid: str, password_stdin: bool, no_must_change: bool, as_json: bool
) -> None:
    """Set a new password as an administrator (generated by the server unless given)."""
    password = read_secret_stdin("a password") if password_stdin else None
    generated = open_directory(ctx).reset_password(uid, password, must_change=not no_must_change)
    announce(ctx, "directory:password:reset", uid, must_change=not no_must_change, generated=generated is not None)
    if as_json:
        echo_json({"uid": uid, "generated_password": generated, "must_change": not no_must_change})
    elif generated:
        click.echo(generated)
    else:
        click.echo(f"password of {uid} reset")


@users.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the old and the new password, one per line.")
@click.pass_context
def users_passwd(ctx: click.Context, login: str, password_stdin: bool) -> None:
    """Change one's own password (the old one is checked by the server)."""
    if password_stdin:
        old = read_secret_stdin("the old password")
        new = read_secret_stdin("the new password")
    else:
        old = click.prompt("Old password", hide_input=True)
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    open_directory(ctx).change_own_password(login, old, new)
    announce(ctx, "login:password:change", login, via="cli")
    click.echo("password changed")


# -- units ------------------------------------------------------------------------------------------------------


@directory.group()
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
        depth = u.dn.lower().count("antinunitcode=") - 1
        click.echo(f"{'  ' * depth}{u.code:<16} {u.name}  ({u.kind.value})")


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
    if as_json:
        echo_json(unit_to_json(unit))
    else:
        click.echo(f"added unit {unit.code} ({unit.name})")


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
    click.echo("  path: " + " < ".join(f"{u.name} ({u.code})" for u in path))


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
    if as_json:
        echo_json(unit_to_json(unit))
    else:
        click.echo(f"moved {unit.code} under {unit.parent_code or 'the top'}")


@units.command("delete")
@click.argument("code")
@click.pass_context
def units_delete(ctx: click.Context, code: str) -> None:
    """Delete a unit that holds nothing."""
    open_directory(ctx).delete_unit(code)
    announce(ctx, "directory:unit:delete", code)
    click.echo(f"deleted unit {code}")


# -- groups ------------------------------------------------------------------------------------------------------


@directory.group()
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
        kind = "role" if g.is_role else "group"
        scope = f" unit {g.unit_code}" if g.unit_code else ""
        click.echo(f"{g.name:<28} {kind}{scope}  {len(g.members)} members  {g.description}")


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
    if as_json:
        echo_json(group_to_json(group))
    else:
        click.echo(f"added {'role' if role else 'group'} {group.name}")


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
    click.echo(f"{group.name}  ({'role' if group.is_role else 'group'})  {group.description}")
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


# -- import, export, generate, demo ---------------------------------------------------------------------------


@directory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "ldif"]), default="auto")
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
@click.option("--skip-invalid", is_flag=True, help="Apply the valid rows even when some are rejected.")
@json_option
@click.pass_context
def import_(ctx: click.Context, *, file: Path, fmt: str, dry_run: bool, skip_invalid: bool, as_json: bool) -> None:
    """Import officials (CSV, UTF-8) or units, officials and groups (LDIF).

    Every row is validated first. With rejected rows nothing is written unless --skip-invalid is given.
    CSV columns: uid,name,unit,mail,employee_number,position,phone,party_card,status[,password].
    """
    from directory.transfer import apply_plan, plan_import, read_rows

    if fmt == "auto":
        fmt = "ldif" if file.suffix.lower() == ".ldif" else "csv"
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise click.ClickException(f"{file} is not UTF-8 (byte {err.start})") from None
    rows, rejected = read_rows(text, "ldif" if fmt == "ldif" else "csv")
    d = open_directory(ctx)
    plan = plan_import(d, rows, rejected)
    report: dict[str, Any] = {
        "file": str(file),
        "dry_run": dry_run,
        "create": plan.count("create"),
        "update": plan.count("update"),
        "unchanged": plan.count("unchanged"),
        "rejected": [{"line": r.line, "key": r.key, "reason": r.reason} for r in plan.rejections],
        "changes": [
            {"line": op.line, "kind": op.kind, "key": op.key, "action": op.action, "fields": list(op.changes)}
            for op in plan.operations
            if op.action != "unchanged"
        ],
        "applied": 0,
    }
    for r in plan.rejections:
        click.echo(f"{file.name}:{r.line}: rejected {r.key}: {r.reason}", err=True)
    blocked = bool(plan.rejections) and not skip_invalid
    if dry_run or blocked:
        report["status"] = "dry-run" if dry_run else "nothing applied: fix the rejected rows or use --skip-invalid"
        _print_import_report(report, as_json)
        if plan.rejections:
            ctx.exit(1)
        return
    todo = [op for op in plan.operations if op.action != "unchanged"]
    with click.progressbar(length=len(todo), label="importing", file=sys.stderr) as bar:
        result = apply_plan(plan, progress=lambda op: bar.update(1))
    report["applied"] = len(result.applied)
    if result.applied:
        announce(ctx, "directory:entries:import", file.name, applied=len(result.applied))
    if result.failed is not None:
        report["status"] = (
            f"stopped at line {result.failed.line} ({result.failed.key}): {result.error}; "
            f"{len(result.applied)} applied, {len(result.not_attempted) + 1} not applied"
        )
        report["not_applied"] = [op.line for op in [result.failed, *result.not_attempted]]
        _print_import_report(report, as_json)
        ctx.exit(1)
    report["status"] = "applied"
    _print_import_report(report, as_json)
    if plan.rejections:
        ctx.exit(1)


def _print_import_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(report)
        return
    verb = "would" if report["dry_run"] else "to"
    click.echo(
        f"{report['file']}: {verb} create {report['create']}, update {report['update']}, "
        f"unchanged {report['unchanged']}, rejected {len(report['rejected'])}; applied {report['applied']}"
    )
    if report["dry_run"]:
        for change in report["changes"]:
            fields = f" ({', '.join(change['fields'])})" if change["fields"] else ""
            click.echo(f"  line {change['line']}: {change['action']} {change['kind']} {change['key']}{fields}")
    click.echo(report["status"])


@directory.command("export")
@click.option("--format", "fmt", type=click.Choice(["ldif", "csv"]), default="ldif")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.option("--unit", help="CSV only: officials of this unit and its sub-units.")
@click.pass_context
def export(ctx: click.Context, fmt: str, output: Path | None, unit: str | None) -> None:
    """Export units, officials and groups (LDIF) or officials (CSV), without passwords."""
    from directory.transfer import export_csv, export_ldif

    d = open_directory(ctx)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        if fmt == "csv":
            for line in export_csv(d.iter_people(unit_code=unit)):
                out.write(line)
        else:
            out.write(export_ldif(d))
    finally:
        if output:
            out.close()


@directory.command()
@click.option("--officials", type=click.IntRange(1, 2_000_000), required=True, help="How many officials.")
@click.option("--seed", type=int, default=2025, help="Random seed (the same seed gives the same directory).")
@click.option("--password-stdin", is_flag=True, help="The password every generated official gets.")
@click.option("--method", type=click.Choice(["auto", "server", "slapadd"]), default="auto")
@json_option
@click.pass_context
def generate(
    ctx: click.Context, *, officials: int, seed: int, password_stdin: bool, method: str, as_json: bool
) -> None:
    """Fill the directory with a realistic synthetic Party organisation, for scale work.

    slapadd (offline, fastest) is used with a managed slapd that is not running; otherwise the entries go
    through the server in batches. Every official gets the same password (printed unless given).
    """
    from directory.generator import DEFAULT_PASSWORD, generate_directory

    password = read_secret_stdin("a password") if password_stdin else DEFAULT_PASSWORD
    slapd = managed_slapd(instance_of(ctx))
    if method == "auto":
        method = "slapadd" if slapd is not None and not slapd.is_running() else "server"
    if method == "slapadd":
        if slapd is None:
            raise click.ClickException("--method slapadd needs the managed slapd")
        summary = generate_directory(
            None, officials=officials, seed=seed, password=password, slapd=slapd, progress=_stderr_progress()
        )
    else:
        summary = generate_directory(
            open_directory(ctx), officials=officials, seed=seed, password=password, progress=_stderr_progress()
        )
    data = {**summary, "password": None if password_stdin else password}
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"generated {summary['units']} units and {summary['officials']} officials "
            f"in {summary['seconds']:.1f} s ({summary['method']})"
        )
        if not password_stdin:
            click.echo(f"every generated official's password: {password}")


def _stderr_progress() -> Callable[[int, int], None]:
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != state["last"]:
            state["last"] = percent
            click.echo(f"\r  {done}/{total} ({percent}%)", err=True, nl=done >= total)

    return report


@directory.command("seed-demo")
@json_option
@click.pass_context
def seed_demo_command(ctx: click.Context, as_json: bool) -> None:
    """Add the demonstration units, officials and roles (idempotent); print the demo accounts."""
    from directory.demo_data import seed_demo

    accounts = seed_demo(open_directory(ctx))
    if as_json:
        echo_json([{"uid": u, "password": p, "role": r} for u, p, r in accounts])
        return
    for uid, password, role in accounts:
        click.echo(f"{uid:<16} {password:<20} {role}")
