"""The console's blueprint: sign-in through the platform's provider at the required level, the checks every page
makes, rendering and the error pages.

Every route of the blueprint passes :func:`_require_administrator` first (a blueprint ``before_request``, so a page
added later cannot forget it): no session, or one below ``[admin] console_acr``, is sent to ``/authorize``; an
official who holds no administrative action anywhere gets the 403 page. The service then decides per target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.readable import lacking_right, register_filters
from admin.delegation import Actor
from admin.errors import AdminError, NotPermittedError
from admin.models import ROOT_UNIT, AdminAction
from admin.service import AdminService, admin_service
from admin.settings import AdminSettings
from antin.kernel.instance import Instance
from directory.errors import DirectoryError, InvalidInputError, NotFoundError
from idp.oidc import normalise_acr
from idp.oidc.acr import satisfies
from idp.oidc.first_party import CONSOLE, FirstPartySignIn, SignedIn, SignInError

__all__ = ["SIGN_IN", "ConsoleState", "actor", "bp", "page", "register", "state"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.admin.console"
SIGN_IN = FirstPartySignIn(CONSOLE)
# the only endpoints reachable without an administrator's session: signing in and out, the stylesheet
PUBLIC_ENDPOINTS = frozenset({"console.signin", "console.signin_callback", "console.signout", "console.static"})

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


@dataclass
class ConsoleState:
    service: AdminService
    required_acr: str | None  # None: any level
    page_size: int


def register(app: Flask, instance: Instance) -> None:
    settings = instance.settings.section(AdminSettings)
    required = normalise_acr(settings.console_acr) if settings.console_acr else None
    app.extensions[EXTENSION_KEY] = ConsoleState(admin_service(instance), required, settings.console_page_size)
    app.register_blueprint(bp)
    register_filters(app)


def state() -> ConsoleState:
    found = current_app.extensions[EXTENSION_KEY]
    assert isinstance(found, ConsoleState)
    return found


def actor() -> Actor:
    found = g.console_actor
    assert isinstance(found, Actor)
    return found


def signed_in() -> SignedIn:
    found = g.console_official
    assert isinstance(found, SignedIn)
    return found


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a console page with what every page shows (who is signed in, what they hold)."""
    return render_template(
        template,
        official=g.get("console_official"),
        held={a.value for a in g.get("console_held", set())},
        sees_pki=g.get("console_sees_pki", False),
        status=status,
        **labels(),
        **context,
    ), status


def labels() -> dict[str, dict[str, str]]:
    """What the pages call roles, statuses, levels and factors, in the page's language."""
    return {
        "role_names": {
            "platform-admin": _("platform administrator"),
            "unit-admin": _("unit administrator"),
            "auditor": _("auditor"),
            "certificate-officer": _("certificate officer"),
            "client-manager": _("application manager"),
        },
        "status_names": {"active": _("active"), "suspended": _("suspended"), "retired": _("retired")},
        "level_names": {
            "urn:antin:acr:password": _("password"),
            "urn:antin:acr:mfa": _("two-step"),
            "urn:antin:acr:phishing-resistant": _("security key or passkey"),
            "urn:antin:acr:phishing-resistant-hardware": _("hardware security key"),
        },
        "factor_names": {
            "totp": _("authenticator app"),
            "webauthn": _("security key or passkey"),
            "recovery": _("recovery codes"),
        },
    }


def _here() -> str:
    if request.method != "GET":
        return url_for("console.home")  # a form posted with a stale session starts again from the home page
    return request.full_path if request.query_string else request.path


@bp.before_request
def _require_administrator() -> Response | tuple[str, int] | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    required = state().required_acr
    current = SIGN_IN.current()
    if current is None or not satisfies(current.acr, required):
        # no session, or one too weak: the provider asks only for what is missing (step-up)
        return SIGN_IN.begin(_here(), acr_values=required)
    g.console_official = current
    g.console_actor = state().service.actor(current.sub)
    g.console_held = state().service.delegation.actions_held(g.console_actor)
    if not g.console_held:
        raise NotPermittedError("administer")
    # the CA's status is the platform's: its menu entry only for who reads certificates on the whole directory
    g.console_sees_pki = ROOT_UNIT in state().service.delegation.units_holding(
        g.console_actor, AdminAction.CERTIFICATES_READ
    )
    return None


