"""Directory benchmark: binds and lookups with N officials, and the CSV import beside slapd's own ``slapadd``.

    python -m bench.directory_bench [--officials 20000] [--seconds 5] [--import-rows 2000] [--quick] [--json FILE]

A scratch slapd (the product's schema, overlays and ACLs; argon2 password hashes, as in production) in a temp
folder is filled by ``slapadd`` with the synthetic Party directory — that load is the peer row of the import —
then measured over TCP on loopback like a production client would reach it. The CSV import goes through the
service path an administrator uses (``directory.transfer``: read, validate against the file and the directory,
plan, apply) and is checked by reading every imported official back, over TCP and again over the ldapi socket
(the way the platform reaches its managed slapd); last, the same import ``--offline`` into
a directory with the units and no officials yet (slapadd into the stopped slapd, its stop and start timed too).

CPU per operation counts this process and slapd together (both do the work of every row).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench.rows import Row, Run, add_arguments, row_from_samples
from directory.config import DirectoryConfig
from directory.generator import build_synthetic, generate_directory
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from directory.transfer import apply_plan, apply_plan_offline, plan_import, read_rows

BENCH = "directory"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"
UNIT = "TW"
LDAPI_IMPORT = "load officials over ldapi (the managed slapd's socket)"


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process (``/proc/PID/stat``), 0 when it cannot be read."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def cpu_meter(slapd_pid: int | None) -> Iterator[list[float]]:
    """Yields a list that holds, once the block ends, the CPU seconds this process and slapd spent in it."""
    spent: list[float] = []
    own, server = time.process_time(), _cpu_seconds(slapd_pid)
    yield spent
    spent.append(time.process_time() - own + _cpu_seconds(slapd_pid) - server)


def latency(operation: str, func: Callable[[str], bool], uids: list[str], n: int, slapd_pid: int | None) -> Row:
    samples: list[float] = []
    wrong = 0
    with cpu_meter(slapd_pid) as cpu:
        for uid in random.sample(uids, n):
            start = time.perf_counter()
            ok = func(uid)
            samples.append(time.perf_counter() - start)
            wrong += not ok
    per_op = [cpu[0] / n] if n else []
    return row_from_samples(BENCH, operation, "antin", samples, cpu=per_op, checked=n, wrong=wrong)


def throughput(
    operation: str, func: Callable[[str], bool], uids: list[str], threads: int, seconds: float, slapd_pid: int | None
) -> Row:
    counts = [0] * threads
    wrong = [0] * threads
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < stop:
            wrong[index] += not func(rng.choice(uids))
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    with cpu_meter(slapd_pid) as cpu:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    elapsed = time.monotonic() - started
    total = sum(counts)
    return Row(
        BENCH,
        f"{operation}, {threads} clients",
        "antin",
        p50=None,
        p99=None,
        rate=total / elapsed,
        cpu_per_op=cpu[0] / total * 1000 if total else None,
        rss=None,
        n=total,
        checked=total,
        wrong=sum(wrong),
    )


def csv_import(
    directory: LdapDirectory,
    n: int,
    slapd_pid: int | None,
    offline: ManagedSlapd | None = None,
    prefix: str = "imp",
    operation: str = "load officials",
) -> Row:
    """Import ``n`` new officials from a CSV through the service path; every one is read back and compared.

    With ``offline``, applied as ``antin directory import --offline`` does (slapd stopped, slapadd, slapd started:
    that time is in the rate; slapadd's CPU is not counted)."""
    lines = ["uid,name,unit,mail,employee_number,position,status"]
    lines += [
        f"{prefix}{i:06d},Nguyễn Văn Nhập {i},{UNIT},{prefix}{i:06d}@bench.example,NV-{prefix}-{i:06d},Chuyên viên,"
        "active"
        for i in range(n)
    ]
    text = "\n".join(lines) + "\n"
    own_cpu, slapd_cpu = time.process_time(), _cpu_seconds(slapd_pid)
    with cpu_meter(slapd_pid) as cpu:
        started = time.perf_counter()
        rows, rejected = read_rows(text, "csv")
        plan = plan_import(directory, rows, rejected)
        planned = time.perf_counter()
        result = apply_plan(plan) if offline is None else apply_plan_offline(plan, offline)
        done = time.perf_counter()
    own_cpu, slapd_cpu = time.process_time() - own_cpu, _cpu_seconds(slapd_pid) - slapd_cpu
    wrong = 0 if result.failed is None and not plan.rejections and len(result.applied) == n else n
    wrong += sum(1 for op in plan.operations if op.action != "create")
    people = directory.find_people([f"{prefix}{i:06d}" for i in range(n)])
    for i in range(n):
        person = people.get(f"{prefix}{i:06d}")
        right = (
            person is not None
            and person.full_name == f"Nguyễn Văn Nhập {i}"
            and person.mail == f"{prefix}{i:06d}@bench.example"
            and person.employee_number == f"NV-{prefix}-{i:06d}"
            and person.unit is not None
            and person.unit.code == UNIT
        )
        wrong += not right
    cpu_note = f"; CPU per row {own_cpu / n * 1000:.2f} ms here, {slapd_cpu / n * 1000:.2f} ms in slapd"
    return Row(
        BENCH,
        operation if offline is None else "first import --offline (slapadd -q, slapd stopped)",
        "antin",
        p50=None,
        p99=None,
        rate=n / (done - started),
        cpu_per_op=cpu[0] / n * 1000 if offline is None else None,
        rss=None,
        n=n,
        checked=n,
        wrong=wrong,
        note=(
            f"CSV import of {n} rows through the service: validate + plan {n / (planned - started):,.0f} rows/s, "
            f"apply {n / (done - planned):,.0f} rows/s" + ("" if offline else cpu_note)
        ),
    )


def first_import_offline(folder: Path, n: int) -> Row:
    """``antin directory import --offline``'s way, into a directory with the Party's units and no officials yet."""
    slapd = ManagedSlapd(folder, base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
    generate_directory(None, officials=0, password=PASSWORD, slapd=slapd)
    slapd.start()
    try:
        config = DirectoryConfig(
            uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
        )
        directory = LdapDirectory(config)
        try:
            return csv_import(directory, n, None, offline=slapd, prefix="off")
        finally:
            directory.close()
    finally:
        slapd.stop()


def timed_slapadd(slapd: ManagedSlapd) -> list[float]:
    """Wrap this slapd's ``slapadd`` so that the load itself is timed (not the generation of its LDIF)."""
    seconds: list[float] = []
    original = slapd.slapadd

    def slapadd(path: Path, *, quick: bool = True) -> None:
        started = time.perf_counter()
        original(path, quick=quick)
        seconds.append(time.perf_counter() - started)

    slapd.slapadd = slapadd  # type: ignore[method-assign,assignment]
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officials", type=int, default=20_000, help="officials loaded by slapadd (default 20000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput row (default 5)")
    parser.add_argument("--import-rows", type=int, default=2000, help="rows of the CSV import (default 2000)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.seconds, args.import_rows = min(args.officials, 2000), 0.5, min(args.import_rows, 300)
    samples = (40, 100) if args.quick else (300, 1000)
    run = Run(BENCH, args.quick)

    with tempfile.TemporaryDirectory(prefix="antin-bench-") as tmp:
        slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        slapadd_seconds = timed_slapadd(slapd)
        summary = generate_directory(None, officials=args.officials, password=PASSWORD, slapd=slapd)
        slapd.start()
        try:
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            directory = LdapDirectory(config)
            pid = slapd.pid()
            entries = summary["officials"] + summary["units"] + summary["groups"]
            loaded = sum(1 for _ in directory.iter_people())
            run.add(
                Row(
                    BENCH,
                    "load officials",
                    "slapadd",
                    p50=None,
                    p99=None,
                    rate=entries / slapadd_seconds[0],
                    cpu_per_op=None,
                    rss=None,
                    n=entries,
                    checked=1,
                    wrong=int(loaded != summary["officials"]),
                    note=f"{summary['officials']} officials, {summary['units']} units, {summary['groups']} groups "
                    f"offline in {slapadd_seconds[0]:.2f} s (no overlays run)",
                )
            )
            run.add(csv_import(directory, args.import_rows, pid))
            # The managed slapd's own clients (the console, `antin directory import`) reach it on its socket.
            over_socket = LdapDirectory(replace(config, uris=(slapd.ldapi_uri,)))
            run.add(csv_import(over_socket, args.import_rows, pid, prefix="sock", operation=LDAPI_IMPORT))
            over_socket.close()
            uids = [attrs["uid"][0] for _, attrs in build_synthetic(args.officials, base_dn=BASE_DN).people]

            def authenticate(uid: str) -> bool:
                return directory.authenticate(uid, PASSWORD).ok

            def lookup(uid: str) -> bool:
                person = directory.find_by_login(uid)
                return person is not None and person.uid == uid

            run.add(latency("authenticate (bind)", authenticate, uids, samples[0], pid))
            run.add(latency("find_by_login (+path, groups)", lookup, uids, samples[1], pid))
            for threads in (1, 4):
                run.add(throughput("authenticate (bind)", authenticate, uids, threads, args.seconds, pid))
                run.add(throughput("find_by_login", lookup, uids, threads, args.seconds, pid))
            directory.close()
        finally:
            slapd.stop()
        run.add(first_import_offline(Path(tmp) / "first", args.import_rows))
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
