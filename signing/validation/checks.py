"""The checks a signature goes through, each a small named function over what the reader found (its facts).

:data:`CHECKS` runs them in the order of EN 319 102-1's building blocks; :mod:`signing.validation.indications`
turns their findings into a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from signing.pades.reading.changes import Change
from signing.pades.reading.facts import DocumentFacts, SignatureFacts
from signing.pades.reading.policy import ValidationPolicy
from signing.validation.models import Indication

__all__ = ["CHECKS", "Check", "Context", "Finding", "describe"]

_FAILED = Indication.TOTAL_FAILED
_INDETERMINATE = Indication.INDETERMINATE
# pyHanko's sub-indications that are failures (EN 319 102-1 table 5); the others are INDETERMINATE.
_FAILED_SUBS = frozenset({"FORMAT_FAILURE", "HASH_FAILURE", "SIG_CRYPTO_FAILURE", "REVOKED", "NOT_YET_VALID"})


@dataclass(frozen=True)
class Finding:
    indication: Indication
    sub_indication: str
    message: str


@dataclass(frozen=True)
class Context:
    sig: SignatureFacts
    doc: DocumentFacts
    policy: ValidationPolicy
    changes: tuple[Change, ...]


Check = Callable[[Context], list[Finding]]


# -- the checks ---------------------------------------------------------------------------------------------


def check_readable(ctx: Context) -> list[Finding]:
    if ctx.sig.read_error:
        return [Finding(_FAILED, "FORMAT_FAILURE", f"the signature cannot be read: {ctx.sig.read_error}")]
    return []


def check_byte_range(ctx: Context) -> list[Finding]:
    """The signed ranges: two, from the file's start, the gap holding exactly the signature value."""
    br = ctx.sig.byte_range
    size = ctx.doc.readable_size or ctx.doc.file_size
    if not br:
        return []
    if len(br) != 4 or br[0] != 0 or any(v < 0 for v in br):
        return [Finding(_FAILED, "FORMAT_FAILURE", f"malformed ByteRange {list(br)}")]
    if br[1] >= br[2]:
        return [Finding(_FAILED, "FORMAT_FAILURE", f"the signed ranges overlap: ByteRange {list(br)}")]
    if br[2] + br[3] > size and not ctx.sig.extra.get("beyond_readable_prefix"):
        return [Finding(_FAILED, "FORMAT_FAILURE", f"ByteRange {list(br)} reaches past the end of the file")]
    if ctx.sig.contents_offsets is None and not ctx.sig.read_error:
        return [
            Finding(
                _FAILED,
                "FORMAT_FAILURE",
                "the unsigned gap in the ByteRange is not exactly the signature value (signature wrapping)",
            )
        ]
    return []


def check_coverage(ctx: Context) -> list[Finding]:
    level = ctx.sig.coverage_level
    if level in ("UNCLEAR", "CONTIGUOUS_BLOCK_FROM_START"):
        return [
            Finding(
                _FAILED,
                "FORMAT_FAILURE",
                "the signed bytes do not cover a complete revision of the file: part of what it shows is unsigned",
            )
        ]
    return []


def check_hash(ctx: Context) -> list[Finding]:
    if ctx.sig.intact is False:
        return [Finding(_FAILED, "HASH_FAILURE", "the signed bytes were changed after signing (digest mismatch)")]
    return []


def check_signature_value(ctx: Context) -> list[Finding]:
    if ctx.sig.crypto_valid is False:
        return [Finding(_FAILED, "SIG_CRYPTO_FAILURE", "the signature value does not verify with the signer's key")]
    return []


def check_ades_failure(ctx: Context) -> list[Finding]:
    sub = ctx.sig.ades_sub_indication
    if sub in _FAILED_SUBS:
        return [Finding(_FAILED, sub, ctx.sig.ades_message or describe(sub))]
    return []


def check_changes_fatal(ctx: Context) -> list[Finding]:
    fatal = [c for c in ctx.changes if c.severity == "failure"]
    return [Finding(_FAILED, "FORMAT_FAILURE", f"revision {c.revision}: {c.description}") for c in fatal]


