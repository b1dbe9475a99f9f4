"""HTTP: officials' signing certificates and the CA's status in ``/api/admin`` (routes of :data:`admin.views.bp`,
authenticated there)."""

from __future__ import annotations

import logging

from flask import Response, jsonify

from admin.certificates import certificate_json
from admin.views import actor, bp, json_body, problem, state, text_field
from directory.errors import InvalidInputError
from signing.errors import SigningError

__all__: list[str] = []

log = logging.getLogger(__name__)


@bp.errorhandler(SigningError)
def _signing_error(err: SigningError) -> Response:
    """The token or the CA refused (the HSM unreachable, a key gone): said as the signing API says it."""
    log.warning("signing error during an admin request: %s", err)
    return problem(err.status, err.code, "Signing service error", str(err))


@bp.get("/officials/<login>/certificates")
def official_certificates(login: str) -> Response:
    certs = state().service.certificates.of_official(actor(), login)
    return jsonify({"items": [certificate_json(c) for c in certs]})


@bp.post("/officials/<login>/certificates")
def issue_certificate(login: str) -> Response:
    """A new signing certificate, its key made in the token; the official's previous valid one is superseded."""
    cert = state().service.certificates.issue(actor(), login)
    response = jsonify(certificate_json(cert))
    response.status_code = 201
    response.headers["Location"] = f"/api/admin/officials/{login}/certificates"
    return response


@bp.post("/certificates/<serial>/revoke")
def revoke_certificate(serial: str) -> Response:
    certificates = state().service.certificates
    certificates.find(actor(), serial)  # another province's certificate reads like none before the body is judged
    reason = text_field(json_body(), "reason", required=True) or ""
    return jsonify(certificate_json(certificates.revoke(actor(), serial, reason)))


@bp.get("/pki")
def pki_status() -> Response:
    """The CA's certificates with the days each has left, the OCSP responder and the TSA asked for real, the CRLs'
    next update; the platform's alone."""
    return jsonify(state().service.pki.status(actor()).as_json())


@bp.post("/pki/renew/<role>")
def renew_pki_certificate(role: str) -> Response:
    """Renew the OCSP responder's, the TSA's or the issuing CA's certificate (the platform administrator's alone)."""
    monitor = state().service.pki
    monitor.renewable(actor(), role)  # the caller's right and the role first, the body after
    days = json_body(optional=True).get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInputError("days", "must be a whole number of days")
    renewal = monitor.renew(actor(), role, days=days)
    return jsonify(
        {
            "role": renewal.role,
            "previous": certificate_json(renewal.previous),
            "current": certificate_json(renewal.current),
            "capped_at_issuer_expiry": renewal.capped,
        }
    )
