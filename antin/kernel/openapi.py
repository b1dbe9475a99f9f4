"""``/api/openapi.json``: one OpenAPI 3.1 document assembled from the fragments each feature registers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

__all__ = ["add_openapi", "init_app"]

bp = Blueprint("openapi", __name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["title", "status"],
}


def add_openapi(
    app: Flask,
    *,
    paths: dict[str, Any],
    schemas: dict[str, Any] | None = None,
    security_schemes: dict[str, Any] | None = None,
) -> None:
    """Merge a feature's paths and components into the instance's API description."""
    doc = app.extensions["antin.openapi"]
    overlap = set(doc["paths"]) & set(paths)
    if overlap:
        raise ValueError(f"API paths described twice: {sorted(overlap)}")
    doc["paths"].update(paths)
    doc["components"]["schemas"].update(schemas or {})
    doc["components"]["securitySchemes"].update(security_schemes or {})


@bp.get("/api/openapi.json")
def openapi_document() -> Response:
    doc = dict(current_app.extensions["antin.openapi"])
    issuer = current_app.extensions["antin.instance"].settings.core.issuer
    doc["servers"] = [{"url": issuer}]
    return jsonify(doc)


def init_app(app: Flask) -> None:
    app.extensions["antin.openapi"] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Ấn Tín API",
            "version": "1",
            "description": "Identity, single sign-on and e-signature services. Errors are application/problem+json.",
        },
        "paths": {},
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}, "securitySchemes": {}},
    }
    app.register_blueprint(bp)
