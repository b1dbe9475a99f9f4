"""Revocation data a document carries, bounded (issue 14, item 9): what the verifier parses per document and keeps.

A hostile upload's document security store can carry tens of megabytes of CRLs (a 500 KB CRL of 20,000 entries
took 1.9 s and 30 MB to decode whole): past the policy's bytes and count, the rest is not read, the report says
so and the signature can no longer pass; large CRLs are not decoded whole nor cached; the caches keep their
bounds in bytes as well as count.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from signing.pades.reading import dss
from signing.pades.reading.certificates import FACTS_CACHE
from signing.validation.models import DocumentReport, Indication
from signing.validation.service import verify_bytes
from tests.signing.bombs import (
    deflated_crls,
    dss_crls_pdf,
    large_crls,
    signed_crl,
    with_dss,
    with_dss_certificate_streams,
)
from tests.signing.signed_pdfs import NOW, ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()

MiB = 1024 * 1024
IGNORED = "revocation data past the verifier's limit was ignored"


@pytest.fixture(scope="module")
def b_lt(pki: ThrowawayPki) -> bytes:
    signed: bytes = sign(pki, blank_pdf(), level="B-LT")
    return signed


@pytest.fixture(scope="module")
def small_crls() -> list[bytes]:
    return large_crls(40, 300)  # 40 CRLs of about 7 KB each


def _only(report: DocumentReport) -> Indication:
    assert len(report.signatures) == 1
    return report.signatures[0].indication


def _says_ignored(report: DocumentReport) -> bool:
    sig = report.signatures[0]
    return any(IGNORED in w for w in report.warnings) and any(IGNORED in m for m in (*sig.errors, *sig.warnings))


def test_extra_crls_within_the_limits_change_nothing(pki: ThrowawayPki, b_lt: bytes, small_crls: list[bytes]) -> None:
    report = verify_bytes(with_dss(b_lt, crls=small_crls), pki.trusted())
    assert _only(report) is Indication.TOTAL_PASSED
    assert not any(IGNORED in w for w in report.warnings)
    assert report.dss["crls"] == 41 and report.dss["ignored"] == ""


def test_crls_past_the_count_are_ignored_and_the_signature_cannot_pass(
    pki: ThrowawayPki, b_lt: bytes, small_crls: list[bytes]
) -> None:
    policy = dataclasses.replace(pki.trusted(), max_revocation_items=10)
    report = verify_bytes(with_dss(b_lt, crls=small_crls), policy)
    assert _only(report) is Indication.INDETERMINATE
    assert _says_ignored(report)
    assert report.dss["crls"] == 10 and "31 CRLs" in report.dss["ignored"]


def test_crls_past_the_bytes_are_ignored_and_the_signature_cannot_pass(
    pki: ThrowawayPki, b_lt: bytes, small_crls: list[bytes]
) -> None:
    policy = dataclasses.replace(pki.trusted(), max_revocation_bytes=50_000)
    report = verify_bytes(with_dss(b_lt, crls=small_crls), policy)
    assert _only(report) is Indication.INDETERMINATE and _says_ignored(report)
    assert report.dss["crls"] < 10


def test_certificates_past_their_count_are_ignored(pki: ThrowawayPki, b_lt: bytes) -> None:
    policy = dataclasses.replace(pki.trusted(), max_dss_certificates=1)
    report = verify_bytes(b_lt, policy)  # pyHanko's B-LT puts the signer's chain (two certificates) in the DSS
    assert _only(report) is Indication.INDETERMINATE and _says_ignored(report)
    assert "certificates" in report.dss["ignored"]


def test_a_revoking_crl_hidden_past_the_limit_gives_no_pass(pki: ThrowawayPki, small_crls: list[bytes]) -> None:
    """The CRL that says revoked is left unread: the verdict must not be the pass the good OCSP alone would give."""
    revoking = pki.crl({pki.signer.serial_number: NOW - timedelta(days=1)})
    signed = sign(pki, blank_pdf(), level="B-LT")
    policy = dataclasses.replace(pki.trusted(), max_revocation_items=len(small_crls))
    report = verify_bytes(with_dss(signed, crls=[*small_crls, revoking]), policy)
    assert _only(report) is not Indication.TOTAL_PASSED and _says_ignored(report)


def test_a_large_crl_is_used_but_not_kept(pki: ThrowawayPki) -> None:
    """A national CA's CRL of a few MB (here 100,000 entries, 2.5 MB): the signature passes, and the CRL is read
    for this document only (whole, it would hold about 60 times its size in every worker)."""
    serials = range(10**9, 10**9 + 100_000)
    big = signed_crl(pki.root.subject, pki.root_key, serials, NOW - timedelta(hours=1), NOW + timedelta(days=7))
    assert len(big) > 2_000_000
    dss.CRL_CACHE.clear()
    signed = sign(pki, blank_pdf(), level="B-LT", crl=big)
    for _ in range(2):
        report = verify_bytes(signed, pki.trusted())
        assert _only(report) is Indication.TOTAL_PASSED and report.dss["crls"] == 1
        assert len(dss.CRL_CACHE) == 0 and dss.CRL_CACHE.weight == 0


def test_a_revoking_large_crl_is_still_read(pki: ThrowawayPki, b_lt: bytes) -> None:
    """Read lazily, a large CRL still revokes: the signer's serial is its last entry (added after signing, as a
    later B-LT update would)."""
    serials = [*range(10**9, 10**9 + 20_000), pki.signer.serial_number]
    big = signed_crl(pki.root.subject, pki.root_key, serials, NOW - timedelta(hours=1), NOW + timedelta(days=7))
    assert len(big) > dss.EAGER_CRL_BYTES
    report = verify_bytes(with_dss(b_lt, crls=[big]), pki.trusted())
    assert _only(report) is not Indication.TOTAL_PASSED
    assert report.signatures[0].revocation["status"] == "revoked", report.signatures[0].revocation


def test_the_caches_hold_at_most_their_bounds_after_a_second_verification(pki: ThrowawayPki, b_lt: bytes) -> None:
    many = large_crls(24, 1600)  # 24 CRLs of about 40 KB: past the CRL cache's count (16) and bytes (512 KiB)
    hostile = with_dss(b_lt, crls=many)
    for _ in range(2):
        report = verify_bytes(hostile, pki.trusted())
        assert _only(report) is Indication.TOTAL_PASSED
    for cache in (dss.CRL_CACHE, dss.OCSP_CACHE, dss.CERTIFICATE_CACHE, FACTS_CACHE):
        assert len(cache) <= cache.max_entries and cache.weight <= cache.max_bytes
    assert dss.CRL_CACHE.weight > dss.CRL_CACHE.max_bytes - 20_000  # filled to its bytes
    assert len(dss.CRL_CACHE) < dss.CRL_CACHE.max_entries  # which bound first


def _signed_carrying(pki: ThrowawayPki, extra_certificates: int) -> bytes:
    """A B-B signature whose CMS carries ``extra_certificates`` made-up certificates beside its chain."""
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from tests.signing.signed_pdfs import pyhanko_signer

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "made up")])
    extra = [
        asn1_x509.Certificate.load(
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, f"Cán bộ {i}")]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(10**10 + i)
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=30))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        for i in range(extra_certificates)
    ]
    plain = pyhanko_signer(pki)
    signer = signers.SimpleSigner(
        signing_cert=plain.signing_cert,
        signing_key=plain.signing_key,
        cert_registry=SimpleCertificateStore.from_certs([*plain.cert_registry, *extra]),
    )
    meta = signers.PdfSignatureMetadata(field_name="ChuKy1", subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(blank_pdf())), meta, signer=signer)
    return bytes(out.getvalue())


def test_a_signature_carrying_too_many_certificates_is_not_validated(pki: ThrowawayPki) -> None:
    """pyHanko files each certificate a CMS carries (3,000 cost 10-14 s); past the limit the signature is
    INDETERMINATE, saying why, and its certificates are not read."""
    policy = dataclasses.replace(pki.trusted(), max_cms_certificates=20)
    report = verify_bytes(_signed_carrying(pki, 25), policy)
    assert _only(report) is Indication.INDETERMINATE
    sig = report.signatures[0]
    assert any("certificates, more than the verifier reads (20)" in w for w in (*sig.warnings, *sig.errors)), sig
    within = verify_bytes(_signed_carrying(pki, 5), policy)  # the same signature with fewer: validated as usual
    assert not any("more than the verifier reads" in w for w in within.signatures[0].warnings)
    assert within.signatures[0].signer is not None


# -- the store counted and sized before it is decoded ---------------------------------------------------------


def _signer_der(pki: ThrowawayPki) -> bytes:
    return pki.signer.public_bytes(serialization.Encoding.DER)


def test_certificate_streams_past_the_count_are_never_decoded(pki: ThrowawayPki, b_lt: bytes) -> None:
    """After 500 certificates, 300 streams that each inflate to almost 1 MiB (under pyHanko's own cap for a
    certificate): 300 MiB, far past the document's decode budget (32 MiB). pyHanko's reading of the store decoded
    them in turn until the budget ran out, and the whole store then counted as absent, without a word. Counted
    first, none is decoded: the store's 500 certificates are used, and the report says what was not read."""
    bombs = deflated_crls(MiB - 4096, 300)
    hostile = with_dss_certificate_streams(b_lt, [_signer_der(pki)] * 500, deflated=bombs)
    report = verify_bytes(hostile, pki.trusted())
    assert _only(report) is Indication.INDETERMINATE and _says_ignored(report)
    # the store's own two, then 498 of the 500 added; the rest of those and every bomb not read
    assert report.dss["certificates"] == 500 and "302 certificates" in report.dss["ignored"]
    # nor does pyHanko's change analysis read the store's update again (it would parse every stream of it)
    sig = report.signatures[0]
    skipped = "the changes after signing were not analysed: the document security store is past the verifier's limits"
    assert any(skipped in m for m in (*sig.errors, *sig.warnings)), sig


