"""From facts to ETSI EN 319 102-1 indications: each check is a small named function, run in a fixed order.

A signature's verdict is the first TOTAL_FAILED finding, else the first INDETERMINATE finding, else
TOTAL_PASSED; every finding is still listed in ``errors`` / ``warnings``. The order (format, hash, signature
value, revocation failure, changes after signing, weak algorithms, chain and revocation, unverifiable changes)
follows the building blocks of EN 319 102-1 (format checking, cryptographic verification, X.509 validation,
validation with time) as EU DSS runs them; PDF modification checks sit in format checking, as in DSS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from signing.pades.reading.changes import Change
from signing.pades.reading.facts import DocumentFacts, SignatureFacts
from signing.pades.reading.policy import ValidationPolicy
from signing.validation.checks import CHECKS, Context
from signing.validation.models import DocumentReport, Indication, SignatureReport
from signing.validation.modifications import changes_for, revision_changes

__all__ = ["judge_document"]

_FAILED = Indication.TOTAL_FAILED
_INDETERMINATE = Indication.INDETERMINATE

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
    by_revision = revision_changes(doc) if policy.check_changes else {}
    reports = tuple(judge_signature(sig, doc, policy, changes_for(sig, doc, by_revision)) for sig in doc.signatures)
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
    if doc.launch_actions:
        warnings.append(
            "Tài liệu yêu cầu mở chương trình hoặc tệp khác: đừng cho phép khi phần mềm đọc PDF hỏi. / "
            f"the document asks to launch a program or open a file ({', '.join(doc.launch_actions)}): do not allow"
            " it when the viewer asks"
        )
    if doc.embedded_files:
        shown = ", ".join(doc.embedded_files[:5]) + (
            f" (+{len(doc.embedded_files) - 5})" if len(doc.embedded_files) > 5 else ""
        )
        warnings.append(
            "Tài liệu có tệp đính kèm: nội dung tệp đính kèm không phải là trang văn bản đã ký được hiển thị. / "
            f"the document carries embedded files ({shown}): what they contain is not the signed pages shown"
        )
    if doc.xfa:
        warnings.append(
            "Tài liệu có biểu mẫu XFA: một số phần mềm đọc PDF hiển thị biểu mẫu này thay cho các trang đã ký. / "
            "the document carries an XFA form: some viewers show it instead of the signed pages"
        )
    if doc.revocation_ignored:
        warnings.append(
            "Dữ liệu thu hồi vượt quá giới hạn của bộ kiểm tra đã bị bỏ qua: chữ ký không thể được xác nhận hợp lệ."
            f" / {doc.revocation_ignored}"
        )
    if doc.javascript_unchecked:
        warnings.append(f"the document could not be searched for active content ({doc.javascript_unchecked})")
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
            "ignored": doc.revocation_ignored,
        },
        warnings=warnings,
    )
