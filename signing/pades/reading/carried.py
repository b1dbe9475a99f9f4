"""What a signature's CMS carries beside the signature: certificates and the revocation data of Adobe's
``adbe-revocationInfoArchival`` attribute, counted before pyHanko reads any of it.

pyHanko files every certificate a CMS carries (matching each one's names, prepared per RFC 4518, against the
signer's), so a signature carrying 3,000 made-up certificates cost 10–14 s of validation. A real signature carries
its chain: a handful. Past the policy's limits the signature is not validated at all: INDETERMINATE, saying why.
"""

from __future__ import annotations

from typing import IO

from pyhanko.sign.validation import EmbeddedPdfSignature

from signing.pades.reading.facts import SignatureFacts
from signing.pades.reading.policy import ValidationPolicy
from signing.pades.reading.signature_dictionary import contents_offsets

__all__ = ["carried_past_limits", "too_much_carried"]


def carried_past_limits(es: EmbeddedPdfSignature, policy: ValidationPolicy) -> str:
    """Why what ``es`` carries is past the verifier's limits; empty when it is not (or cannot be counted)."""
    signed_data = es.signed_data
    try:
        certificates = len(signed_data["certificates"]) if signed_data["certificates"].contents else 0
    except (KeyError, TypeError, ValueError):
        certificates = 0
    revocation_bytes = len(signed_data["crls"].contents or b"") if "crls" in signed_data else 0
    try:
        for attr in es.signer_info["signed_attrs"]:
            if attr["type"].dotted == "1.2.840.113583.1.1.8":  # adbe-revocationInfoArchival
                revocation_bytes += len(attr.contents or b"")
    except (KeyError, TypeError, ValueError):
        pass
    if certificates > policy.max_cms_certificates:
        return (
            f"the signature carries {certificates} certificates, more than the verifier reads"
            f" ({policy.max_cms_certificates}), so it was not validated"
        )
    if revocation_bytes > policy.max_revocation_bytes:
        return (
            f"revocation data past the verifier's limit was ignored: the signature carries {revocation_bytes} bytes"
            f" of revocation data (the limit is {policy.max_revocation_bytes}), so it was not validated"
        )
    return ""


def too_much_carried(
    es: EmbeddedPdfSignature, kind: str, sub_filter: str, why: str, stream: IO[bytes], size: int
) -> SignatureFacts:
    """The facts of a signature left unvalidated for what it carries: INDETERMINATE, never a pass."""
    try:
        byte_range = tuple(int(v) for v in es.byte_range)
        revision: int | None = es.signed_revision
        offsets = contents_offsets(stream, es, size)
    except Exception:  # the verdict stands on ``why``; placing the signature is a courtesy
        byte_range, revision, offsets = (), None, None
    return SignatureFacts(
        field_name=es.field_name,
        kind="document-timestamp" if kind == "document-timestamp" else "signature",
        sub_filter=sub_filter,
        byte_range=byte_range,
        contents_offsets=offsets,
        signed_revision=revision,
        ades_sub_indication="SIG_CONSTRAINTS_FAILURE",
        ades_message=why,
    )
