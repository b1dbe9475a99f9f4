"""From facts to ETSI EN 319 102-1 indications: each check is a small named function, run in a fixed order.

A signature's verdict is the first TOTAL_FAILED finding, else the first INDETERMINATE finding, else
TOTAL_PASSED; every finding is still listed in ``errors`` / ``warnings``. The order (format, hash, signature
value, revocation failure, changes after signing, weak algorithms, chain and revocation, unverifiable changes)
follows the building blocks of EN 319 102-1 (format checking, cryptographic verification, X.509 validation,
validation with time) as EU DSS runs them; PDF modification checks sit in format checking, as in DSS.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signing.pades.reading.changes import Change, compare_revisions
from signing.pades.reading.facts import DocumentFacts, SignatureFacts
from signing.pades.reading.policy import ValidationPolicy
from signing.validation.models import DocumentReport, Indication, SignatureReport

__all__ = ["judge_document"]

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
        return [Finding(_FAILED, sub, ctx.sig.ades_message or _describe(sub))]
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
        return [Finding(_INDETERMINATE, sub, ctx.sig.ades_message or _describe(sub))]
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


def _describe(sub: str) -> str:
    return _DESCRIPTIONS.get(sub, sub.replace("_", " ").lower())


# -- the changes a signature is judged on -------------------------------------------------------------------


def _revision_changes(doc: DocumentFacts) -> dict[int, list[Change]]:
    out: dict[int, list[Change]] = {}
    revisions = sorted(doc.snapshots)
    for before, after in itertools.pairwise(revisions):
        out[after] = compare_revisions(doc.snapshots[before], doc.snapshots[after])
    return out


def _changes_for(sig: SignatureFacts, doc: DocumentFacts, by_revision: dict[int, list[Change]]) -> list[Change]:
    if sig.signed_revision is None:
        return []
    out: list[Change] = []
    for revision in sorted(r for r in by_revision if r > sig.signed_revision):
        for change in by_revision[revision]:
            out.append(_apply_mdp(sig, change))
    fatal_or_doubt = any(c.severity != "info" for c in out)
    if sig.diff_level == "OTHER" and not fatal_or_doubt and sig.coverage_level == "ENTIRE_REVISION":
        out.append(
            _apply_mdp(
                sig,
                Change(
                    sig.signed_revision + 1,
                    "unexplained",
                    "warning",
                    f"pyHanko's change analysis cannot explain an update: {sig.diff_message[:300]}",
                    "có thay đổi sau khi ký mà không giải thích được",
                ),
            )
        )
    allowed = _DOCMDP_ALLOWS.get(sig.docmdp or 0)
    level = _MODIFICATION_LEVELS.get(sig.diff_level)
    if allowed is not None and level is not None and level > allowed and sig.diff_level != "OTHER":
        out.append(
            Change(
                sig.signed_revision + 1,
                "docmdp-violation",
                "failure",
                f"the changes after signing ({sig.diff_level.replace('_', ' ').lower()}) are more than the "
                f"certification permits (DocMDP P={sig.docmdp})",
                f"các thay đổi sau khi ký vượt quá mức chứng nhận cho phép (DocMDP P={sig.docmdp})",
            )
        )
    if doc.trailing_bytes:
        out.append(
            Change(
                len(doc.revisions),
                "trailing-bytes",
                "failure",
                f"{doc.trailing_bytes} bytes were appended after the last revision",
                f"{doc.trailing_bytes} byte đã được nối thêm sau lần sửa đổi cuối",
            )
        )
    return out


# pyHanko's modification levels, in order, and the highest each DocMDP permission allows (ISO 32000-2, 12.8.2.2).
_MODIFICATION_LEVELS = {"NONE": 0, "LTA_UPDATES": 1, "FORM_FILLING": 2, "ANNOTATIONS": 3, "OTHER": 4}
_DOCMDP_ALLOWS = {1: 1, 2: 2, 3: 3}
# What each DocMDP permission forbids among our own findings. New form fields and unexplained changes are
# never permitted by a certification; P=1 permits only document time-stamps and validation data.
_DOCMDP_FORBIDS: dict[int, frozenset[str]] = {
    1: frozenset(
        {
            "unsigned-signature-widget-added",
            "form-filled",
            "signature-added",
            "signature-field-added",
            "annotation-added",
            "widget-added",
            "field-added",
            "unexplained",
        }
    ),
    2: frozenset({"annotation-added", "widget-added", "field-added", "unexplained", "unsigned-signature-widget-added"}),
    3: frozenset({"widget-added", "field-added", "unexplained"}),
}


def _apply_mdp(sig: SignatureFacts, change: Change) -> Change:
    """Tighten a change's severity by the signature's own DocMDP and FieldMDP locks."""
    p = sig.docmdp
    if p is not None and change.kind in _DOCMDP_FORBIDS.get(p, frozenset()):
        return _escalate(change, f"not permitted by the certification (DocMDP P={p})")
    if change.kind == "form-filled" and sig.field_locks and sig.field_lock_action:
        locked = sig.field_locks == ("*",)
        if sig.field_lock_action.lower() in ("include", "/include"):
            locked = locked or change.field in sig.field_locks
        elif sig.field_lock_action.lower() in ("exclude", "/exclude"):
            locked = change.field not in sig.field_locks
        elif sig.field_lock_action.lower() in ("all", "/all"):
            locked = True
        if locked:
            return _escalate(change, "the field is locked by this signature (FieldMDP)")
    return change


def _escalate(change: Change, why: str) -> Change:
    return Change(
        change.revision,
        change.kind,
        "failure",
        f"{change.description}: {why}",
        f"{change.description_vi}: không được phép",
        change.page,
        change.field,
    )


# -- reports ------------------------------------------------------------------------------------------------


def _level(sig: SignatureFacts, doc: DocumentFacts, indication: Indication) -> str | None:
    """The PAdES baseline level (EN 319 142-1) the signature's structure reaches.

    B-T needs a signature time-stamp or a later document time-stamp; B-LT adds validation data in the DSS
    after the signature; B-LTA adds a document time-stamp over that DSS. A failed signature reaches none.
    """
    if sig.kind != "signature" or sig.sub_filter != "/ETSI.CAdES.detached" or indication is Indication.TOTAL_FAILED:
        return None
    later = [
        t.signed_revision
        for t in doc.signatures
        if t.kind == "document-timestamp"
        and t.signed_revision is not None
        and sig.signed_revision is not None
        and t.signed_revision > sig.signed_revision
        and t.intact
        and t.crypto_valid
    ]
    if sig.signature_timestamp is None and not later:
        return "B-B"
    if not sig.has_dss_validation_data:
        return "B-T"
    first_dss = min(
        (r for r in doc.dss_revisions if sig.signed_revision is not None and r > sig.signed_revision), default=None
    )
    if first_dss is not None and any(r >= first_dss for r in later):
        return "B-LTA"
    return "B-LT"


def _coverage(sig: SignatureFacts, doc: DocumentFacts) -> dict[str, Any]:
    br = list(sig.byte_range)
    size = doc.file_size
    covered_to = br[2] + br[3] if len(br) == 4 else None
    gaps: list[list[int]] = []
    if len(br) == 4:
        gaps.append([br[1], br[2]])
    revision_end = None
    if sig.signed_revision is not None and sig.signed_revision < len(doc.revisions):
        revision_end = doc.revisions[sig.signed_revision].end_offset
    return {
        "byte_range": br,
        "signed_revision": sig.signed_revision,
        "revisions_after": (len(doc.revisions) - 1 - sig.signed_revision) if sig.signed_revision is not None else None,
        "whole_file": sig.coverage_level == "ENTIRE_FILE",
        "whole_revision": sig.coverage_level in ("ENTIRE_FILE", "ENTIRE_REVISION"),
        "gaps": gaps,
        "gap_is_signature_value": sig.contents_offsets is not None,
        "bytes_after_signed_range": (size - covered_to) if covered_to is not None else None,
        "signed_revision_end": revision_end,
        "trailing_bytes_after_last_revision": doc.trailing_bytes,
        "pyhanko_coverage": sig.coverage_level or None,
        "pyhanko_modification_level": sig.diff_level or None,
    }


def judge_signature(
    sig: SignatureFacts, doc: DocumentFacts, policy: ValidationPolicy, changes: Sequence[Change]
) -> SignatureReport:
    ctx = Context(sig=sig, doc=doc, policy=policy, changes=tuple(changes))
    findings = [f for check in CHECKS for f in check(ctx)]
    failed = [f for f in findings if f.indication is _FAILED]
    doubtful = [f for f in findings if f.indication is _INDETERMINATE]
    if failed:
        indication, sub = _FAILED, failed[0].sub_indication
    elif doubtful:
        indication, sub = _INDETERMINATE, doubtful[0].sub_indication
    else:
        indication, sub = Indication.TOTAL_PASSED, None
    ts = sig.signature_timestamp
    timestamp_time = None
    if ts is not None and ts.time is not None and (ts.ades_sub_indication == "OK" or sig.kind != "signature"):
        timestamp_time = ts.time
    warnings = [f.message for f in doubtful]
    warnings += [
        c.description
        for c in changes
        if c.severity == "warning" and f"revision {c.revision}: {c.description}" not in warnings
    ]
    revocation = {
        "status": sig.revocation_status,
        "revoked_at": sig.revocation_time.isoformat() if sig.revocation_time else None,
        "reason": sig.revocation_reason or None,
        "sources": list(sig.revocation_sources),
        "policy": policy.revocation_mode,
    }
    return SignatureReport(
        field_name=sig.field_name,
        kind=sig.kind,
        indication=indication,
        sub_indication=sub,
        signer=sig.signer,
        chain=sig.chain,
        trust_anchor=sig.trust_anchor,
        signing_time=sig.signing_time,
        timestamp_time=timestamp_time,
        level=_level(sig, doc, indication),
        integrity={
            "intact": sig.intact,
            "signature_valid": sig.crypto_valid,
            "digest_algorithm": sig.digest_algorithm or None,
            "signature_algorithm": sig.signature_algorithm or None,
            "sub_filter": sig.sub_filter or None,
        },
        coverage=_coverage(sig, doc),
        revocation=revocation,
        modifications=[c.as_dict() for c in changes],
        certification=(
            {"docmdp": sig.docmdp, "certification": sig.certification, "field_locks": list(sig.field_locks)}
            if sig.docmdp is not None or sig.field_locks
            else None
        ),
        timestamp=(
            {
                "time": ts.time.isoformat() if ts.time else None,
                "tsa": ts.tsa.subject if ts.tsa else None,
                "sub_indication": ts.ades_sub_indication,
                "intact": ts.intact,
            }
            if ts is not None
            else None
        ),
        warnings=warnings,
        errors=[f.message for f in failed],
    )


def judge_document(
    doc: DocumentFacts,
    policy: ValidationPolicy,
    *,
    file_name: str,
    validation_time: datetime,
    trust_anchors: Sequence[Any] = (),
) -> DocumentReport:
    by_revision = _revision_changes(doc) if policy.check_changes else {}
    reports = tuple(judge_signature(sig, doc, policy, _changes_for(sig, doc, by_revision)) for sig in doc.signatures)
    if not reports:
        indication, sub = Indication.NO_SIGNATURE, None
    else:
        worst = max(reports, key=lambda r: r.indication.rank)
        indication, sub = worst.indication, worst.sub_indication
    revisions = [
        {
            "index": r.index,
            "end_offset": r.end_offset,
            "changes": [c.as_dict() for c in by_revision.get(r.index, [])],
        }
        for r in doc.revisions
    ]
    warnings = [doc.read_warning] if doc.read_warning else []
    if doc.repairs:
        warnings.append(
            "the cross-reference data is broken; the file was read by scanning it: " + "; ".join(doc.repairs)
        )
    if doc.trailing_bytes:
        warnings.append(f"{doc.trailing_bytes} bytes after the last revision belong to no revision")
    if doc.javascript:
        warnings.append(  # officials read this one: in Vietnamese first, as the rest of the report
            "Tài liệu có mã JavaScript: phần mềm đọc PDF chạy mã này có thể làm thay đổi nội dung hiển thị của"
            " văn bản đã ký; hãy mở văn bản khi đã tắt JavaScript. / "
            f"the document runs JavaScript ({', '.join(doc.javascript)}): a viewer that runs it can change what"
            " the signed document shows; read it with JavaScript turned off"
        )
    elif doc.javascript_unchecked:
        warnings.append(f"the document could not be searched for JavaScript ({doc.javascript_unchecked})")
    return DocumentReport(
        file_name=file_name,
        file_size=doc.file_size,
        sha256=doc.sha256,
        indication=indication,
        sub_indication=sub,
        signatures=reports,
        validation_time=validation_time,
        revisions=revisions,
        trust_anchors=tuple(trust_anchors),
        revocation_policy=policy.revocation_mode,
        fetch_revocation=policy.fetch_revocation,
        dss={
            "present": doc.dss_present,
            "crls": doc.dss_crls,
            "ocsp_responses": doc.dss_ocsps,
            "certificates": doc.dss_certs,
            "revisions": list(doc.dss_revisions),
        },
        warnings=warnings,
    )
