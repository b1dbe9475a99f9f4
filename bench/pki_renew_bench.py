"""Renewing the CA's own certificates on SoftHSM2 (P-256): how long ``antin pki renew ocsp|tsa|issuing`` takes
in-process, and what an OCSP answer costs afterwards (the responder now looks up the serials of the issuing CA's key).

A fresh data folder and token in a temporary directory; a few renewals of each role (``--quick``: 2, else 10), then
200 OCSP answers (``--quick``: 20). Each renewal is checked (a new serial, and the certificate in use is the new
one) and each OCSP answer (about the responder's own certificate) is parsed and its status read (``good``).

    python -m bench.pki_renew_bench [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from asn1crypto import ocsp as asn1_ocsp

from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from bench.rows import Run, add_arguments, row_from_samples
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from signing.service import signing_service

BENCH = "pki-renew"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    rounds, answers = (2, 20) if args.quick else (10, 200)
    run = Run(BENCH, args.quick)
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
            wall: list[float] = []
            cpu: list[float] = []
            checked = wrong = 0
            for _ in range(rounds):
                start, start_cpu = time.perf_counter(), time.process_time()
                renewal = service.renew_ca_certificate(role, actor="bench")
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                chain = service.ca.chain()
                in_use = {"ocsp": chain.ocsp, "tsa": chain.tsa, "issuing": chain.issuing}[role]
                checked += 1
                fresh = renewal.current.serial != renewal.previous.serial
                used = in_use is not None and format(in_use.serial_number, "x") == renewal.current.serial.lower()
                if not (fresh and used):
                    wrong += 1
            run.add(row_from_samples(BENCH, f"renew {role}", "antin", wall, cpu=cpu, checked=checked, wrong=wrong))
        chain = service.ca.chain()
        responder = service.ca.ocsp_responder()
        assert chain.ocsp is not None, "the CA was made with an OCSP responder"
        wall, cpu = [], []
        checked = wrong = 0
        for _ in range(answers):
            start, start_cpu = time.perf_counter(), time.process_time()
            der = responder.response_for(chain.issuing, chain.ocsp.serial_number)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            response = asn1_ocsp.OCSPResponse.load(der)
            checked += 1
            status = response["response_status"].native
            single = response.response_data["responses"][0]["cert_status"].name if status == "successful" else ""
            if single != "good":
                wrong += 1
        run.add(
            row_from_samples(BENCH, "OCSP answer after renewals", "antin", wall, cpu=cpu, checked=checked, wrong=wrong)
        )
        instance.close()
    run.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
