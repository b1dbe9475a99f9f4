"""Console pages that register a client and edit one (against the version read).

Both go through :class:`~admin.clients.Clients`, which checks the delegation and the provider's rules and audits
the change. A refused form comes back with what was typed and a clear message; an edit made against a version
someone else changed meanwhile comes back with the current registration beside what was typed, nothing saved.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.clients import ClientMetadataError, PlatformOnlyError, client_etag
from admin.console.pages import actor, bp, page, state
from admin.errors import AdminError, OutOfReachError, PreconditionFailedError, TakenError
from idp.oidc.acr import ACR_VALUES
from idp.oidc.clients import GRANT_TYPES, SUPPORTED_SCOPES, ClientRecord, ClientSpec

__all__: list[str] = []

# what the form offers for the token endpoint: the kind of client follows from it ("none": public, PKCE only)
FORM_METHODS = ("client_secret_basic", "client_secret_post", "none")
# the fields compared on a conflict, in the form's order
COMPARED = (
    "name",
    "unit_code",
    "auth_method",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "scopes",
    "grant_types",
    "required_acr",
    "home_url",
    "trusted",
)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _typed() -> dict[str, Any]:
    form = request.form
    return {
        "name": form.get("name", "").strip(),
        "unit_code": form.get("unit", "").strip(),
        "auth_method": form.get("auth_method", "client_secret_basic"),
        "redirect_uris": _lines(form.get("redirect_uris", "")),
        "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris", "")),
        "backchannel_logout_uri": form.get("backchannel_logout_uri", "").strip() or None,
        "scopes": tuple(form.getlist("scope")),
        "grant_types": tuple(form.getlist("grant_type")),
        "required_acr": form.get("required_acr") or None,
        "home_url": form.get("home_url", "").strip() or None,
        "trusted": form.get("trusted") == "on",
    }


def _values_of(record: ClientRecord) -> dict[str, Any]:
    spec = record.as_spec()
    return {name: getattr(spec, name) for name in COMPARED}


def _defaults(unit: str) -> dict[str, Any]:
    """What a new registration's form starts with: a confidential web application signing officials in."""
    return {
        "name": "",
        "unit_code": unit,
        "auth_method": "client_secret_basic",
        "redirect_uris": (),
        "post_logout_redirect_uris": (),
        "backchannel_logout_uri": None,
        "scopes": ("openid", "profile"),
        "grant_types": ("authorization_code", "refresh_token"),
        "required_acr": None,
        "home_url": None,
        "trusted": False,
    }


def _problem(err: AdminError) -> str:
    """What to tell the administrator, in the page's language; the service's own words go beside it."""
    if isinstance(err, TakenError):
        return str(_("Another application already has this client id."))
    if isinstance(err, OutOfReachError):
        return str(_("There is no such unit among the units whose applications you manage."))
    if isinstance(err, PlatformOnlyError):
        return str(
            _(
                "Only an application manager of the whole platform may make an application trusted, give it the "
                "signing or administration scopes, or point it at addresses on the platform's own network."
            )
        )
    if isinstance(err, ClientMetadataError):
        if err.inward:
            return str(
                _(
                    "The platform does not send requests to this address: it leads to the platform's own or a "
                    "private network. The operator may allow it (ANTIN_SERVER_OUTBOUND_ALLOW)."
                )
            )
        if err.field.endswith("uris") or err.field.endswith("uri") or err.field == "home_url":
            return str(
                _(
                    "An address cannot be accepted: it must be a full https address (http only to localhost), "
                    "without a # part."
                )
            )
        return str(_("A value cannot be accepted."))
    return str(_("This cannot be done."))


def _form(template_status: int = 200, **context: Any) -> tuple[str, int]:
    clients = state().service.clients
    return page(
        "console/client_form.html",
        template_status,
        methods=FORM_METHODS,
        scopes=SUPPORTED_SCOPES,
        grant_types=GRANT_TYPES,
        levels=ACR_VALUES,
        platform_powers=clients.may_give_platform_powers(actor()),
        units=clients.units_for(actor()),
        **context,
    )


@bp.route("/clients/new", methods=["GET", "POST"])
def new_client() -> Response | tuple[str, int]:
    clients = state().service.clients
    if request.method == "GET":
        unit = clients.unit_for_new(actor(), request.args.get("unit") or None)
        return _form(values=_defaults(unit), client=None)
    typed = _typed()
    method = typed.pop("auth_method")
    unit = typed.pop("unit_code")
    spec = ClientSpec(**typed, auth_method=method, public=method == "none")
    try:
        record, secret = clients.register(actor(), spec, unit=unit or None)
    except (ClientMetadataError, TakenError, PlatformOnlyError, OutOfReachError) as err:
        values = {**typed, "auth_method": method, "unit_code": unit}
        return _form(err.status, values=values, client=None, problem=_problem(err), problem_detail=str(err))
    if secret is None:
        flash(_("%(name)s is registered.", name=record.name))
        return redirect(url_for("console.client", client_id=record.client_id))
    # shown on this page only: the platform keeps a digest, and the page is sent with Cache-Control: no-store
    return page("console/client_secret.html", client=record, secret=secret, registered=True)


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
def edit_client(client_id: str) -> Response | tuple[str, int]:
    clients = state().service.clients
    record = clients.get(actor(), client_id)
    if request.method == "GET":
        return _form(values=_values_of(record), client=record, version=client_etag(record))
    typed = _typed()
    version = request.form.get("version", "")
    seen = _values_of(record)
    changes = {name: value for name, value in typed.items() if value != seen[name]}
    if "auth_method" in changes:
        changes["public"] = changes["auth_method"] == "none"
    try:
        changed, secret = clients.edit(actor(), client_id, changes, if_match=version, required=True)
    except PreconditionFailedError:
        current = clients.get(actor(), client_id)
        return _form(
            412,
            values=_values_of(current),
            typed=typed,
            client=current,
            version=client_etag(current),
            conflict=True,
        )
    except (ClientMetadataError, PlatformOnlyError, OutOfReachError) as err:
        return _form(
            err.status, values=typed, client=record, version=version, problem=_problem(err), problem_detail=str(err)
        )
    if secret is not None:
        return page("console/client_secret.html", client=changed, secret=secret)
    flash(_("The changes to %(name)s are saved.", name=changed.name))
    return redirect(url_for("console.client", client_id=client_id))
