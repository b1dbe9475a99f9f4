"""PDFs we sign with a throw-away PKI, then break in known ways; each verdict is cross-checked with pdfsig
where pdfsig can judge (the digest, the coverage), reading its output and never its exit code."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from conftest_verify import (
    NOW,
    SIGNER_NAME,
    ThrowawayPki,
    add_dss_crl,
    blank_pdf,
    change_page_content,
    pdfsig,
    pki_fixture,
    sign,
    verify,
)

from signing.validation import Indication

pki = pki_fixture()


@pytest.fixture(scope="module")
def blta(pki: ThrowawayPki) -> bytes:
    return sign(pki, blank_pdf(), level="B-LTA")


@pytest.fixture(scope="module")
def blt(pki: ThrowawayPki) -> bytes:
    return sign(pki, blank_pdf(), level="B-LT")


def test_intact_signature_passes_when_its_root_is_trusted(pki: ThrowawayPki, blt: bytes, tmp_path: Path) -> None:
    report = verify(blt, pki.trusted())
    sig = report.signatures[0]
    assert report.indication is Indication.TOTAL_PASSED
    assert sig.indication is Indication.TOTAL_PASSED and sig.sub_indication is None
    assert sig.signer is not None and sig.signer.common_name == SIGNER_NAME  # diacritics intact
    assert sig.trust_anchor is not None and sig.trust_anchor.common_name == "Ấn Tín Test Root CA"
    assert [c.common_name for c in sig.chain] == [SIGNER_NAME, "Ấn Tín Test Root CA"]
    assert sig.revocation["status"] == "good"
    assert sig.integrity["intact"] and sig.integrity["signature_valid"]
    assert sig.coverage["whole_revision"]
    ps = pdfsig(blt, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."


def test_intact_signature_is_indeterminate_without_a_trusted_root(pki: ThrowawayPki, blt: bytes) -> None:
    report = verify(blt, pki.untrusted())
    assert report.indication is Indication.INDETERMINATE
    assert report.signatures[0].sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.signatures[0].trust_anchor is None


def test_byte_flipped_in_signed_range_is_hash_failure(pki: ThrowawayPki, blt: bytes, tmp_path: Path) -> None:
    at = blt.index(b"page 1")
    tampered = blt[:at] + b"PAGE 1" + blt[at + 6 :]
    report = verify(tampered, pki.trusted())
    assert report.indication is Indication.TOTAL_FAILED
    assert report.signatures[0].sub_indication == "HASH_FAILURE"
    assert report.signatures[0].integrity["intact"] is False
    ps = pdfsig(tampered, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Digest Mismatch."


def test_page_content_changed_by_incremental_update_never_passes(
    pki: ThrowawayPki,
    blt: bytes,
    tmp_path: Path,
) -> None:
    changed = change_page_content(blt)
    report = verify(changed, pki.trusted())
    sig = report.signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED
    assert sig.sub_indication == "FORMAT_FAILURE"
    assert any(m["kind"] == "page-content" and m["page"] == 1 for m in sig.modifications)
    assert sig.integrity["intact"] is True  # the signed revision itself is untouched
    # pdfsig checks only the signed bytes: valid, but it notes the file is not wholly signed.
    ps = pdfsig(changed, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."
    assert "Not total document signed" in ps.raw


def test_revoked_signer_after_proven_signing_time_is_revoked(pki: ThrowawayPki, tmp_path: Path) -> None:
    revoked_at = NOW - timedelta(days=2)
    crl = pki.crl({pki.signer.serial_number: revoked_at})
    # A content time-stamp (signed attribute) proves the signature was made after it, and so after the
    # revocation: EN 319 102-1 then says REVOKED. (A signature time-stamp proves only "before".)
    signed = sign(pki, blank_pdf(), level="B-B", ts_time=NOW - timedelta(days=1), content_timestamp=True)
    report = verify(add_dss_crl(signed, crl), pki.trusted())
    sig = report.signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED
    assert sig.sub_indication == "REVOKED"
    assert sig.revocation["status"] == "revoked"
    ps = pdfsig(signed, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."  # pdfsig does not read our CRL


def test_revoked_signer_without_time_stamp_is_revoked_no_poe(pki: ThrowawayPki) -> None:
    crl = pki.crl({pki.signer.serial_number: NOW - timedelta(days=2)})
    signed = sign(pki, blank_pdf(), level="B-B")
    report = verify(add_dss_crl(signed, crl), pki.trusted())
    sig = report.signatures[0]
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication == "REVOKED_NO_POE"
    assert sig.revocation["status"] == "revoked"


def test_no_revocation_data_is_try_later_under_hard_fail(pki: ThrowawayPki) -> None:
    report = verify(sign(pki, blank_pdf(), level="B-B"), pki.trusted())
    assert report.signatures[0].indication is Indication.INDETERMINATE
    assert report.signatures[0].sub_indication == "TRY_LATER"
    assert report.signatures[0].revocation["status"] == "unknown"


def test_sha1_signature_never_passes(pki: ThrowawayPki, tmp_path: Path) -> None:
    # pyHanko refuses to embed validation data for SHA-1, so the CRL goes into the DSS afterwards.
    signed = add_dss_crl(sign(pki, blank_pdf(), level="B-B", md="sha1"), pki.crl())
    report = verify(signed, pki.trusted())
    sig = report.signatures[0]
    assert sig.indication is not Indication.TOTAL_PASSED
    assert sig.sub_indication in ("CRYPTO_CONSTRAINTS_FAILURE", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE")
    assert sig.integrity["digest_algorithm"] == "sha1"
    ps = pdfsig(signed, tmp_path, pki)
    assert ps.signatures[0]["Signing Hash Algorithm"] == "SHA1"
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."  # pdfsig does not judge SHA-1


def test_b_lta_reports_the_signature_and_the_document_time_stamp(
    pki: ThrowawayPki,
    blta: bytes,
    tmp_path: Path,
) -> None:
    report = verify(blta, pki.trusted())
    kinds = [s.kind for s in report.signatures]
    assert kinds == ["signature", "document-timestamp"]
    sig, docts = report.signatures
    assert sig.indication is Indication.TOTAL_PASSED and docts.indication is Indication.TOTAL_PASSED
    assert sig.level == "B-LTA"
    assert sig.timestamp_time is not None and docts.timestamp_time is not None
    assert docts.timestamp_time >= sig.timestamp_time
    assert all(m["severity"] == "info" for m in sig.modifications)
    ps = pdfsig(blta, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."
    assert "Not total document signed" in ps.raw  # pdfsig's (correct) view of a B-LTA signature


def test_second_signature_keeps_the_first_valid(pki: ThrowawayPki, blt: bytes) -> None:
    twice = sign(pki, blt, field="DauCoQuan", level="B-LT")
    report = verify(twice, pki.trusted())
    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED, Indication.TOTAL_PASSED]
    first = report.signatures[0]
    assert {m["kind"] for m in first.modifications} <= {"signature-added", "signature-field-added"}


def test_bytes_appended_after_the_last_revision_are_reported(pki: ThrowawayPki, blt: bytes) -> None:
    report = verify(blt + b"\n% appended after signing\n", pki.trusted())
    assert report.signatures[0].indication is not Indication.TOTAL_PASSED
    assert report.warnings


def test_report_keeps_policy_and_trust_anchors(pki: ThrowawayPki, blt: bytes) -> None:
    data = verify(blt, dataclasses.replace(pki.trusted())).as_dict()
    assert data["policy"]["revocation"] == "hard-fail"
    assert data["policy"]["trust_anchors"][0]["common_name"] == "Ấn Tín Test Root CA"
    assert set(data["signatures"][0]) >= {
        "indication",
        "sub_indication",
        "kind",
        "signer",
        "chain",
        "trust_anchor",
        "signing_time",
        "timestamp_time",
        "level",
        "integrity",
        "coverage",
        "revocation",
        "modifications",
        "warnings",
        "errors",
    }
