"""Revocation facts: the signer's status as the validation found it, and where the CRLs and OCSP responses came from."""

from __future__ import annotations

from typing import Any

from pyhanko.sign.validation.ades import AdESBasicValidationResult
from pyhanko.sign.validation.status import SignatureStatus
from pyhanko_certvalidator.errors import InsufficientRevinfoError

__all__ = ["revocation_facts", "revocation_missing", "revocation_sources"]


def revocation_facts(status: SignatureStatus | None, sub_indication: str) -> dict[str, Any]:
    """The signer's revocation status (and date and reason when revoked), as ``SignatureFacts`` fields."""
    if status is not None and status.revocation_details is not None:
        details = status.revocation_details
        return {
            "revocation_status": "revoked",
            "revocation_time": details.revocation_date,
            "revocation_reason": str(details.revocation_reason.native),
        }
    if sub_indication in ("REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"):
        return {"revocation_status": "revoked"}
    if sub_indication in ("TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"):
        return {"revocation_status": "unknown"}
    if status is not None and status.validation_path is not None and status.trust_problem_indic is None:
        # The path to an anchor validated under hard-fail: every certificate's revocation status was good.
        # (A path is also reported when its validation failed, so the path alone proves nothing.)
        return {"revocation_status": "good"}
    return {"revocation_status": "not-checked"}


def revocation_sources(result: AdESBasicValidationResult[Any] | None, fetched: bool) -> tuple[str, ...]:
    """Which kinds of revocation data the validation used (CRL, OCSP) and where they may have come from."""
    if result is None:
        return ()
    sources: set[str] = set()
    origin = "document or fetched" if fetched else "document"
    for vo in result.validation_objects:
        kind = getattr(vo.object_type, "name", "")
        if kind == "CRL":
            sources.add(f"CRL ({origin})")
        elif kind == "OCSP_RESPONSE":
            sources.add(f"OCSP ({origin})")
    return tuple(sorted(sources))


def revocation_missing(errors: list[BaseException]) -> bool:
    """Hard-fail found no usable CRL or OCSP response (pyHanko says CERTIFICATE_CHAIN_GENERAL_FAILURE)."""
    return any(isinstance(e, InsufficientRevinfoError) for e in errors)
