"""A million officials (issue 14, item 7): generate them, load them, then bind and look them up.

    .venv/bin/python -m scripts.million_officials                       # 1,000,000 officials, about 10 minutes
    .venv/bin/python -m scripts.million_officials --officials 5000 --quick --json /tmp/million.json
    .venv/bin/python -m scripts.million_officials --first-import-only          # the CSV of a million, --offline

A scratch slapd with the product's schema, overlays, indexes and ACLs (argon2 password hashes, as in
production) in a folder under /tmp. What it does and prints, one row each (the columns of ``bench/rows.py``):

1. ``antin directory generate``'s work: the synthetic Party tree (central organs, the provinces, their
   departments, communes and wards, Party cells) and its officials, written as LDIF and loaded offline by
   ``slapadd -q``; the load alone and the whole command are timed apart.
2. The CSV import through the service path (read, validate, plan, apply) into the full directory, every
   imported official read back: the rate an administrator's import gets at this size.
3. Binds: with the argon2 hash every official has, and with a ``{SSHA}`` hash given to a sample of officials
   beforehand, so that the password hash's cost shows apart from everything else a bind does (the argon2
   cost is meant to be paid; the rest is what the goal of 2 ms at p99 is about).
4. Lookups: ``find_by_login`` as the identity provider calls it (the entry, its unit's path, its groups) and
   one indexed search for a uid; the console's text search with no match (indexed: docs/directory.md).
5. The size of ``data.mdb`` on disk and slapd's resident memory after all of it.

``--first-import-only`` measures instead the first import of the same officials from a CSV file, as an HR
export would give them, by ``antin directory import --offline``'s path into a directory holding the unit tree and
no officials: read, validate and plan every row, then slapcat, LDIF, ``slapadd -q``, start.

Not part of ``make test`` (the tests run it at a few thousand officials): it needs minutes and ~3 GB of RAM.
The machine's load average is printed with the rows: on a shared machine, read the CPU figures first.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.directory_bench import BASE_DN, PASSWORD, SERVICE_PASSWORD, _cpu_seconds, cpu_meter, timed_slapadd
from bench.rows import Row, Run, add_arguments, row_from_samples
from directory.config import DirectoryConfig
from directory.entries import PERSON_ATTRS
from directory.errors import DirectoryError
from directory.generator import build_synthetic, generate_directory
from directory.ldap_client import Modification, filter_format, write_ldif
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from directory.transfer import apply_plan, apply_plan_offline, plan_import, read_rows

BENCH = "million"
IMPORT_UNIT = "TW"
IMPORTED = re.compile(r"tr[0-9a-f]{6}[0-9]{7}")  # the CSV import's officials (no password), kept by --reuse


def ssha(password: str) -> str:
    """An RFC 2307 ``{SSHA}`` value: salted SHA-1, cheap on purpose (the bind without the hash's cost)."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def slapd_memory(pid: int | None) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile and RssShmem of slapd, in bytes (the map is file-backed)."""
    wanted = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")
    out: dict[str, int] = {}
    if pid is None:
        return out
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in wanted:
            out[key] = int(value.split()[0]) * 1024
    return out


def timed(operation: str, func: Callable[[str], bool], keys: list[str], slapd_pid: int | None, note: str = "") -> Row:
    """One operation per key, one after another: p50 and p99, CPU of this process and slapd per operation."""
    samples: list[float] = []
    wrong = 0
    for key in keys[: min(20, len(keys))]:  # warm the connections and the paths to the first pages
        func(key)
    with cpu_meter(slapd_pid) as cpu:
        for key in keys:
            started = time.perf_counter()
            ok = func(key)
            samples.append(time.perf_counter() - started)
            wrong += not ok
    per_op = [cpu[0] / len(keys)] if keys else []
    return row_from_samples(BENCH, operation, "antin", samples, cpu=per_op, checked=len(keys), wrong=wrong, note=note)


def all_officials(directory: LdapDirectory) -> dict[str, str]:
    """uid -> DN of every official, read page by page (also a count the load is checked against)."""
    found: dict[str, str] = {}
    with directory.pool.pinned() as conn:
        cookie = b""
        while True:
            entries, cookie = conn.search_page(BASE_DN, "sub", "(objectClass=inetOrgPerson)", ["uid"], 5000, cookie)
            for entry in entries:
                uid = entry.first("uid")
                if uid:
                    found[uid] = entry.dn
            if not cookie:
                return found


def csv_import(directory: LdapDirectory, n: int, slapd_pid: int | None) -> Row:
    """``n`` new officials through the service path, into the full directory, each one read back.

    (``antin directory import --offline`` is for a directory without officials: its rate at a million is the
    ``slapadd`` row's.)"""
    tag = os.urandom(3).hex()  # a run of its own, also into the directory of an earlier run (--reuse)
    lines = ["uid,name,unit,mail,employee_number,position,status"]
    lines += [
        f"tr{tag}{i:07d},Trần Văn Triệu {i},{IMPORT_UNIT},tr{tag}{i:07d}@million.example,NV-{tag}-{i:07d},Chuyên viên,"
        "active"
        for i in range(n)
    ]
    own, server = time.process_time(), _cpu_seconds(slapd_pid)
    started = time.perf_counter()
    rows, rejected = read_rows("\n".join(lines) + "\n", "csv")
    plan = plan_import(directory, rows, rejected)
    planned = time.perf_counter()
    result = apply_plan(plan)
    done = time.perf_counter()
    own, server = time.process_time() - own, _cpu_seconds(slapd_pid) - server
    wrong = 0 if result.failed is None and not plan.rejections and len(result.applied) == n else n
    people = directory.find_people([f"tr{tag}{i:07d}" for i in range(n)])
    for i in range(n):
        person = people.get(f"tr{tag}{i:07d}")
        wrong += not (
            person is not None
            and person.full_name == f"Trần Văn Triệu {i}"
            and person.employee_number == f"NV-{tag}-{i:07d}"
            and person.unit is not None
            and person.unit.code == IMPORT_UNIT
        )
    return Row(
        BENCH,
        "CSV import through the service",
        "antin",
        p50=None,
        p99=None,
        rate=n / (done - started),
        cpu_per_op=(own + server) / n * 1000,
        rss=None,
        n=n,
        checked=n,
        wrong=wrong,
        note=f"plan {n / (planned - started):,.0f} rows/s, apply {n / (done - planned):,.0f} rows/s"
        + f"; CPU per row {own / n * 1000:.3f} ms here, {server / n * 1000:.3f} ms in slapd",
    )


def count(directory: LdapDirectory, filterstr: str) -> int:
    found = 0
    with directory.pool.pinned() as conn:
        cookie = b""
        while True:
            entries, cookie = conn.search_page(BASE_DN, "sub", filterstr, ["1.1"], 5000, cookie)
            found += len(entries)
            if not cookie:
                return found


def load_rows(run: Run, summary: dict[str, Any], entries: int, slapadd_seconds: float, wrong: int) -> None:
    shape = f"{summary['officials']:,} officials, {summary['units']:,} units, {summary['groups']} groups"
    run.add(
        Row(BENCH, "load officials", "slapadd", None, None, entries / slapadd_seconds, None, None, entries, 1,
            wrong, note=f"{shape} by slapadd -q in {slapadd_seconds:.1f} s")
    )  # fmt: skip
    run.add(
        Row(BENCH, "antin directory generate (build, LDIF, slapadd)", "antin", None, None,
            entries / summary["seconds"], None, None, entries, 1, wrong,
            note=f"{summary['seconds']:.1f} s in all: the tree and its officials built, written as LDIF, loaded")
    )  # fmt: skip


def console_search(directory: LdapDirectory, slapd: ManagedSlapd, slapd_pid: int | None) -> Row:
    """The console's text search with no match, timed with no time limit, and whether it fits in the directory's own
    limit per operation (``ANTIN_DIRECTORY_TIMEOUT``): every term indexed since the search key (once a scan)."""
    patient = LdapDirectory(replace(directory.config, timeout=600.0))
    try:
        row = timed(
            "console search, no match",
            lambda text: not patient.search_people(text, page_size=20).items,
            ["zzqxw", "qqvvz", "xxkjw"],
            slapd_pid,
        )
    finally:
        patient.close()
    try:
        directory.search_people("zzqxv", page_size=20)
        within = "answers within"
    except DirectoryError as err:
        within = f"fails ({err}) with"
    note = (
        "(|(antinSearchKey=*x*)(mail=x)(employeeNumber=x)), each term indexed; "
        f"{within} the default limit of {directory.config.timeout:g} s per operation"
    )
    return replace(row, note=note)


def first_import_offline(folder: Path, n: int) -> Row:
    """The generated officials as the CSV an HR system would export, imported ``--offline`` into a directory
    holding the same unit tree and no officials: read, validate, plan, slapcat, ``slapadd -q``, start."""
    slapd = ManagedSlapd(folder, base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
    synthetic = build_synthetic(n, base_dn=BASE_DN)
    if slapd.ensure_running():  # the base entries and policies exist only after a first start
        slapd.stop()
    units = folder / "units.ldif"
    units.write_text(write_ldif(synthetic.units), encoding="utf-8")
    slapd.slapadd(units)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["uid", "name", "unit", "mail", "employee_number", "position", "phone", "status"])
    for dn, attrs in synthetic.people:
        unit = dn.split(",", 2)[1].removeprefix("antinUnitCode=")
        values = [attrs[a][0] for a in ("uid", "cn")] + [unit]
        values += [attrs[a][0] for a in ("mail", "employeeNumber", "antinPosition", "telephoneNumber")]
        writer.writerow([*values, "active"])
    text = buffer.getvalue()
    del synthetic
    slapd.start(timeout=120)
    directory = LdapDirectory(
        DirectoryConfig(
            uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
        )
    )
    try:
        started = time.perf_counter()
        rows, rejected = read_rows(text, "csv")
        plan = plan_import(directory, rows, rejected)
        planned = time.perf_counter()
        result = apply_plan_offline(plan, slapd)
        done = time.perf_counter()
        directory.close()  # its connections went with the slapd that stopped
        directory = LdapDirectory(directory.config)
        loaded = all_officials(directory)
        wrong = int(bool(plan.rejections) or result.failed is not None or len(result.applied) != n) + abs(
            len(loaded) - n
        )
        sample = random.Random(7).sample([r.values["uid"] for r in rows], min(1000, n))
        people = directory.find_people(sample)
        wrong += sum(1 for uid in sample if uid not in people or people[uid].unit is None)
    finally:
        directory.close()
        slapd.stop()
    return Row(
        BENCH, "first import --offline of the officials' CSV", "antin", None, None, n / (done - started), None, None,
        n, n, wrong, note=f"{n:,} rows ({len(text) / 1e6:,.0f} MB) in {done - started:.1f} s: read and plan "
        f"{n / (planned - started):,.0f} rows/s, apply (slapcat, LDIF, slapadd -q, start) {n / (done - planned):,.0f} "
        f"rows/s; {len(plan.rejections)} rejected; {len(loaded):,} officials then in the directory",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officials", type=int, default=1_000_000, help="officials generated (default 1000000)")
    parser.add_argument("--import-rows", type=int, default=20_000, help="rows of the CSV import (default 20000)")
    parser.add_argument("--binds", type=int, default=500, help="binds per row (default 500)")
    parser.add_argument("--lookups", type=int, default=5000, help="lookups per row (default 5000)")
    parser.add_argument("--folder", type=Path, default=None, help="where slapd lives (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="leave the folder (and its data.mdb) behind")
    parser.add_argument("--reuse", action="store_true", help="measure the directory already in --folder again")
    parser.add_argument(
        "--first-import-only",
        action="store_true",
        help="only the officials' CSV imported --offline into a directory without officials (a second slapd)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials = min(args.officials, 5000)
        args.import_rows, args.binds, args.lookups = min(args.import_rows, 300), 20, 200
    run = Run(BENCH, args.quick)
    run.notes.append(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="antin-million-"))
    if args.first_import_only:
        try:
            run.add(first_import_offline(folder / "first", args.officials))
        finally:
            if not args.keep:
                shutil.rmtree(folder / "first", ignore_errors=True)
                if args.folder is None:
                    shutil.rmtree(folder, ignore_errors=True)
        return finish(run, args.json)
    slapd = ManagedSlapd(folder / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
    slapadd_seconds = timed_slapadd(slapd)
    reuse = args.reuse and (slapd.layout.db / "data.mdb").exists()
    try:
        summary = None if reuse else generate_directory(None, officials=args.officials, password=PASSWORD, slapd=slapd)
        started = time.perf_counter()
        slapd.start(timeout=120)
        opened = time.perf_counter() - started
        directory = LdapDirectory(
            DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
        )
        pid = slapd.pid()
        counted = time.perf_counter()
        officials = all_officials(directory)
        counted = time.perf_counter() - counted
        if summary is None:
            entries = len(officials) + count(directory, "(|(objectClass=antinUnit)(objectClass=groupOfNames))")
            run.notes.append(f"the directory of an earlier run, {entries:,} entries, {len(officials):,} officials")
        else:
            entries = summary["officials"] + summary["units"] + summary["groups"]
            load_rows(run, summary, entries, slapadd_seconds[0], int(len(officials) != summary["officials"]))
            run.notes.append(f"slapd started in {opened:.2f} s and listed every official in {counted:.1f} s")
        rng = random.Random(14)
        uids = sorted(u for u in officials if not IMPORTED.fullmatch(u))  # generated: each with the password
        cheap = rng.sample(uids, args.binds)
        admin = slapd.admin_connection()
        try:
            for uid in cheap:
                admin.modify(officials[uid], [Modification("replace", "userPassword", [ssha(PASSWORD)])])
        finally:
            admin.close()
        costly = rng.sample([u for u in uids if u not in set(cheap)], args.binds)

        def bind(uid: str) -> bool:
            return directory.pool.run(lambda c: c.bind_with_policy(officials[uid], PASSWORD), kind="bind").ok

        def authenticate(uid: str) -> bool:
            return directory.authenticate(uid, PASSWORD).ok

        def find_by_login(uid: str) -> bool:
            person = directory.find_by_login(uid)
            return person is not None and person.uid == uid and person.unit is not None

        def search_uid(uid: str) -> bool:
            wanted = filter_format("(&(objectClass=inetOrgPerson)(uid=%s))", uid)
            found = directory.pool.run(lambda c: c.search(BASE_DN, "sub", wanted, PERSON_ATTRS, size_limit=2))
            return len(found) == 1

        argon2 = run.add(timed("bind, argon2 hash (as every official)", bind, costly, pid))
        plain = run.add(timed("bind, {SSHA} hash (all but the hash's cost)", bind, cheap, pid))
        run.notes.append(
            f"argon2's own cost in a bind: about {(argon2.p50 or 0) - (plain.p50 or 0):.2f} ms at p50 "
            f"({argon2.p50:.2f} - {plain.p50:.2f})"
        )
        run.add(timed("authenticate (find_by_login + bind, argon2)", authenticate, costly[: args.binds], pid))
        lookups = rng.sample(uids, min(args.lookups, len(uids)))
        run.add(timed("find_by_login (+unit path, groups)", find_by_login, lookups, pid))
        run.add(timed("search by uid (one indexed search)", search_uid, lookups, pid))
        run.add(console_search(directory, slapd, pid))
        run.add(csv_import(directory, args.import_rows, pid))
        memory = slapd_memory(pid)
        directory.close()
        data = slapd.layout.db / "data.mdb"
        on_disk = data.stat().st_blocks * 512
        run.add(
            Row(BENCH, "slapd with the directory", "antin", None, None, None, None, memory.get("VmRSS", 0) / 1e6,
                entries + args.import_rows, 1, int(on_disk == 0),
                note=f"data.mdb {on_disk / 1e9:.2f} GB on disk ({on_disk / max(entries, 1):,.0f} B per entry); "
                f"slapd RSS {memory.get('VmRSS', 0) / 1e6:,.0f} MB (anon {memory.get('RssAnon', 0) / 1e6:,.0f}, "
                f"file {memory.get('RssFile', 0) / 1e6:,.0f}, shmem {memory.get('RssShmem', 0) / 1e6:,.0f}), "
                f"peak {memory.get('VmHWM', 0) / 1e6:,.0f} MB")
        )  # fmt: skip
    finally:
        slapd.stop()
        if not args.keep and args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    return finish(run, args.json)


def finish(run: Run, json_path: Path | None) -> int:
    run.notes.append(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for note in run.notes:
        print(note)
    run.write(json_path)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
