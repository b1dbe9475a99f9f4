"""Admin search benchmark: ``/api/admin/officials``' service path over N officials, as a province's and as the
platform's administrator, with and without Vietnamese diacritics.

    python -m bench.admin_search_bench [--officials 20000] [--quick] [--json FILE]

A scratch slapd (the product's schema and overlays) is filled by ``slapadd`` with the synthetic Party directory;
the searches go through ``admin_service(instance).officials.search`` (the delegation check, the subtree walk, the
folded match, one page of 50) on a SQLite instance holding the grants. Each answer is checked: every official
returned lies in the caller's subtree and matches the query once folded.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "admin-search"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"
PROVINCE = "HNI"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=20_000, help="officials loaded by slapadd (default 20000)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials = min(args.officials, 2000)
    samples = 5 if args.quick else 30
    from admin.delegation import Actor
    from admin.officials import fold
    from admin.service import admin_service
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.config import DirectoryConfig
    from directory.generator import build_synthetic, generate_directory
    from directory.instance import use_directory
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd

    run = Run(BENCH, args.quick)
    with tempfile.TemporaryDirectory(prefix="antin-bench-") as tmp:
        slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        generate_directory(None, officials=args.officials, password=PASSWORD, slapd=slapd)
        slapd.start()
        try:
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            directory = LdapDirectory(config)
            env = {"ANTIN_DATA_DIR": str(Path(tmp) / "data"), "ANTIN_ENV": "test", "ANTIN_LOG_LEVEL": "WARNING"}
            instance = Instance(load_settings(env))
            upgrade(instance.database)
            use_directory(instance, directory)
            service = admin_service(instance)
            people = build_synthetic(args.officials, base_dn=BASE_DN).people
            uids = [attrs["uid"][0] for _, attrs in people]
            names = [attrs["cn"][0] for _, attrs in people]
            in_province = sum(1 for dn, _ in people if f"antinUnitCode={PROVINCE}," in dn)
            operator = Actor("bench", operator=True)
            service.delegation.grant(operator, uids[0], "platform-admin", "*")
            service.delegation.grant(operator, uids[1], "unit-admin", PROVINCE)
            callers = {
                "platform": Actor.administrator(directory.get_person(uids[0]).entry_uuid),
                "province": Actor.administrator(directory.get_person(uids[1]).entry_uuid),
            }
            rng = random.Random(7)
            queries = {
                "first page, no text": lambda: "",
                "given + middle name, no diacritics": lambda: fold(" ".join(rng.choice(names).split()[-2:])),
                "full name, with diacritics": lambda: rng.choice(names),
                "no match": lambda: "zzzz khong co ai",
            }
            for caller, actor in callers.items():
                for label, make_query in queries.items():
                    wall: list[float] = []
                    wrong = 0
                    for _ in range(samples):
                        text = make_query()
                        started = time.perf_counter()
                        page = service.officials.search(actor, text)
                        wall.append(time.perf_counter() - started)
                        for person in page.items:
                            outside = caller == "province" and PROVINCE not in [u.code for u in person.unit_path]
                            wrong += outside or (bool(text) and fold(text) not in fold(person.full_name))
                    note = f"{args.officials} officials; {PROVINCE} holds {in_province}" if caller == "province" else ""
                    run.add(
                        row_from_samples(
                            BENCH, f"{caller} admin: {label}", "antin", wall, checked=samples, wrong=wrong, note=note
                        )
                    )
            instance.close()
            directory.close()
        finally:
            slapd.stop()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
