"""The certificates the verifier caches (those a signed PDF's document security store carries: the same signers and
CAs come back in document after document) are read by every request thread of a worker at once. Verifying one
document in 4 threads of a fresh worker, about one run in three had a signature INDETERMINATE
(`CERTIFICATE_CHAIN_GENERAL_FAILURE`, "the certificate and revocation checks stopped: TypeError: asn1crypto.x509.URI
value must be a unicode string, not NoneType"): asn1crypto sets a CRL distribution point's URL to None, then to the
URL, and another thread read the None."""

from __future__ import annotations

import io
import threading

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pades.reading.dss import CERTIFICATE_CACHE, dss_knowledge
from signing.service import SignRequest
from tests.signing.conftest import Platform

THREADS = 4
ROUNDS = 200


def what_the_validator_reads(cert: x509.Certificate) -> tuple[object, ...]:
    """What pyHanko's path building and revocation checks read of a certificate (CRL and OCSP URLs, self-signed)."""
    return (tuple(p.url for p in cert.crl_distribution_points), tuple(cert.ocsp_urls), cert.self_signed)


def test_threads_of_a_fresh_worker_read_the_same_urls_from_the_cached_certificates(
    platform: Platform, plain_pdf: bytes, switch_often: None
) -> None:
    signed = platform.sign_bytes(plain_pdf, SignRequest("an", level="B-LT"))
    expected = [
        what_the_validator_reads(x509.Certificate.load(cert.dump()))
        for cert in dss_knowledge(PdfFileReader(io.BytesIO(signed), strict=False)).knowledge.known_certs
    ]
    assert any(urls for urls, _ocsp, _self in expected)  # the signer's and the issuing CA's CRL
    assert {"no", "maybe"} <= {s for *_urls, s in expected}  # the root "maybe" (its signature not checked here)
    failures: list[BaseException] = []
    wrong: list[object] = []
    for _ in range(ROUNDS):
        CERTIFICATE_CACHE.clear()  # a worker just started
        shared = dss_knowledge(PdfFileReader(io.BytesIO(signed), strict=False)).knowledge.known_certs

        def validate(certs: list[x509.Certificate], together: threading.Barrier) -> None:
            together.wait()
            try:
                seen = [what_the_validator_reads(cert) for cert in certs]
            except Exception as err:
                failures.append(err)
            else:
                if seen != expected:
                    wrong.append(seen)

        together = threading.Barrier(THREADS)
        threads = [threading.Thread(target=validate, args=(list(shared), together)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == [], f"{len(failures)} of {ROUNDS * THREADS} failed: {failures[:3]!r}"
    assert wrong == [], f"{len(wrong)} of {ROUNDS * THREADS} read other values: {wrong[:1]!r}"
