"""HTTP: units' seal certificates in ``/api/admin`` (routes of :data:`admin.views.bp`, authenticated there): the units
in reach with their seal, one unit's seals, issue, renew, revoke with a reason."""

from __future__ import annotations

from flask import Response, jsonify, request

from admin.seals import seal_json
from admin.views import actor, bp, json_body, state, text_field
from signing.pki import CertificateInfo

__all__: list[str] = []


def _seal(cert: CertificateInfo, status: int = 200) -> Response:
    seals = state().service.seals
    response = jsonify(seal_json(cert, seals.clock(), seals.warning_days, orphaned=seals.is_orphaned(cert)))
    response.status_code = status
    return response


@bp.get("/seals")
def list_seals() -> Response:
    """Every unit in reach (``?unit=CODE``: that unit and the units under it) with its valid seal (null: none);
    ``orphaned``: the valid seals of units that are gone (to who reads certificates on the whole directory only)."""
    seals = state().service.seals
    now = seals.clock()
    under = request.args.get("unit") or None
    items = [
        {
            "unit": u.unit.code,
            "name": u.unit.name,
            "seal": seal_json(u.seal, now, seals.warning_days) if u.seal else None,
        }
        for u in seals.units(actor(), under)
    ]
    gone = [] if under else seals.orphaned_seals(actor())
    return jsonify({"items": items, "orphaned": [seal_json(c, now, seals.warning_days, orphaned=True) for c in gone]})


@bp.get("/units/<code>/seals")
def unit_seals(code: str) -> Response:
    seals = state().service.seals
    unit, certs = seals.of_unit(actor(), code)
    now = seals.clock()
    return jsonify({"unit": unit.code, "items": [seal_json(c, now, seals.warning_days) for c in certs]})


@bp.post("/units/<code>/seals")
def issue_seal(code: str) -> Response:
    """A first seal for the unit, its key made in the token (409 when it has a valid one: renew that)."""
    response = _seal(state().service.seals.issue(actor(), code), 201)
    response.headers["Location"] = f"/api/admin/units/{code}/seals"
    return response


@bp.get("/seals/<serial>")
def get_seal(serial: str) -> Response:
    return _seal(state().service.seals.find(actor(), serial))


@bp.post("/seals/<serial>/renew")
def renew_seal(serial: str) -> Response:
    """A new key and certificate for the seal's unit; this one is revoked as superseded."""
    cert = state().service.seals.renew(actor(), serial)
    response = _seal(cert, 201)
    response.headers["Location"] = f"/api/admin/seals/{cert.serial}"
    return response


@bp.post("/seals/<serial>/revoke")
def revoke_seal(serial: str) -> Response:
    seals = state().service.seals
    seals.find(actor(), serial)  # another province's seal reads like none before the body is judged
    reason = text_field(json_body(), "reason", required=True) or ""
    return _seal(seals.revoke(actor(), serial, reason))
