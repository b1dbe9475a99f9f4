"""``antin directory users``: officials, their details, status and passwords."""

from __future__ import annotations

import click

from directory.cli.context import json_option, open_directory, read_secret_stdin
from directory.cli.listeners import announce
from directory.cli.output import echo_json, echo_json_or_text, person_line, person_to_json, show_person
from directory.models import AccountStatus, NewPerson, Person, PersonChanges

__all__ = ["users"]


@click.group()
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
    echo_json_or_text(as_json, person_to_json(person), f"added {person.uid} ({person.full_name}) to {unit}")


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
@click.option(
    "--search", "text", help="Part of a name (diacritics optional) or of a uid; a whole e-mail or employee number."
)
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
        click.echo(person_line(p))


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
