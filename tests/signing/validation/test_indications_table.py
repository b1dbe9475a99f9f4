"""The verdicts, from hand-made facts: one row per ETSI EN 319 102-1 indication and sub-indication the verifier gives.

No PDF, no pyHanko validation, no HSM: each row changes a signature that passes (or its document) in one way and
states what a person reading the report is told — the indication, the sub-indication, the first explanation in
the report's errors (TOTAL_FAILED) or warnings (INDETERMINATE, or a pass with a warning), and the Vietnamese
reason the page and the PDF report show for that sub-indication. The facts are what ``signing.pades.reading``
would have found; ``signing.validation.indications`` alone judges them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

from signing.pades.reading.facts import CertificateFacts, DocumentFacts, RevisionFacts, SignatureFacts
from signing.pades.reading.policy import DEFAULT_POLICY, ValidationPolicy
from signing.validation.indications import judge_document
from signing.validation.models import DocumentReport, Indication
from signing.validation.render import SUB_INDICATIONS_VI

PASSED, INDETERMINATE, FAILED = Indication.TOTAL_PASSED, Indication.INDETERMINATE, Indication.TOTAL_FAILED
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
FILE_SIZE = 1000

ROOT = CertificateFacts(
    subject="CN=Ấn Tín Root CA, O=Văn phòng Trung ương Đảng, C=VN",
    issuer="CN=Ấn Tín Root CA, O=Văn phòng Trung ương Đảng, C=VN",
    serial_number="1",
    not_before=datetime(2025, 1, 1, tzinfo=UTC),
    not_after=datetime(2045, 1, 1, tzinfo=UTC),
    sha256_fingerprint="11" * 32,
    common_name="Ấn Tín Root CA",
    key_algorithm="rsa",
    key_bits=4096,
    self_signed=True,
)
SIGNER = CertificateFacts(
    subject="CN=Nguyễn Văn Ấn, O=Văn phòng Tỉnh ủy Hà Tĩnh, C=VN",
    issuer=ROOT.subject,
    serial_number="2A",
    not_before=datetime(2026, 1, 1, tzinfo=UTC),
    not_after=datetime(2028, 1, 1, tzinfo=UTC),
    sha256_fingerprint="22" * 32,
    common_name="Nguyễn Văn Ấn",
    key_algorithm="rsa",
    key_bits=2048,
)


def signature(**changes: Any) -> SignatureFacts:
    """A B-B signature over the whole file that passes, changed by ``changes``."""
    passing = SignatureFacts(
        field_name="ChuKy1",
        kind="signature",
        sub_filter="/ETSI.CAdES.detached",
        byte_range=(0, 400, 600, 400),
        contents_offsets=(400, 600),
        signed_revision=0,
        intact=True,
        crypto_valid=True,
        digest_algorithm="sha256",
        signature_algorithm="sha256_rsa",
        ades_sub_indication="OK",
        signer=SIGNER,
        chain=(SIGNER, ROOT),
        trust_anchor=ROOT,
        revocation_status="good",
        revocation_sources=("CRL (document)",),
        signing_time=NOW,
        coverage_level="ENTIRE_FILE",
        diff_level="NONE",
    )
    return dataclasses.replace(passing, **changes)


def document(sig: SignatureFacts | None = None, **changes: Any) -> DocumentFacts:
    """A one-revision file holding ``sig`` (a passing signature by default), changed by ``changes``."""
    facts = DocumentFacts(
        file_size=FILE_SIZE,
        sha256="ab" * 32,
        revisions=(RevisionFacts(index=0, end_offset=FILE_SIZE),),
        signatures=(sig or signature(),),
        readable_size=FILE_SIZE,
    )
    return dataclasses.replace(facts, **changes)


def updated_after_signing(sig: SignatureFacts) -> DocumentFacts:
    """``sig`` signs the first of two revisions (an incremental update follows it)."""
    return document(
        sig,
        revisions=(RevisionFacts(index=0, end_offset=FILE_SIZE), RevisionFacts(index=1, end_offset=1400)),
        file_size=1400,
        readable_size=1400,
    )


def pyhanko_says(sub: str, **changes: Any) -> DocumentFacts:
    """pyHanko's validation ended in ``sub`` without a message of its own."""
    return document(signature(ades_sub_indication=sub, ades_message="", **changes))


