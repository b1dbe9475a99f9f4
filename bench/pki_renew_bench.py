"""Renewing the CA's own certificates on SoftHSM2 (P-256): how long ``antin pki renew ocsp|tsa|issuing`` takes
in-process, and what an OCSP answer costs afterwards (the responder now looks up the serials of the issuing CA's key).

A fresh data folder and token in a temporary directory; ``--rounds`` renewals of each. Prints median and max in
milliseconds. Usage: ``python -m bench.pki_renew_bench [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from signing.service import signing_service


def timed(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            {"ANTIN_DATA_DIR": folder, "ANTIN_ENV": "test", "ANTIN_LOG_LEVEL": "ERROR", "ANTIN_HSM_SO_PIN": "so-bench"}
        )
        instance = Instance(settings)
        upgrade(instance.database)
        Base.metadata.create_all(instance.database.engine)
        use_directory(instance, InMemoryDirectory())
        service = signing_service(instance)
        service.ensure_pki()
        for role in ("ocsp", "tsa", "issuing"):
            median, worst = timed(lambda role=role: service.renew_ca_certificate(role, actor="bench"), args.rounds)
            print(f"renew {role:8} median {median:7.1f} ms   max {worst:7.1f} ms")
        chain = service.ca.chain()
        responder = service.ca.ocsp_responder()
        median, worst = timed(lambda: responder.response_for(chain.issuing, 12345), 200)
        print(f"OCSP answer after renewals: median {median:.2f} ms   max {worst:.2f} ms")
        instance.close()


if __name__ == "__main__":
    main()
