"""The facts a signature field gives before any validation: its dictionary, byte range, locks and embedded chain.

Shared by signatures and document time-stamps; a signature that cannot be read at all becomes
:func:`unreadable_signature` facts (a FORMAT_FAILURE), never an exception.
"""

from __future__ import annotations

import binascii
import contextlib
from datetime import datetime
from typing import IO, Any

from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import EmbeddedPdfSignature

from signing.pades.reading.certificates import certificate_facts, embedded_chain
from signing.pades.reading.facts import SignatureFacts

__all__ = ["MAX_CONTENTS_BYTES", "base_facts", "contents_offsets", "safe_self_time", "unreadable_signature"]

# The signature hex string is read whole to compare it with /Contents; anything bigger is not a signature.
MAX_CONTENTS_BYTES = 4 << 20


def _resolved(obj: Any, key: str, default: Any) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        return default


def contents_offsets(stream: IO[bytes], es: EmbeddedPdfSignature, size: int) -> tuple[int, int] | None:
    """Where the signature's hex string lies, if the gap between the byte ranges holds exactly it."""
    byte_range = list(es.byte_range)
    if len(byte_range) != 4:
        return None
    start, end = int(byte_range[1]), int(byte_range[2])
    if not 0 < start < end <= size or end - start > MAX_CONTENTS_BYTES:
        return None
    stream.seek(start)
    gap = stream.read(end - start)
    if len(gap) != end - start or gap[:1] != b"<" or gap[-1:] != b">":
        return None
    try:
        decoded = binascii.unhexlify(gap[1:-1].translate(None, b" \t\r\n\f\x00"))  # PDF white space
    except (binascii.Error, ValueError):
        return None
    return (start, end) if decoded == es.pkcs7_content else None


def _locks(es: EmbeddedPdfSignature) -> tuple[tuple[str, ...], str]:
    try:
        spec = es.fieldmdp
    except Exception:
        return (), ""
    if spec is None:
        return (), ""
    action = str(spec.action.value) if hasattr(spec.action, "value") else str(spec.action)
    fields = tuple(spec.fields or ()) or ("*",)
    return fields, action


def base_facts(es: EmbeddedPdfSignature, kind: str, sub_filter: str, stream: IO[bytes], size: int) -> dict[str, Any]:
    """The ``SignatureFacts`` fields every signature field has, as keyword arguments."""
    docmdp: MDPPerm | None
    try:
        docmdp = es.docmdp_level
    except Exception:
        docmdp = None
    locks, lock_action = _locks(es)
    signer = es.signer_cert
    certification = False
    with contextlib.suppress(Exception):
        certification = any(
            str(ref.get_object().get("/TransformMethod")) == "/DocMDP"
            for ref in _resolved(es.sig_object, "/Reference", [])
        )
    return {
        "field_name": es.field_name,
        "kind": kind,
        "sub_filter": sub_filter,
        "byte_range": tuple(int(v) for v in es.byte_range),
        "contents_offsets": contents_offsets(stream, es, size),
        "signed_revision": es.signed_revision,
        "digest_algorithm": es.md_algorithm,
        "signature_algorithm": str(es.signer_info["signature_algorithm"].signature_algo),
        "signer": certificate_facts(signer),
        "chain": embedded_chain(signer, es.other_embedded_certs),
        "docmdp": int(docmdp.value) if docmdp is not None else None,
        "certification": certification,
        "field_locks": locks,
        "field_lock_action": lock_action,
    }


def safe_self_time(es: EmbeddedPdfSignature) -> datetime | None:
    """The signing time the signer claims (``/M``), or nothing when it cannot be read."""
    try:
        return es.self_reported_timestamp
    except Exception:
        return None


def unreadable_signature(
    name: str, kind: str, sub_filter: str, err: BaseException | str, **extra: Any
) -> SignatureFacts:
    """The facts of a signature that could not be read or validated; ``err`` (exception or text) is the reason."""
    reason = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    return SignatureFacts(field_name=name, kind=kind, sub_filter=sub_filter, read_error=reason[:2000], **extra)  # type: ignore[arg-type]