def check_weak_algorithms(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    p = ctx.policy
    digest = ctx.sig.digest_algorithm.lower().replace("-", "")
    if digest in p.weak_digest_algorithms:
        out.append(
            Finding(_INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE_NO_POE", f"weak digest algorithm {digest.upper()}")
        )
    if "sha1" in ctx.sig.signature_algorithm.lower() or "md5" in ctx.sig.signature_algorithm.lower():
        out.append(
            Finding(
                _INDETERMINATE,
                "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                f"weak signature algorithm {ctx.sig.signature_algorithm}",
            )
        )
    for cert in (ctx.sig.signer, *ctx.sig.chain):
        if cert is None or cert.self_signed:
            continue
        algo = cert.key_algorithm.lower()
        if algo == "rsa" and 0 < cert.key_bits < p.min_rsa_bits:
            out.append(
                Finding(
                    _INDETERMINATE,
                    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                    f"RSA key of {cert.key_bits} bits (below {p.min_rsa_bits}) in “{cert.common_name or cert.subject}”",
                )
            )
        if algo == "ec" and 0 < cert.key_bits < p.min_ec_bits:
            out.append(
                Finding(
                    _INDETERMINATE,
                    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                    f"elliptic curve key of {cert.key_bits} bits in “{cert.common_name or cert.subject}”",
                )
            )
    return out


def check_legacy_sha1_format(ctx: Context) -> list[Finding]:
    """``adbe.pkcs7.sha1`` digests the document with SHA-1 whatever the signer's digest algorithm says."""
    if ctx.sig.sub_filter == "/adbe.pkcs7.sha1" and "sha1" in ctx.policy.weak_digest_algorithms:
        return [
            Finding(
                _INDETERMINATE,
                "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
                "legacy adbe.pkcs7.sha1 signature: the document is digested with SHA-1, which is no longer accepted",
            )
        ]
    return []


def check_ades_indeterminate(ctx: Context) -> list[Finding]:
    sub = ctx.sig.ades_sub_indication
    if sub and sub != "OK" and sub not in _FAILED_SUBS:
        return [Finding(_INDETERMINATE, sub, ctx.sig.ades_message or describe(sub))]
    if not sub and not ctx.sig.read_error:
        if ctx.sig.extra.get("beyond_readable_prefix"):
            return [Finding(_INDETERMINATE, "SIG_CONSTRAINTS_FAILURE", "the signature lies in an unreadable part")]
        return [Finding(_INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE", "the signature was not validated")]
    return []


def check_readable_document(ctx: Context) -> list[Finding]:
    if ctx.doc.read_warning:
        return [
            Finding(
                _INDETERMINATE,
                "SIG_CONSTRAINTS_FAILURE",
                f"part of the file cannot be read, so what it shows cannot be checked: {ctx.doc.read_warning}",
            )
        ]
    return []


def check_revocation_limit(ctx: Context) -> list[Finding]:
    """Revocation data left unread for the verifier's limits might have said revoked: no pass without it."""
    if ctx.doc.revocation_ignored:
        return [Finding(_INDETERMINATE, "SIG_CONSTRAINTS_FAILURE", ctx.doc.revocation_ignored)]
    return []


def check_repaired_document(ctx: Context) -> list[Finding]:
    """A file read only after rebuilding its cross-references: another reader may show something else."""
    if ctx.doc.repairs:
        return [
            Finding(
                _INDETERMINATE,
                "SIG_CONSTRAINTS_FAILURE",
                "the file's cross-reference data is broken and was rebuilt by scanning the file, so what a PDF "
                f"reader shows may differ from what was checked: {'; '.join(ctx.doc.repairs)}"[:2000],
            )
        ]
    return []


def check_changes_doubtful(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for c in ctx.changes:
        if c.severity != "warning":
            continue
        if c.kind in ("annotation-added", "widget-added", "field-added", "unsigned-signature-widget-added"):
            mode = ctx.policy.added_annotations
        elif c.kind == "form-filled":
            mode = ctx.policy.form_filling
        else:
            mode = ctx.policy.unexplained_changes
        if mode == "indeterminate":
            out.append(Finding(_INDETERMINATE, "SIG_CONSTRAINTS_FAILURE", f"revision {c.revision}: {c.description}"))
    return out


CHECKS: tuple[Check, ...] = (
    check_readable,
    check_byte_range,
    check_coverage,
    check_hash,
    check_signature_value,
    check_ades_failure,
    check_changes_fatal,
    check_ades_indeterminate,
    check_legacy_sha1_format,
    check_weak_algorithms,
    check_readable_document,
    check_revocation_limit,
    check_repaired_document,
    check_changes_doubtful,
)


_DESCRIPTIONS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "no chain from the signer's certificate to a trusted root",
    "TRY_LATER": "no revocation information (CRL or OCSP) for a certificate of the chain (hard-fail policy)",
    "REVOKED_NO_POE": "the signer's certificate is revoked and no time-stamp proves the signature came before",
    "REVOKED": "the signer's certificate was revoked before the proven time of signing",
    "OUT_OF_BOUNDS_NO_POE": "the signer's certificate has expired and no time-stamp proves the signature came before",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "an algorithm or key size no longer accepted",
    "CRYPTO_CONSTRAINTS_FAILURE": "an algorithm or key size not accepted",
    "CHAIN_CONSTRAINTS_FAILURE": "the certificate chain does not meet the validation constraints",
    "SIG_CONSTRAINTS_FAILURE": "the signature does not meet the validation constraints",
    "FORMAT_FAILURE": "the signature is not well formed",
    "HASH_FAILURE": "the signed data were changed",
    "SIG_CRYPTO_FAILURE": "the signature value does not verify",
    "NOT_YET_VALID": "the signer's certificate was not yet valid at the time of signing",
}


def describe(sub: str) -> str:
    return _DESCRIPTIONS.get(sub, sub.replace("_", " ").lower())
