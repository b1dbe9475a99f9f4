"""The verifier's caches as time passes (issue 14, item 4): the platform's CA renews each signer's OCSP response
every ``REVOCATION_CACHE_TTL`` (5 min), and every document signed next carries the new one; the verifier meets it
in each document and keeps it parsed. What recurs from document to document is the CA's certificates and its
current CRL; a superseded OCSP response is never met again.

Real platform (SoftHSM2, the platform's CA and TSA), time moved by the instance clock. Every document's security
store is read as the verifier reads it (through the caches); the first and last rounds are verified whole (the rest
are not, to stay within the tests' 300 s on a loaded machine). ``ANTIN_CACHE_FILL_REPORT=1``
prints the fill per simulated 10 minutes (run with ``-s``).
"""

from __future__ import annotations

import gc
import io
import os
import tracemalloc
from dataclasses import replace
from datetime import timedelta
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pades.reading import dss
from signing.pades.reading.sized_cache import SizedLRU
from signing.pki.revocation import REVOCATION_CACHE_TTL
from signing.service import SignRequest
from signing.validation import Indication, policy_from_settings, verify_bytes
from tests.signing.conftest import Platform

OFFICIALS = ("an", "binh", "cuong")
STEPS = 12  # renewals: an hour of simulated time
CACHES: dict[str, SizedLRU[bytes, Any]] = {
    "crl": dss.CRL_CACHE,
    "ocsp": dss.OCSP_CACHE,
    "certificates": dss.CERTIFICATE_CACHE,
}


def _clear() -> None:
    for cache in CACHES.values():
        cache.clear()


def _parsed_bytes() -> int:
    """What the verifier's caches hold parsed: Python memory traced now, less what is left once they are cleared."""
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    _clear()
    gc.collect()
    return held - tracemalloc.get_traced_memory()[0]


def test_the_verifier_keeps_what_recurs_and_not_every_superseded_ocsp_response(
    platform: Platform, plain_pdf: bytes
) -> None:
    report = os.environ.get("ANTIN_CACHE_FILL_REPORT") == "1"
    clock = platform.instance.clock
    policy = policy_from_settings(platform.instance.settings)
    for uid in OFFICIALS:  # a certificate of its own: another test of the module's platform may revoke one
        platform.service.issue_certificate(uid, actor="test")
    _clear()
    seen: dict[str, dict[bytes, int]] = {name: {} for name in CACHES}  # key -> step first met
    tracemalloc.start(1)
    rows: list[str] = []
    try:
        for step in range(STEPS):
            for uid in OFFICIALS:
                signed = platform.sign_bytes(plain_pdf, SignRequest(uid, level="B-LT"))
                if step in (0, STEPS - 1):  # the whole verification, at the start and with the caches at their bounds
                    verdict = verify_bytes(signed, replace(policy, validation_time=clock.now()))
                    assert verdict.indication == Indication.TOTAL_PASSED, verdict
                else:  # what the verifier reads of the document security store (through the caches), for time
                    dss.dss_knowledge(PdfFileReader(io.BytesIO(signed), strict=False))
            for name, cache in CACHES.items():
                for key in list(cache._entries):
                    seen[name].setdefault(key, step)
            if report and step % 2 == 1:
                gc.collect()
                sizes = "  ".join(
                    f"{n} {len(c)} / {c.weight / 1024:.0f} KiB (hits {c.hits}, misses {c.misses})"
                    for n, c in CACHES.items()
                )
                rows.append(
                    f"min {(step + 1) * 5:3}: {sizes}; traced {tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB"
                )
            clock.advance(REVOCATION_CACHE_TTL + timedelta(seconds=1))
        hits = {n: c.hits for n, c in CACHES.items()}
        misses = {n: c.misses for n, c in CACHES.items()}
        held = _parsed_bytes()
    finally:
        tracemalloc.stop()
        clock.advance(-(REVOCATION_CACHE_TTL + timedelta(seconds=1)) * STEPS)
    if report:
        print("\n" + "\n".join(rows))
        print(f"parsed in the caches at the end: {held / 1e6:.2f} MB")
        print({n: len(keys) for n, keys in seen.items()}, "distinct keys")
    documents = STEPS * len(OFFICIALS)
    # each document brought two OCSP responses the CA had just renewed (its signer's and its issuing CA's), none met
    # again; at 512 entries all 72 stayed, about 4.4 MB parsed
    assert len(seen["ocsp"]) == 2 * documents
    assert len(dss.OCSP_CACHE) == 0  # cleared by _parsed_bytes; what it held is in `held`
    assert held < 3_000_000, f"the verifier's caches held {held / 1e6:.1f} MB parsed after an hour of renewals"
    # what recurs stays: the platform's two CRLs and its CA certificates were parsed once for all 36 documents
    assert misses["crl"] == len(seen["crl"]) == 2
    # the CA's and the TSA's certificates, and one per official: each parsed once
    assert misses["certificates"] == len(seen["certificates"]) == len(OFFICIALS) + 4
    assert hits["crl"] == 2 * documents - 2
