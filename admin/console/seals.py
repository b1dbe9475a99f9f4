"""Console pages for units' seal certificates: the units in reach with their seal (``/admin/seals``), one unit's seals
(issue a first one), renew and revoke behind a confirmation page (revoking with an RFC 5280 reason).

Every action goes through :class:`~admin.seals.Seals`, which checks the delegation (another province's unit or seal
reads like none) and audits it.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, page_of, state
from admin.errors import ConflictError
from admin.models import AdminAction
from signing.models import CertificateStatus
from signing.pki import REVOCATION_REASONS

__all__ = ["seal_reason_names"]


def seal_reason_names() -> dict[str, str]:
    """The RFC 5280 revocation reasons, as they read for a unit's seal, in the page's language."""
    names = {
        "key-compromise": _("key compromised (the HSM or its PIN exposed)"),
        "affiliation-changed": _("the unit was renamed or moved"),
        "superseded": _("superseded by a new seal"),
        "cessation-of-operation": _("the unit was dissolved or no longer seals"),
        "privilege-withdrawn": _("the right to a seal withdrawn"),
        "unspecified": _("unspecified"),
    }
    return {reason: str(names[reason]) for reason in names if reason in REVOCATION_REASONS}


@bp.get("/seals")
def seals() -> tuple[str, int]:
    service = state().service.seals
    under = request.args.get("unit") or None
    rows = page_of(service.units(actor(), under))
    orphaned = service.orphaned_seals(actor()) if under is None else []  # to the whole directory's readers only
    return page("console/seals.html", rows=rows, under=under, warning_days=service.warning_days, orphaned=orphaned)


def _gone_unit(code: str) -> SimpleNamespace:
    """What a confirmation page names for a seal whose unit is gone: its code, said to be void."""
    return SimpleNamespace(code=code, name=f"{code} ({_('Void: its unit was deleted')})")


@bp.get("/units/<code>/seal")
def seal_of_unit(code: str) -> tuple[str, int]:
    unit, certs = state().service.seals.of_unit(actor(), code)
    has_valid = any(c.status == CertificateStatus.VALID for c in certs)
    return page(
        "console/seal_of_unit.html", unit=unit, certs=certs, has_valid=has_valid, reason_names=seal_reason_names()
    )


@bp.post("/units/<code>/seal")
def issue_seal(code: str) -> Response:
    cert = state().service.seals.issue(actor(), code)
    flash(_("The unit's seal certificate is issued (serial %(serial)s), its key made in the HSM.", serial=cert.serial))
    return redirect(url_for("console.seal_of_unit", code=code))


@bp.route("/seals/<serial>/renew", methods=["GET", "POST"])
def renew_seal(serial: str) -> Response | tuple[str, int]:
    service = state().service.seals
    cert = service.find(actor(), serial, AdminAction.CERTIFICATES_MANAGE)
    code = cert.unit_code or ""
    if request.method == "GET":
        if cert.status == CertificateStatus.REVOKED:
            raise ConflictError(f"seal {cert.serial} is revoked ({cert.revocation_reason}): issue a new one instead")
        if service.is_orphaned(cert):
            raise ConflictError(f"seal {cert.serial} belongs to a unit that is gone: revoke it, nothing renews it")
        unit, _certs = service.of_unit(actor(), code)
        return page("console/confirm_seal.html", cert=cert, unit=unit, renew=True, back=None)
    renewed = service.renew(actor(), serial)
    flash(
        _(
            "The seal is renewed: new key, new certificate (serial %(serial)s); the previous one is revoked as"
            " superseded.",
            serial=renewed.serial,
        )
    )
    return redirect(url_for("console.seal_of_unit", code=code))


@bp.route("/seals/<serial>/revoke", methods=["GET", "POST"])
def revoke_seal(serial: str) -> Response | tuple[str, int]:
    service = state().service.seals
    cert = service.find(actor(), serial, AdminAction.CERTIFICATES_MANAGE)
    code = cert.unit_code or ""
    orphaned = service.is_orphaned(cert)  # its unit is gone: back to the list of seals, not a unit's page
    back = url_for("console.seals") if orphaned else url_for("console.seal_of_unit", code=code)
    if request.method == "GET":
        if cert.status == CertificateStatus.REVOKED:
            raise ConflictError(f"seal {cert.serial} is already revoked ({cert.revocation_reason})")
        unit = _gone_unit(code) if orphaned else service.of_unit(actor(), code)[0]
        reasons = seal_reason_names()
        return page("console/confirm_seal.html", cert=cert, unit=unit, renew=False, reasons=reasons, back=back)
    revoked = service.revoke(actor(), serial, request.form.get("reason", ""))
    flash(_("The seal %(serial)s is revoked: the CRL and OCSP say so at once.", serial=revoked.serial))
    return redirect(back)
