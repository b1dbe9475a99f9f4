"""Claims about an official, by scope and by the ``claims`` request parameter.

``sub`` is always the directory's entryUUID, never the login name.
"""

from __future__ import annotations

import json
from typing import Any

from directory.models import Person, UnitRef
from idp.oidc.errors import InvalidClaimsRequestError

__all__ = [
    "CLAIMS_BY_SCOPE",
    "SUPPORTED_CLAIMS",
    "InvalidClaimsRequestError",
    "claims_for",
    "claims_of_scopes",
    "parse_claims_request",
    "requested_claim_names",
]

CLAIMS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "profile": ("name", "family_name", "given_name", "preferred_username", "locale", "zoneinfo"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "party": ("party_unit", "party_unit_path", "party_position", "party_employee_number", "party_groups"),
}
SUPPORTED_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "azp",
    "at_hash",
    *(name for names in CLAIMS_BY_SCOPE.values() for name in names),
)


def parse_claims_request(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise InvalidClaimsRequestError("claims is not JSON") from err
    if not isinstance(value, dict):
        raise InvalidClaimsRequestError("claims must be a JSON object")
    for member in ("userinfo", "id_token"):
        part = value.get(member)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise InvalidClaimsRequestError(f"claims.{member} must be an object")
        for name, spec in part.items():
            if spec is not None and not isinstance(spec, dict):
                raise InvalidClaimsRequestError(f"claims.{member}.{name} must be null or an object")
    return value


def claims_of_scopes(scopes: tuple[str, ...] | frozenset[str] | set[str]) -> set[str]:
    """The user claims these scopes cover."""
    return {name for scope in scopes for name in CLAIMS_BY_SCOPE.get(scope, ())}


def requested_claim_names(claims_request: dict[str, Any] | None, member: str) -> set[str]:
    if not claims_request:
        return set()
    part = claims_request.get(member) or {}
    return set(part) if isinstance(part, dict) else set()


def _unit(ref: UnitRef) -> dict[str, str]:
    return {"dn": ref.dn, "code": ref.code, "name": ref.name, "kind": str(ref.kind)}


def _all_claims(person: Person) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "name": person.display_name or person.full_name,
        "family_name": person.surname,
        "given_name": person.given_name,
        "preferred_username": person.uid,
        "locale": "vi-VN",
        "zoneinfo": "Asia/Ho_Chi_Minh",
    }
    if person.mail:
        # addresses are set by the directory's administrators, not typed in by the official
        claims["email"] = person.mail
        claims["email_verified"] = True
    if person.phone:
        claims["phone_number"] = person.phone
        claims["phone_number_verified"] = True
    if person.unit is not None:
        claims["party_unit"] = _unit(person.unit)
    claims["party_unit_path"] = [_unit(u) for u in person.unit_path]
    if person.position:
        claims["party_position"] = person.position
    if person.employee_number:
        claims["party_employee_number"] = person.employee_number
    claims["party_groups"] = list(person.groups)
    return claims


def claims_for(person: Person, scopes: set[str] | frozenset[str], extra: set[str] | None = None) -> dict[str, Any]:
    """``sub`` plus the claims the scopes grant, plus the individually requested ``extra`` ones we have."""
    available = _all_claims(person)
    wanted: set[str] = set(extra or ())
    for scope in scopes:
        wanted.update(CLAIMS_BY_SCOPE.get(scope, ()))
    out: dict[str, Any] = {"sub": person.entry_uuid}
    out.update({name: value for name, value in available.items() if name in wanted})
    return out
