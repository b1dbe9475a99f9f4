"""Directory benchmark: bind-authentication and lookup latency and throughput with N officials, CSV import rate.

    .venv/bin/python bench/directory_bench.py [--officials 100000] [--seconds 5]

A scratch slapd (argon2 password hashes, as in production) in a temp folder is filled by slapadd with the
synthetic Party directory, then measured over TCP on loopback like a production client would reach it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from directory.config import DirectoryConfig
from directory.generator import build_synthetic, generate_directory
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from directory.transfer import apply_plan, plan_import, read_rows

BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def latency(name: str, func: Callable[[str], object], uids: list[str], n: int) -> None:
    samples = []
    for uid in random.sample(uids, n):
        start = time.perf_counter()
        func(uid)
        samples.append((time.perf_counter() - start) * 1000)
    print(
        f"{name:<28} n={n:<6} p50={percentile(samples, 0.5):7.2f} ms  p99={percentile(samples, 0.99):7.2f} ms"
        f"  mean={statistics.fmean(samples):7.2f} ms"
    )


def throughput(name: str, func: Callable[[str], object], uids: list[str], threads: int, seconds: float) -> None:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < stop:
            func(rng.choice(uids))
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(f"{name:<28} clients={threads}  {sum(counts) / seconds:8.1f} /s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officials", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--import-rows", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="antin-bench-") as tmp:
        slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        started = time.monotonic()
        summary = generate_directory(None, officials=args.officials, password=PASSWORD, slapd=slapd)
        print(
            f"loaded {summary['officials']} officials, {summary['units']} units, {summary['groups']} groups "
            f"by slapadd in {time.monotonic() - started:.1f} s"
        )
        slapd.start()
        try:
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            directory = LdapDirectory(config)
            uids = [attrs["uid"][0] for _, attrs in build_synthetic(args.officials, base_dn=BASE_DN).people]

            def authenticate(uid: str) -> None:
                assert directory.authenticate(uid, PASSWORD).ok

            def lookup(uid: str) -> None:
                assert directory.find_by_login(uid) is not None

            latency("authenticate (bind)", authenticate, uids, 300)
            latency("find_by_login (+path,groups)", lookup, uids, 1000)
            for threads in (1, 2, 4):
                throughput("authenticate (bind)", authenticate, uids, threads, args.seconds)
            for threads in (1, 2, 4):
                throughput("find_by_login", lookup, uids, threads, args.seconds)

            lines = ["uid,name,unit,position,status"]
            lines += [f"imp{i:06d},Nguyễn Văn Nhập {i},TW,Chuyên viên,active" for i in range(args.import_rows)]
            started = time.monotonic()
            rows, rejected = read_rows("\n".join(lines) + "\n", "csv")
            plan = plan_import(directory, rows, rejected)
            planned = time.monotonic()
            result = apply_plan(plan)
            done = time.monotonic()
            assert result.failed is None and len(result.applied) == args.import_rows
            n = args.import_rows
            print(
                f"CSV import (no passwords)    rows={n}  validate {n / (planned - started):7.1f} rows/s"
                f"  apply {n / (done - planned):7.1f} rows/s  overall {n / (done - started):7.1f} rows/s"
            )
            directory.close()
        finally:
            slapd.stop()


if __name__ == "__main__":
    main()
