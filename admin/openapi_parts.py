"""The pieces every fragment of the admin API's OpenAPI document builds with (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

__all__ = ["PKI_REFUSALS", "SECURITY", "json_of", "problem", "ref"]

SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def problem(description: str) -> dict[str, Any]:
    """A problem+json answer."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def json_of(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A JSON answer of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


PKI_REFUSALS = {
    "401": problem("No access token, or one that is invalid, expired or revoked."),
    "403": problem("The token lacks the scope admin, or the caller holds this power on no unit."),
    "503": problem("The directory, the token (HSM) or the CA cannot be reached."),
}
"""What every certificate and seal route may answer besides its own."""