@dataclass(frozen=True)
class Slice:
    """One page of a list the service gives whole (clients, grants: tens, not thousands)."""

    items: list[Any]
    number: int  # from 1
    more: bool


def page_of(items: list[Any]) -> Slice:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInputError("page", "must be a whole number from 1")
    number, size = int(raw), state().page_size
    start = (number - 1) * size
    return Slice(items[start : start + size], number, len(items) > start + size)


def holds(action: AdminAction) -> bool:
    return action in g.get("console_held", set())


# -- signing in and out ------------------------------------------------------------------------------------


@bp.get("/signin")
def signin() -> Response:
    return SIGN_IN.begin(request.args.get("next"), acr_values=state().required_acr)


@bp.get("/signin/callback")
def signin_callback() -> Response | tuple[str, int]:
    try:
        official, next_path = SIGN_IN.finish()
    except SignInError as failed:
        log.info("console sign-in refused: %s", failed.reason)
        return page("console/signin_refused.html", 400, reason=failed.reason, error=failed.error)
    if not satisfies(official.acr, state().required_acr):
        # the provider may answer below acr_values (they are voluntary): say what is missing, do not loop
        return page("console/level_required.html", 403, required=state().required_acr, achieved=official.acr)
    return redirect(next_path)


@bp.post("/signout")
def signout() -> Response:
    return SIGN_IN.sign_out()


@bp.get("/")
def home() -> tuple[str, int]:
    service = state().service
    grants = service.delegation.grants(actor(), login=signed_in().login)
    names: dict[str, str] = {}
    for grant in grants:
        if grant.unit_code != ROOT_UNIT and not grant.orphaned:  # an orphan's code may name another unit now
            try:
                units = service.officials.directory.unit_path(grant.unit_code)
            except (NotFoundError, InvalidInputError):
                continue  # a unit deleted since the grant: shown by its code
            names[grant.unit_code] = " › ".join(u.name for u in reversed(units))
    recent = service.audit.count_recent(actor(), hours=24) if holds(AdminAction.AUDIT_READ) else None
    return page("console/home.html", grants=grants, unit_paths=names, recent_events=recent, **_expiry_warnings(service))


def _expiry_warnings(service: AdminService) -> dict[str, Any]:
    """The CA certificates (for who sees the CA) and unit seals in reach that expire soon or have expired."""
    ca: list[Any] | None = []
    if g.get("console_sees_pki"):
        try:
            ca = [c for c in service.pki.ca_certificates(actor()) if c.warning]
        except AdminError:
            ca = None  # the CA cannot be read (the HSM down): said on the page, the home still shown
    seals = service.seals.expiring(actor()) if holds(AdminAction.CERTIFICATES_READ) else []
    return {"ca_warnings": ca, "seal_warnings": seals, "warning_days": service.pki.warning_days}


# -- errors ------------------------------------------------------------------------------------------------


@bp.errorhandler(AdminError)
def _admin_error(err: AdminError) -> tuple[str, int]:
    # a refusal says which right is missing, in words (an administrator who holds it can grant it)
    lacking = lacking_right(err.action) if isinstance(err, NotPermittedError) and err.action != "administer" else ""
    return page("console/error.html", err.status, code=err.code, detail=str(err), lacking=lacking)


@bp.errorhandler(InvalidInputError)
def _invalid_input(err: InvalidInputError) -> tuple[str, int]:
    return page("console/error.html", 400, code="invalid-input", detail=str(err))


@bp.errorhandler(DirectoryError)
def _directory_error(err: DirectoryError) -> tuple[str, int]:
    log.warning("directory error on a console page: %s", err)
    return page("console/error.html", 503, code="directory-unavailable", detail="")
