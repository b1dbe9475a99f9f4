"""PDFs we sign with a throw-away PKI, then break in known ways; each verdict is cross-checked with pdfsig
where pdfsig can judge (the digest, the coverage), reading its output and never its exit code."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from signing.validation import Indication
from tests.signing.signed_pdfs import (
    NOW,
    SIGNER_NAME,
    ThrowawayPki,
    add_dss,
    add_dss_crl,
    blank_pdf,
    change_page_content,
    pdfsig,
    pki_fixture,
    sign,
    sign_pkcs7_sha1,
    verify,
    with_active_content,
    with_javascript,
    with_opening_destination_and_chained_script,
)

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


def _break_prev_link(pdf: bytes, revision: int) -> bytes:
    """Overwrite the /Prev of the ``revision``-th update (1 = first update) with /Prev 0, keeping every offset."""
    found = list(re.finditer(rb"/Prev (\d+)", pdf))[revision - 1]
    broken = b"/Prev 0".ljust(len(found.group(0)))
    return pdf[: found.start()] + broken + pdf[found.end() :]


def test_broken_prev_link_in_a_covered_revision_is_read_and_caught(pki: ThrowawayPki, blta: bytes) -> None:
    # Revisions: signature, DSS, document time-stamp. Breaking the DSS update's /Prev (inside the time-stamp's
    # signed bytes) stops pyHanko's reading; the revisions are found by scanning, and the time-stamp fails.
    broken = _break_prev_link(blta, 2)
    report = verify(broken, pki.trusted())
    assert [s.kind for s in report.signatures] == ["signature", "document-timestamp"]
    sig, docts = report.signatures
    assert docts.indication is Indication.TOTAL_FAILED and docts.sub_indication == "HASH_FAILURE"
    assert sig.integrity["intact"] is True
    assert sig.indication is Indication.INDETERMINATE  # intact, but read from repaired cross-references
    assert any("/Prev 0" in w for w in report.warnings)


def test_broken_prev_link_after_the_signature_never_passes(pki: ThrowawayPki, blt: bytes) -> None:
    # Revisions: signature, DSS. The DSS update is signed by nobody; its broken link makes the reading a repair.
    report = verify(_break_prev_link(blt, 2), pki.trusted())
    sig = report.signatures[0]
    assert sig.integrity["intact"] is True and sig.integrity["signature_valid"] is True
    assert sig.indication is Indication.INDETERMINATE and sig.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    assert any("rebuilt by scanning" in w for w in sig.warnings)


@pytest.mark.parametrize("algorithm", [hashes.SHA512(), hashes.SHA384(), hashes.SHA1()], ids=lambda a: a.name)
def test_ocsp_response_is_used_whatever_its_certid_hash(pki: ThrowawayPki, algorithm: hashes.HashAlgorithm) -> None:
    # pyhanko-certvalidator looked the CertID hash up as an attribute asn1crypto has only for SHA-1 and SHA-256.
    signed = add_dss(sign(pki, blank_pdf(), level="B-B"), ocsps=[pki.ocsp(algorithm=algorithm)])
    sig = verify(signed, pki.trusted()).signatures[0]
    assert sig.indication is Indication.TOTAL_PASSED, sig.warnings
    assert sig.revocation["status"] == "good"
    assert sig.revocation["sources"] == ["OCSP (document)"]


def test_revoked_in_a_sha512_ocsp_response_is_revoked(pki: ThrowawayPki) -> None:
    ocsp = pki.ocsp(revoked_at=NOW - timedelta(days=2), algorithm=hashes.SHA512())
    sig = verify(add_dss(sign(pki, blank_pdf(), level="B-B"), ocsps=[ocsp]), pki.trusted()).signatures[0]
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication == "REVOKED_NO_POE"
    assert sig.revocation["status"] == "revoked"


def test_revocation_data_for_another_certificate_is_try_later_not_good(pki: ThrowawayPki) -> None:
    signed = add_dss(sign(pki, blank_pdf(), level="B-B"), ocsps=[pki.ocsp(cert=pki.tsa)])
    sig = verify(signed, pki.trusted()).signatures[0]
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication == "TRY_LATER"
    assert sig.revocation["status"] == "unknown"
    assert any("serial number does not match" in w for w in sig.warnings), sig.warnings  # the reason is kept


# -- legacy adbe.pkcs7.sha1: the signed data encapsulates the SHA-1 digest of the byte range ------------------


@pytest.fixture(scope="module")
def legacy_sha1(pki: ThrowawayPki) -> bytes:
    return add_dss_crl(sign_pkcs7_sha1(pki, blank_pdf()), pki.crl())


def test_legacy_sha1_signature_is_checked_but_never_passes(
    pki: ThrowawayPki, legacy_sha1: bytes, tmp_path: Path
) -> None:
    sig = verify(legacy_sha1, pki.trusted()).signatures[0]
    assert sig.integrity["sub_filter"] == "/adbe.pkcs7.sha1"
    assert sig.integrity["intact"] is True and sig.integrity["signature_valid"] is True
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication is not None and sig.sub_indication.startswith("CRYPTO_CONSTRAINTS_FAILURE")
    assert any("adbe.pkcs7.sha1" in w for w in sig.warnings)
    ps = pdfsig(legacy_sha1, tmp_path, pki)
    assert ps.signatures[0]["Signature Type"] == "adbe.pkcs7.sha1"
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."


def test_legacy_sha1_signature_with_a_changed_byte_is_hash_failure(
    pki: ThrowawayPki, legacy_sha1: bytes, tmp_path: Path
) -> None:
    at = legacy_sha1.index(b"page 1")
    tampered = legacy_sha1[:at] + b"PAGE 1" + legacy_sha1[at + 6 :]
    sig = verify(tampered, pki.trusted()).signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED and sig.sub_indication == "HASH_FAILURE"
    assert sig.integrity["intact"] is False
    assert sig.integrity["signature_valid"] is True  # the CMS itself is untouched: only the document changed
    ps = pdfsig(tampered, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Digest Mismatch."


def test_legacy_sha1_signature_over_another_digest_is_hash_failure(pki: ThrowawayPki) -> None:
    signed = sign_pkcs7_sha1(pki, blank_pdf(), digest=bytes(20))
    sig = verify(signed, pki.trusted()).signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED and sig.sub_indication == "HASH_FAILURE"


def test_time_stamped_signature_with_later_validation_data_passes(pki: ThrowawayPki, tmp_path: Path) -> None:
    # B-LT without a document time-stamp: EN 319 102-1 5.5 passes it. (pyHanko's long-term process alone
    # answered NO_POE, since no archive time-stamp proves when the revocation data existed.)
    signed = add_dss_crl(sign(pki, blank_pdf(), level="B-T"), pki.crl())
    sig = verify(signed, pki.trusted()).signatures[0]
    assert sig.indication is Indication.TOTAL_PASSED, (sig.sub_indication, sig.warnings)
    assert sig.level == "B-LT"
    assert sig.timestamp is not None and sig.timestamp["sub_indication"] == "OK"
    assert sig.timestamp_time is not None
    assert sig.revocation["status"] == "good"
    ps = pdfsig(signed, tmp_path, pki)
    assert ps.signatures[0]["Signature Validation"] == "Signature is Valid."


def test_time_stamped_signature_without_revocation_data_is_try_later(pki: ThrowawayPki) -> None:
    sig = verify(sign(pki, blank_pdf(), level="B-T"), pki.trusted()).signatures[0]
    assert sig.indication is Indication.INDETERMINATE and sig.sub_indication == "TRY_LATER"
    assert sig.level == "B-T"


def test_javascript_in_the_signed_document_is_reported(pki: ThrowawayPki, blt: bytes, tmp_path: Path) -> None:
    """Signed with its scripts, the signature holds; the report says the document can change what it shows."""
    signed = sign(pki, with_javascript(blank_pdf()), level="B-LT")
    report = verify(signed, pki.trusted())
    assert report.indication is Indication.TOTAL_PASSED
    [warning] = [w for w in report.warnings if "JavaScript" in w]
    assert "opening action" in warning and "page 1 annotation actions" in warning
    assert pdfsig(signed, tmp_path, pki).signatures[0]["Signature Validation"] == "Signature is Valid."
    assert not [w for w in verify(blt, pki.trusted()).warnings if "JavaScript" in w]


def test_an_opening_destination_is_searched_and_a_chained_script_found(pki: ThrowawayPki) -> None:
    """``/OpenAction [page /Fit]`` (how most PDFs open) was reported as "could not be searched for active
    content"; a script at the end of a ``/Next`` array is found like any other."""
    report = verify(sign(pki, with_opening_destination_and_chained_script(blank_pdf()), level="B-LT"), pki.trusted())
    assert report.indication is Indication.TOTAL_PASSED
    assert not [w for w in report.warnings if "could not be searched" in w], report.warnings
    [warning] = [w for w in report.warnings if "JavaScript" in w]
    assert "page 1 annotation actions" in warning and "opening action" not in warning


