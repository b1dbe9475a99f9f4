"""The verifier's caches of what recurs from document to document, each bounded by count and by bytes.

They live apart from the modules that fill them (``dss``, ``certificates``, which import pyHanko) so that the app
registers them for ``/metrics`` when it loads (``antin_cache_entries``, ``antin_cache_bytes``: every worker shows
them from its start), while pyHanko loads with the first document verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from antin.kernel.caches import register_cache
from signing.pades.reading.sized_cache import SizedLRU

if TYPE_CHECKING:
    from asn1crypto import x509
    from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

    from signing.pades.reading.facts import CertificateFacts

__all__ = ["CERTIFICATE_CACHE", "CRL_CACHE", "EAGER_CRL_BYTES", "FACTS_CACHE", "OCSP_CACHE", "MiB"]

MiB = 1024 * 1024
EAGER_CRL_BYTES = 256 * 1024
"""A CRL up to this size is parsed whole and cached for the next documents; a larger one is parsed lazily, for
this document only: pyHanko's lookup compares each entry's serial number by its encoding, so the decoded
(``.native``) form that costs about 60 times the DER (a 500 KB CRL of 20,000 entries holds 30 MB) is never built."""

# The same CRLs and CA certificates come back in document after document (the platform's CA puts its current CRL
# into every B-LT signature): parsed once per worker, they keep what asn1crypto computes for comparisons (names
# prepared for matching, digests). Everything comparisons read is computed before an object is shared, so that
# threads only ever read it. Each cache is bounded by the DER bytes its entries were parsed from as well as by
# their count; parsed, they hold about 60x (CRLs), 60x (OCSP responses) and 55x (certificates) their DER
# (tracemalloc, 2026-12-05 and -06).
# The bounds are what recurs (issue 14, item 4; tests/signing/pades/test_verifier_caches.py, docs/production.md "What
# grows in a worker"): a signing worker's CA renews each signer chain's two OCSP responses every 5 minutes
# (REVOCATION_CACHE_TTL), and a response is never met again once superseded; at 512 entries the OCSP cache took two
# new entries (~57 KB parsed each) per signer chain of each signing worker every 5 minutes, for some 5 hours under
# the soak before evicting one (its +0.8 MB per worker each 10 minutes). 32 responses hold the current ones of 16
# signer chains (2 MB parsed at most); the platform's two CRLs and its CA certificates stay, hit in every document.
CRL_CACHE: SizedLRU[bytes, CRLContainer] = SizedLRU(16, MiB // 2, EAGER_CRL_BYTES)  # at most ~30 MB parsed
OCSP_CACHE: SizedLRU[bytes, tuple[OCSPContainer, ...]] = SizedLRU(32, 64 * 1024, 16 * 1024)  # ~2 MB parsed
CERTIFICATE_CACHE: SizedLRU[bytes, x509.Certificate] = SizedLRU(128, MiB // 4, 64 * 1024)  # ~7 MB parsed
for _name, _cache in (
    ("verifier-crl", CRL_CACHE),
    ("verifier-ocsp", OCSP_CACHE),
    ("verifier-certificates", CERTIFICATE_CACHE),
):
    register_cache(_name, _cache.size)

# The same signers, CAs and TSAs come back in document after document; their facts are immutable. Keyed by the
# certificate's digest, weighed by its DER (an upper bound of the text its facts keep).
FACTS_CACHE: SizedLRU[bytes, CertificateFacts] = SizedLRU(512, 2 * 1024 * 1024, 64 * 1024)
register_cache("verifier-certificate-facts", FACTS_CACHE.size)