def test_a_certificate_stream_too_large_in_the_file_or_decoded_is_not_read(pki: ThrowawayPki, b_lt: bytes) -> None:
    padded = _signer_der(pki) + bytes(100_000)  # a certificate then padding: 100 KB in the file
    inflating = deflated_crls(900_000)  # 1 KB in the file, 900 KB decoded
    report = verify_bytes(with_dss_certificate_streams(b_lt, [padded], deflated=inflating), pki.trusted())
    assert _only(report) is Indication.INDETERMINATE and _says_ignored(report)
    assert report.dss["certificates"] == 2 and "2 certificates" in report.dss["ignored"]
    assert "64 KB at most each" in report.dss["ignored"]


def test_an_update_writing_more_objects_than_analysed_keeps_the_signature_from_passing(
    pki: ThrowawayPki, b_lt: bytes
) -> None:
    """2,500 certificate streams, within a store limit raised to 3,000: the store is read, but pyHanko's change
    analysis (which reads every object an update writes) is not run past 2,000 objects, and the report says so."""
    hostile = with_dss_certificate_streams(b_lt, [_signer_der(pki)] * 2500)
    roomy = dataclasses.replace(pki.trusted(), max_dss_certificates=3000)
    report = verify_bytes(hostile, roomy)
    assert _only(report) is Indication.INDETERMINATE and report.dss["ignored"] == ""
    sig = report.signatures[0]
    said = [m for m in (*sig.errors, *sig.warnings) if "the changes after signing were not analysed" in m]
    assert said and "more than the verifier analyses (2000)" in said[0], sig
    analysed = verify_bytes(hostile, dataclasses.replace(roomy, max_analysed_objects=3000))
    assert _only(analysed) is Indication.TOTAL_PASSED  # what the limit alone decided


def test_past_the_bytes_no_further_crl_is_decoded(pki: ThrowawayPki, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stream past what was left was decoded up to that before it was refused, then the next one too: 995 CRL
    streams of 4 MB after the first 20 MB inflated about 1 GB, 5 s for nothing. After the first refused, none is."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    decoded: list[int] = []  # the encoded size of each stream a decode was begun for
    read_data = generic.StreamObject.read_data

    def counted(self: generic.StreamObject, *args: object, **kwargs: object) -> bytes:
        decoded.append(len(self.encoded_data))
        data: bytes = read_data(self, *args, **kwargs)  # type: ignore[arg-type]
        return data

    monkeypatch.setattr(generic.StreamObject, "read_data", counted)
    reader = PdfFileReader(io.BytesIO(dss_crls_pdf(deflated_crls(2 * MiB, 50))), strict=False)
    policy = dataclasses.replace(pki.trusted(), max_revocation_bytes=3 * MiB)
    knowledge = dss.dss_knowledge(reader, policy)
    assert "49 CRLs" in knowledge.ignored
    assert len(decoded) == 2  # the first read, the second stopped past the 1 MiB left, the other 48 not begun
