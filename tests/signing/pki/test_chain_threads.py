"""The CA chain a worker caches is read by every request thread at once: right after a worker started (a reload under
load, `scripts/signing_faults.py`'s `hsm-pin` fault under granian), two signings building their chain from the fresh
cache at the same moment answered a 500 (`KeyError: No field numbered 0 is present in this NameTypeAndValue`):
asn1crypto parses a certificate's fields on first use, and a second thread saw the list of fields half built."""

from __future__ import annotations

import threading

from signing.models import CertificateRole
from signing.pki.store import CertificateStore
from tests.signing.conftest import Platform

THREADS = 4
ROUNDS = 200


def test_request_threads_of_a_new_worker_build_chains_from_one_fresh_cache(
    platform: Platform, switch_often: None
) -> None:
    ca = platform.service.ca
    [ocsp, *_] = ca.certificates(role=CertificateRole.OCSP, valid_only=True)
    expected = [c.dump() for c in ca.chain_for(ocsp)]
    assert len(expected) == 2  # the issuing CA, then the root
    failures: list[BaseException] = []
    wrong: list[list[bytes]] = []
    for _ in range(ROUNDS):
        # a worker just started: its own store, nothing parsed yet but what loading the chain needed
        fresh = CertificateStore(platform.instance.database, platform.service.keystore, urls=ca.urls, clock=ca.clock)
        fresh.chain()

        def sign_request(store: CertificateStore, together: threading.Barrier) -> None:
            together.wait()
            try:
                chain = [c.dump() for c in store.chain_for(ocsp)]
            except Exception as err:  # what the request's 500 was
                failures.append(err)
            else:
                if chain != expected:
                    wrong.append(chain)

        together = threading.Barrier(THREADS)
        threads = [threading.Thread(target=sign_request, args=(fresh, together)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == [], f"{len(failures)} of {ROUNDS * THREADS} chains failed: {failures[:3]!r}"
    assert wrong == []