def test_launch_actions_embedded_files_and_xfa_are_reported(pki: ThrowawayPki, blt: bytes) -> None:
    """Active content beside scripts: each is a warning of the report, none changes the verdict."""
    report = verify(sign(pki, with_active_content(blank_pdf()), level="B-LT"), pki.trusted())
    assert report.indication is Indication.TOTAL_PASSED
    [launch] = [w for w in report.warnings if "launch a program" in w]
    assert "page 1 annotation actions" in launch
    [attached] = [w for w in report.warnings if "embedded files" in w]
    assert "hoa-don.exe" in attached
    assert [w for w in report.warnings if "XFA" in w]
    assert not [w for w in verify(blt, pki.trusted()).warnings if "launch" in w or "embedded" in w or "XFA" in w]


def test_a_large_file_from_disk_and_from_memory_gets_the_same_report(pki: ThrowawayPki, tmp_path: Path) -> None:
    """Files of 1 MB or more are hashed on another core (os.pread from disk, the buffer in memory)."""
    import hashlib

    from signing.validation import verify_file

    signed = sign(pki, blank_pdf(padding=2 * 1024 * 1024), level="B-LT")
    path = tmp_path / "lon.pdf"
    path.write_bytes(signed)
    from_disk = verify_file(path, pki.trusted())
    in_memory = verify(signed, pki.trusted())
    assert from_disk.sha256 == in_memory.sha256 == hashlib.sha256(signed).hexdigest()
    assert from_disk.indication is in_memory.indication is Indication.TOTAL_PASSED
    tampered = bytearray(signed)
    tampered[len(signed) // 2] ^= 0x01  # inside the padding stream, covered by the signature
    assert verify(bytes(tampered), pki.trusted()).signatures[0].indication is Indication.TOTAL_FAILED
