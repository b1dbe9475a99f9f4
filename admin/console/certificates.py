"""Console pages for signing certificates: an official's (on their page: the list, issue, revoke behind a
confirmation page with an RFC 5280 reason) and the CA's status at ``/admin/pki`` (its certificates' expiry, the OCSP
responder and the TSA asked for real, the CRLs' next update), where the platform administrator renews the OCSP
responder's, the TSA's and the issuing CA's certificates behind a confirmation page.

Every action goes through :class:`~admin.certificates.Certificates`, which checks the delegation (another province's
official or certificate reads like nobody) and has the signing service audit it.
"""

from __future__ import annotations

import logging

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, state
from admin.console.readable import lacking_right
from admin.errors import ConflictError
from admin.models import ROOT_UNIT, AdminAction
from antin.kernel.readable import local_date
from directory.errors import InvalidInputError
from signing.errors import SigningError
from signing.models import CertificateStatus
from signing.pki import RENEWABLE_ROLES, REVOCATION_REASONS

__all__ = ["reason_names"]

log = logging.getLogger(__name__)


def reason_names() -> dict[str, str]:
    """The RFC 5280 revocation reasons an administrator picks from, in the page's language."""
    names = {
        "key-compromise": _("key compromised (lost token, PIN disclosed)"),
        "affiliation-changed": _("affiliation changed (moved to another unit)"),
        "superseded": _("superseded by a new certificate"),
        "cessation-of-operation": _("no longer needed (left the post)"),
        "privilege-withdrawn": _("privilege withdrawn"),
        "unspecified": _("unspecified"),
    }
    return {reason: str(names[reason]) for reason in names if reason in REVOCATION_REASONS}


@bp.errorhandler(SigningError)
def _signing_error(err: SigningError) -> tuple[str, int]:
    """The token (HSM) or the CA refused: a clear page, the signing service's words beside it."""
    log.warning("signing error on a console page: %s", err)
    return page("console/error.html", err.status, code=err.code, detail=str(err))


@bp.post("/officials/<login>/certificates")
def issue_certificate(login: str) -> Response:
    cert = state().service.certificates.issue(actor(), login)
    flash(
        _(
            "A new signing certificate is issued (serial %(serial)s); the previous one is superseded.",
            serial=cert.serial,
        )
    )
    return redirect(url_for("console.official", login=login) + "#certificates")


@bp.route("/certificates/<serial>/revoke", methods=["GET", "POST"])
def revoke_certificate(serial: str) -> Response | tuple[str, int]:
    certificates = state().service.certificates
    cert = certificates.find(actor(), serial, AdminAction.CERTIFICATES_MANAGE)
    login = cert.subject_uid or ""
    if request.method == "GET":
        if cert.status == CertificateStatus.REVOKED:
            raise ConflictError(f"certificate {cert.serial} is already revoked ({cert.revocation_reason})")
        person = certificates.officials.reachable(actor(), AdminAction.CERTIFICATES_MANAGE, login)
        return page("console/confirm_revoke_certificate.html", cert=cert, person=person, reasons=reason_names())
    revoked = certificates.revoke(actor(), serial, request.form.get("reason", ""))
    flash(_("The certificate %(serial)s is revoked: the CRL and OCSP say so at once.", serial=revoked.serial))
    return redirect(url_for("console.official", login=login) + "#certificates")


@bp.get("/pki")
def pki() -> tuple[str, int]:
    if not g.get("console_sees_pki"):  # a unit's administrator who typed the address: say whose page it is
        lacking = lacking_right(f"{AdminAction.CERTIFICATES_READ.value} on {ROOT_UNIT}")
        return page("console/error.html", 403, code="platform-only", detail="", lacking=lacking)
    monitor = state().service.pki
    return page(
        "console/pki.html",
        pki=monitor.status(actor()),
        warning_days=monitor.warning_days,
        may_renew=monitor.may_renew(actor()),
        renewable=RENEWABLE_ROLES,
    )


@bp.route("/pki/renew/<role>", methods=["GET", "POST"])
def renew_pki_certificate(role: str) -> Response | tuple[str, int]:
    """The platform administrator renews the OCSP responder's, the TSA's or the issuing CA's certificate, after a
    confirmation page (the previous certificate stays valid for what it signed)."""
    monitor = state().service.pki
    current = monitor.renewable(actor(), role)
    if request.method == "GET":
        return page("console/confirm_renew_pki.html", cert=current)
    raw = request.form.get("days", "").strip()
    if raw and not raw.isdigit():
        raise InvalidInputError("days", "must be a whole number of days")
    renewal = monitor.renew(actor(), role, days=int(raw) if raw else None)
    flash(
        _(
            "The certificate is renewed: serial %(serial)s, valid until %(end)s, in use now. The previous one "
            "(%(previous)s) stays valid until its end for what it signed.",
            serial=renewal.current.serial,
            end=local_date(renewal.current.not_after),
            previous=renewal.previous.serial,
        )
    )
    return redirect(url_for("console.pki") + "#ca-certificates")
