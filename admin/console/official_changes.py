"""Console pages that change an official: create, edit (against the version read), move to another unit, unlock,
reset the password (behind a confirmation; the new password shown once).

Every change goes through :class:`~admin.officials.Officials`, which checks the delegation and audits it. A form
with bad input (a login or e-mail already taken, a unit out of reach, an empty name) comes back with what was typed
and a clear message, and nothing is changed; an edit made against a version someone else changed meanwhile comes
back with the current values beside the ones typed, so that nobody overwrites a colleague's change unseen.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, state
from admin.errors import AdminError, NotPermittedError, OutOfReachError, PreconditionFailedError, TakenError
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import NewOfficial, person_etag
from admin.units import UnitTree
from directory.errors import InvalidInputError
from directory.models import Person, PersonChanges, Unit

__all__ = ["EDITABLE", "unit_choices"]

# the fields an administrator edits on an official, in the form's order
EDITABLE = ("full_name", "surname", "given_name", "mail", "phone", "employee_number", "position")


def unit_choices(action: AdminAction = AdminAction.OFFICIALS_WRITE) -> list[tuple[Unit, int]]:
    """The units within the administrator's reach, in tree order, each with its depth (for an indented select).

    The tree is read with units:read; a unit shown here where ``action`` is not held is refused by the service.
    """
    ordered: list[tuple[Unit, int]] = []

    def walk(node: UnitTree, depth: int) -> None:
        ordered.append((node.unit, depth))
        for child in node.children:
            walk(child, depth + 1)

    for top in state().service.units.tree(actor()):
        walk(top, 0)
    return ordered


def _form_values(person: Person) -> dict[str, str]:
    return {name: getattr(person, name) or "" for name in EDITABLE}


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in EDITABLE}


def _problem(err: AdminError | InvalidInputError) -> str:
    """What to tell the administrator about a refused form, in the page's language; the service's own words
    (which value, which rule) are shown beside it, in English, as ``problem_detail``."""
    if isinstance(err, TakenError):
        return str(_("Already taken by someone else."))
    if isinstance(err, OutOfReachError):
        return str(_("There is no such unit among the units you administer."))
    if isinstance(err, InvalidInputError):
        return str(_("This value cannot be stored."))
    return str(_("This cannot be done."))


@bp.route("/officials/<login>/edit", methods=["GET", "POST"])
def edit_official(login: str) -> Response | tuple[str, int]:
    officials = state().service.officials
    person = officials.reachable(actor(), AdminAction.OFFICIALS_WRITE, login)
    if request.method == "GET":
        return page(
            "console/official_edit.html", person=person, values=_form_values(person), version=person_etag(person)
        )
    typed = _typed()
    version = request.form.get("version", "")
    # only what the administrator changed is sent, so that an unchanged full name does not reset the name parts
    seen = _form_values(person)
    changes = PersonChanges(**{k: v for k, v in typed.items() if v != seen[k]})
    try:
        changed = officials.edit(actor(), login, changes, if_match=version, required=True)
    except PreconditionFailedError:
        current = officials.reachable(actor(), AdminAction.OFFICIALS_WRITE, login)
        return page(
            "console/official_edit.html",
            412,
            person=current,
            values=_form_values(current),
            typed=typed,
            version=person_etag(current),
            conflict=True,
        )
    except (TakenError, InvalidInputError) as err:
        status = 409 if isinstance(err, TakenError) else 400
        return page(
            "console/official_edit.html",
            status,
            person=person,
            values=typed,
            version=version,
            problem=_problem(err),
            problem_detail=str(err),
        )
    flash(_("The changes to %(name)s are saved.", name=changed.full_name))
    return redirect(url_for("console.official", login=changed.uid))


@bp.route("/officials/<login>/move", methods=["GET", "POST"])
def move_official(login: str) -> Response | tuple[str, int]:
    officials = state().service.officials
    person = officials.reachable(actor(), AdminAction.OFFICIALS_WRITE, login)
    if request.method == "GET":
        return page("console/official_move.html", person=person, units=unit_choices(), version=person_etag(person))
    unit = request.form.get("unit", "").strip()
    version = request.form.get("version", "")
    try:
        moved = officials.move(actor(), login, unit or ROOT_UNIT, if_match=version or None)
    except PreconditionFailedError:
        current = officials.reachable(actor(), AdminAction.OFFICIALS_WRITE, login)
        problem = _("Someone changed this official meanwhile: check the unit below and choose again.")
        return page(
            "console/official_move.html",
            412,
            person=current,
            units=unit_choices(),
            version=person_etag(current),
            problem=problem,
        )
    except OutOfReachError as err:
        if err.kind != "unit":
            raise
        return page(
            "console/official_move.html",
            404,
            person=person,
            units=unit_choices(),
            version=version,
            problem=_problem(err),
            problem_detail=str(err),
        )
    flash(_("%(name)s now belongs to %(unit)s.", name=moved.full_name, unit=moved.unit.name if moved.unit else "—"))
    return redirect(url_for("console.official", login=moved.uid))


@bp.post("/officials/<login>/unlock")
def unlock_official(login: str) -> Response:
    person = state().service.officials.unlock(actor(), login, if_match=request.form.get("version") or None)
    flash(_("%(name)s can sign in again.", name=person.full_name))
    return redirect(url_for("console.official", login=person.uid))


@bp.route("/officials/<login>/password", methods=["GET", "POST"])
def reset_password(login: str) -> tuple[str, int] | Response:
    officials = state().service.officials
    if request.method == "GET":
        person = officials.reachable(actor(), AdminAction.OFFICIALS_WRITE, login)
        return page(
            "console/confirm_reset_password.html",
            person=person,
            version=person_etag(person),
            can_mail=officials.can_mail_password(person),
        )
    deliver = "mail" if request.form.get("deliver") == "mail" else "show"
    given = officials.reset_password(actor(), login, if_match=request.form.get("version") or None, deliver=deliver)
    if given.delivered == "mail":
        flash(
            _(
                "A new password was e-mailed to %(name)s (%(mail)s).",
                name=given.person.full_name,
                mail=given.person.mail,
            )
        )
        return redirect(url_for("console.official", login=given.person.uid))
    # the one time this password is shown: the platform keeps only the directory's hash
    return page("console/password_shown.html", person=given.person, password=given.password, created=False)


# "-" cannot begin a login (directory.validation.check_uid), so the form never shadows an official named "new"
@bp.route("/officials/-/new", methods=["GET", "POST"])
def create_official() -> tuple[str, int]:
    officials = state().service.officials
    if request.method == "GET":
        preset = request.args.get("unit", "").strip()
        if preset:  # "a new official here", from the units page: the unit must be within reach
            state().service.delegation.authorize_unit(actor(), AdminAction.OFFICIALS_WRITE, preset)
        elif not state().service.delegation.units_holding(actor(), AdminAction.OFFICIALS_WRITE):
            raise NotPermittedError(AdminAction.OFFICIALS_WRITE.value)
        return page("console/official_new.html", units=unit_choices(), values={"unit": preset}, problem=None)
    values = {name: request.form.get(name, "").strip() for name in ("login", "unit", *EDITABLE)}
    try:
        # the unit first: a unit out of reach reads like no unit, whatever else is wrong with the form
        state().service.delegation.authorize_unit(actor(), AdminAction.OFFICIALS_WRITE, values["unit"] or ROOT_UNIT)
        if not values["login"] or not values["full_name"]:
            raise InvalidInputError("login" if not values["login"] else "full_name", "is required")
        given = officials.create(
            actor(),
            NewOfficial(
                login=values["login"],
                full_name=values["full_name"],
                unit_code=values["unit"] or None,
                mail=values["mail"] or None,
                phone=values["phone"] or None,
                employee_number=values["employee_number"] or None,
                position=values["position"] or None,
                surname=values["surname"] or None,
                given_name=values["given_name"] or None,
            ),
        )
    except (TakenError, InvalidInputError, OutOfReachError) as err:
        if isinstance(err, OutOfReachError) and err.kind != "unit":
            raise
        status = {TakenError: 409, OutOfReachError: 404}.get(type(err), 400)
        return page(
            "console/official_new.html",
            status,
            units=unit_choices(),
            values=values,
            problem=_problem(err),
            problem_detail=str(err),
        )
    return page("console/password_shown.html", person=given.person, password=given.password, created=True)