@dataclass(frozen=True)
class Row:
    name: str
    facts: Callable[[], DocumentFacts]
    indication: Indication
    sub_indication: str | None
    explanation: str | None
    """The first error (TOTAL_FAILED) or warning (otherwise) of the signature's report; None: there is none."""

    reason_vi: str | None = None
    """The Vietnamese reason shown beside the verdict (``Lý do:``); None: only the code is shown."""

    policy: ValidationPolicy = DEFAULT_POLICY


ROWS = [
    # -- TOTAL_PASSED ---------------------------------------------------------------------------------------
    Row("passes", document, PASSED, None, None),
    Row(
        "passes with an unexplained change when the policy only warns",
        lambda: updated_after_signing(
            signature(coverage_level="ENTIRE_REVISION", diff_level="OTHER", diff_message="a new /Info dictionary")
        ),
        PASSED,
        None,
        "pyHanko's change analysis cannot explain an update: a new /Info dictionary",
        policy=ValidationPolicy(unexplained_changes="warn"),
    ),
    # -- TOTAL_FAILED: FORMAT_FAILURE -----------------------------------------------------------------------
    Row(
        "unreadable signature dictionary",
        lambda: document(
            SignatureFacts(
                field_name="ChuKy1",
                kind="signature",
                sub_filter="/ETSI.CAdES.detached",
                read_error="PdfReadError: /Contents is not a string",
            )
        ),
        FAILED,
        "FORMAT_FAILURE",
        "the signature cannot be read: PdfReadError: /Contents is not a string",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "unsupported SubFilter",
        lambda: document(
            SignatureFacts(
                field_name="ChuKy1",
                kind="signature",
                sub_filter="/adbe.x509.rsa_sha1",
                read_error="unsupported SubFilter /adbe.x509.rsa_sha1",
            )
        ),
        FAILED,
        "FORMAT_FAILURE",
        "the signature cannot be read: unsupported SubFilter /adbe.x509.rsa_sha1",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "ByteRange not from the file's start",
        lambda: document(signature(byte_range=(10, 390, 600, 400))),
        FAILED,
        "FORMAT_FAILURE",
        "malformed ByteRange [10, 390, 600, 400]",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "ByteRange ranges overlap",
        lambda: document(signature(byte_range=(0, 600, 400, 600))),
        FAILED,
        "FORMAT_FAILURE",
        "the signed ranges overlap: ByteRange [0, 600, 400, 600]",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "ByteRange past the end of the file",
        lambda: document(signature(byte_range=(0, 400, 600, 500))),
        FAILED,
        "FORMAT_FAILURE",
        "ByteRange [0, 400, 600, 500] reaches past the end of the file",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "signature wrapping: the gap is not the signature value",
        lambda: document(signature(contents_offsets=None)),
        FAILED,
        "FORMAT_FAILURE",
        "the unsigned gap in the ByteRange is not exactly the signature value (signature wrapping)",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "the signed bytes cover no complete revision",
        lambda: document(signature(coverage_level="CONTIGUOUS_BLOCK_FROM_START")),
        FAILED,
        "FORMAT_FAILURE",
        "the signed bytes do not cover a complete revision of the file: part of what it shows is unsigned",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "bytes appended after the last revision",
        lambda: document(trailing_bytes=7),
        FAILED,
        "FORMAT_FAILURE",
        "revision 1: 7 bytes were appended after the last revision",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "changes beyond what the certification permits",
        lambda: updated_after_signing(
            signature(docmdp=1, certification=True, coverage_level="ENTIRE_REVISION", diff_level="FORM_FILLING")
        ),
        FAILED,
        "FORMAT_FAILURE",
        "revision 1: the changes after signing (form filling) are more than the certification permits (DocMDP P=1)",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    Row(
        "pyHanko: FORMAT_FAILURE",
        lambda: pyhanko_says("FORMAT_FAILURE"),
        FAILED,
        "FORMAT_FAILURE",
        "the signature is not well formed",
        "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    ),
    # -- TOTAL_FAILED: the other sub-indications ------------------------------------------------------------
    Row(
        "digest mismatch",
        lambda: document(signature(intact=False)),
        FAILED,
        "HASH_FAILURE",
        "the signed bytes were changed after signing (digest mismatch)",
        "Nội dung đã ký đã bị thay đổi.",
    ),
    Row(
        "pyHanko: HASH_FAILURE",
        lambda: pyhanko_says("HASH_FAILURE"),
        FAILED,
        "HASH_FAILURE",
        "the signed data were changed",
        "Nội dung đã ký đã bị thay đổi.",
    ),
    Row(
        "signature value does not verify",
        lambda: document(signature(crypto_valid=False)),
        FAILED,
        "SIG_CRYPTO_FAILURE",
        "the signature value does not verify with the signer's key",
        "Giá trị chữ ký không khớp với khoá của người ký.",
    ),
    Row(
        "pyHanko: SIG_CRYPTO_FAILURE",
        lambda: pyhanko_says("SIG_CRYPTO_FAILURE"),
        FAILED,
        "SIG_CRYPTO_FAILURE",
        "the signature value does not verify",
        "Giá trị chữ ký không khớp với khoá của người ký.",
    ),
    Row(
        "revoked before the proven signing time",
        lambda: pyhanko_says("REVOKED", revocation_status="revoked"),
        FAILED,
        "REVOKED",
        "the signer's certificate was revoked before the proven time of signing",
        "Chứng thư của người ký đã bị thu hồi trước thời điểm ký.",
    ),
    Row(
        "revoked, with pyHanko's own message",
        lambda: document(
            signature(
                ades_sub_indication="REVOKED",
                ades_message="The signer's certificate was revoked on 2026-06-01 (keyCompromise)",
                revocation_status="revoked",
            )
        ),
        FAILED,
        "REVOKED",
        "The signer's certificate was revoked on 2026-06-01 (keyCompromise)",
        "Chứng thư của người ký đã bị thu hồi trước thời điểm ký.",
    ),
    Row(
        "pyHanko: NOT_YET_VALID",
        lambda: pyhanko_says("NOT_YET_VALID"),
        FAILED,
        "NOT_YET_VALID",
        "the signer's certificate was not yet valid at the time of signing",
    ),
    # -- INDETERMINATE: the verifier's own checks -----------------------------------------------------------
    Row(
        "weak digest algorithm",
        lambda: document(signature(digest_algorithm="sha1")),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "weak digest algorithm SHA1",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "weak signature algorithm",
        lambda: document(signature(signature_algorithm="sha1_rsa")),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "weak signature algorithm sha1_rsa",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "RSA key too short",
        lambda: document(signature(signer=dataclasses.replace(SIGNER, key_bits=1024), chain=())),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "RSA key of 1024 bits (below 2048) in “Nguyễn Văn Ấn”",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "elliptic curve too small",
        lambda: document(signature(signer=dataclasses.replace(SIGNER, key_algorithm="ec", key_bits=224), chain=())),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "elliptic curve key of 224 bits in “Nguyễn Văn Ấn”",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "legacy adbe.pkcs7.sha1 signature",
        lambda: document(signature(sub_filter="/adbe.pkcs7.sha1")),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "legacy adbe.pkcs7.sha1 signature: the document is digested with SHA-1, which is no longer accepted",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "the signature lies in an unreadable part of the file",
        lambda: document(
            signature(
                intact=None,
                crypto_valid=None,
                ades_sub_indication="",
                byte_range=(0, 1100, 1200, 200),
                extra={"beyond_readable_prefix": "yes"},
            ),
            file_size=1400,
            read_warning="bytes 1000–1400 (a later update) cannot be read: PdfReadError: bad xref",
        ),
        INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
        "the signature lies in an unreadable part",
        "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    ),
    Row(
        "part of the file cannot be read",
        lambda: document(
            file_size=1400, read_warning="bytes 1000–1400 (a later update) cannot be read: PdfReadError: bad xref"
        ),
        INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
        "part of the file cannot be read, so what it shows cannot be checked: "
        "bytes 1000–1400 (a later update) cannot be read: PdfReadError: bad xref",
        "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    ),
    Row(
        "read only after repairing the cross-references",
        lambda: document(repairs=("PdfReadError: /Prev 0", "revision 2: xref section found by scanning")),
        INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
        "the file's cross-reference data is broken and was rebuilt by scanning the file, so what a PDF reader shows "
        "may differ from what was checked: PdfReadError: /Prev 0; revision 2: xref section found by scanning",
        "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    ),
    Row(
        "a change after signing that nothing explains",
        lambda: updated_after_signing(
            signature(coverage_level="ENTIRE_REVISION", diff_level="OTHER", diff_message="a new /Info dictionary")
        ),
        INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
        "revision 1: pyHanko's change analysis cannot explain an update: a new /Info dictionary",
        "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    ),
    Row(
        "not validated at all",
        lambda: document(signature(ades_sub_indication="")),
        INDETERMINATE,
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "the signature was not validated",
        "Không kiểm tra được chuỗi chứng thư.",
    ),
    Row(
        "the validator stopped",
        lambda: document(
            signature(
                ades_sub_indication="CERTIFICATE_CHAIN_GENERAL_FAILURE",
                ades_message="the certificate and revocation checks stopped: ValueError: bad OCSP response",
            )
        ),
        INDETERMINATE,
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "the certificate and revocation checks stopped: ValueError: bad OCSP response",
        "Không kiểm tra được chuỗi chứng thư.",
    ),
    # -- INDETERMINATE: pyHanko's sub-indications, passed on ------------------------------------------------
    Row(
        "no chain to a trusted root",
        lambda: pyhanko_says("NO_CERTIFICATE_CHAIN_FOUND", trust_anchor=None, revocation_status="not-checked"),
        INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
        "no chain from the signer's certificate to a trusted root",
        "Chứng thư của người ký không thuộc danh sách tin cậy.",
    ),
    Row(
        "no revocation information (hard-fail)",
        lambda: pyhanko_says("TRY_LATER", revocation_status="unknown", revocation_sources=()),
        INDETERMINATE,
        "TRY_LATER",
        "no revocation information (CRL or OCSP) for a certificate of the chain (hard-fail policy)",
        "Không có thông tin thu hồi (CRL/OCSP) cho chứng thư; chưa thể kiểm tra.",
    ),
    Row(
        "revoked, no proof of existence before",
        lambda: pyhanko_says("REVOKED_NO_POE", revocation_status="revoked"),
        INDETERMINATE,
        "REVOKED_NO_POE",
        "the signer's certificate is revoked and no time-stamp proves the signature came before",
        "Chứng thư của người ký đã bị thu hồi và không có dấu thời gian chứng minh ký trước đó.",
    ),
    Row(
        "expired, no proof of existence before",
        lambda: pyhanko_says("OUT_OF_BOUNDS_NO_POE"),
        INDETERMINATE,
        "OUT_OF_BOUNDS_NO_POE",
        "the signer's certificate has expired and no time-stamp proves the signature came before",
        "Chứng thư của người ký đã hết hạn và không có dấu thời gian chứng minh ký trước đó.",
    ),
    Row(
        "pyHanko: CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        lambda: pyhanko_says("CRYPTO_CONSTRAINTS_FAILURE_NO_POE"),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        "an algorithm or key size no longer accepted",
        "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    ),
    Row(
        "pyHanko: CRYPTO_CONSTRAINTS_FAILURE",
        lambda: pyhanko_says("CRYPTO_CONSTRAINTS_FAILURE"),
        INDETERMINATE,
        "CRYPTO_CONSTRAINTS_FAILURE",
        "an algorithm or key size not accepted",
        "Thuật toán hoặc độ dài khoá không được chấp nhận.",
    ),
    Row(
        "pyHanko: CHAIN_CONSTRAINTS_FAILURE",
        lambda: pyhanko_says("CHAIN_CONSTRAINTS_FAILURE"),
        INDETERMINATE,
        "CHAIN_CONSTRAINTS_FAILURE",
        "the certificate chain does not meet the validation constraints",
        "Chuỗi chứng thư không đáp ứng yêu cầu kiểm tra.",
    ),
    Row(
        "pyHanko: SIG_CONSTRAINTS_FAILURE",
        lambda: pyhanko_says("SIG_CONSTRAINTS_FAILURE"),
        INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
        "the signature does not meet the validation constraints",
        "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    ),
    Row(
        "pyHanko: CERTIFICATE_CHAIN_GENERAL_FAILURE",
        lambda: pyhanko_says("CERTIFICATE_CHAIN_GENERAL_FAILURE"),
        INDETERMINATE,
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "certificate chain general failure",
        "Không kiểm tra được chuỗi chứng thư.",
    ),
    # The rest have no description of their own: the report spells out the code.
    *(
        Row(f"pyHanko: {sub}", lambda sub=sub: pyhanko_says(sub), INDETERMINATE, sub, spelled)
        for sub, spelled in (
            ("EXPIRED", "expired"),
            ("POLICY_PROCESSING_ERROR", "policy processing error"),
            ("SIGNATURE_POLICY_NOT_AVAILABLE", "signature policy not available"),
            ("TIMESTAMP_ORDER_FAILURE", "timestamp order failure"),
            ("NO_SIGNING_CERTIFICATE_FOUND", "no signing certificate found"),
            ("REVOKED_CA_NO_POE", "revoked ca no poe"),
            ("REVOCATION_OUT_OF_BOUNDS_NO_POE", "revocation out of bounds no poe"),
            ("OUT_OF_BOUNDS_NOT_REVOKED", "out of bounds not revoked"),
            ("NO_POE", "no poe"),
            ("SIGNED_DATA_NOT_FOUND", "signed data not found"),
            ("GENERIC", "generic"),
        )
    ),
]


def judged(facts: DocumentFacts, policy: ValidationPolicy) -> DocumentReport:
    return judge_document(facts, policy, file_name="quyet-dinh.pdf", validation_time=NOW)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_verdict_from_facts(row: Row) -> None:
    report = judged(row.facts(), row.policy)
    [sig] = report.signatures
    assert (sig.indication, sig.sub_indication) == (row.indication, row.sub_indication)
    if row.indication is FAILED:
        assert sig.errors[0] == row.explanation
    else:
        assert sig.errors == []
        assert (sig.warnings[0] if sig.warnings else None) == row.explanation
    assert SUB_INDICATIONS_VI.get(sig.sub_indication or "") == row.reason_vi
    # One signature: the document's verdict is the signature's.
    assert (report.indication, report.sub_indication) == (row.indication, row.sub_indication)
    assert report.all_passed is (row.indication is PASSED)


def test_the_table_has_a_row_for_every_sub_indication_pyhanko_can_report() -> None:
    covered = {(r.indication, r.sub_indication) for r in ROWS}
    # NOT_YET_VALID is both a failure and an indeterminate code in EN 319 102-1; the verifier makes it a failure.
    assert {(FAILED, s.name) for s in AdESFailure} <= covered
    assert {(INDETERMINATE, s.name) for s in AdESIndeterminate if s.name != "NOT_YET_VALID"} <= covered
    assert (PASSED, None) in covered


def test_a_document_without_signatures_has_no_signature() -> None:
    report = judged(document(signatures=()), ValidationPolicy())
    assert (report.indication, report.sub_indication) == (Indication.NO_SIGNATURE, None)
    assert report.signatures == ()
    assert not report.all_passed


def test_the_document_takes_its_worst_signature() -> None:
    passing = signature(field_name="ChuKy1")
    untrusted = signature(field_name="ChuKy2", ades_sub_indication="NO_CERTIFICATE_CHAIN_FOUND", trust_anchor=None)
    forged = signature(field_name="ChuKy3", crypto_valid=False)
    report = judged(document(signatures=(passing, untrusted, forged)), ValidationPolicy())
    assert [(s.field_name, s.indication, s.sub_indication) for s in report.signatures] == [
        ("ChuKy1", PASSED, None),
        ("ChuKy2", INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"),
        ("ChuKy3", FAILED, "SIG_CRYPTO_FAILURE"),
    ]
    assert (report.indication, report.sub_indication) == (FAILED, "SIG_CRYPTO_FAILURE")

    report = judged(document(signatures=(passing, untrusted)), ValidationPolicy())
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")


def test_the_first_failure_decides_and_every_finding_is_listed() -> None:
    """A changed document whose signer is also untrusted: HASH_FAILURE decides, the rest stay in the report."""
    report = judged(
        document(signature(intact=False, ades_sub_indication="NO_CERTIFICATE_CHAIN_FOUND", digest_algorithm="sha1")),
        ValidationPolicy(),
    )
    [sig] = report.signatures
    assert (sig.indication, sig.sub_indication) == (FAILED, "HASH_FAILURE")
    assert sig.errors == ["the signed bytes were changed after signing (digest mismatch)"]
    assert sig.warnings == ["no chain from the signer's certificate to a trusted root", "weak digest algorithm SHA1"]
