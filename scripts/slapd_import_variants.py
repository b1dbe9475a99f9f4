"""The CSV import into slapd with one slapd.conf line changed at a time: where slapd's time per add goes.

Each variant starts the bench's scratch slapd (the product's configuration, ``slapadd`` of N officials), imports
the same CSV through the service path (read, plan, apply) and prints the apply rate with the CPU per row of
this process and of slapd. Variants run in alternation, round after round, because the machine is shared: read
the CPU per row before the rates. The table in docs/benchmarks.md (Directory) came from these. Not part of
``make test``: it takes minutes.

    .venv/bin/python -m scripts.slapd_import_variants                        # every variant, one round
    .venv/bin/python -m scripts.slapd_import_variants --rounds 3 --variant shipped --variant no-substring
    .venv/bin/python -m scripts.slapd_import_variants --list
    .venv/bin/python -m scripts.slapd_import_variants --ldapi --variant shipped   # over the socket, not TCP
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import directory.slapd as slapd_module
from bench.directory_bench import BASE_DN, PASSWORD, SERVICE_PASSWORD, UNIT, _cpu_seconds
from directory.config import DirectoryConfig
from directory.generator import generate_directory
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from directory.slapd_config import render_slapd_conf
from directory.transfer import apply_plan, plan_import, read_rows

SUBSTRING_INDEX = "index antinSearchKey sub"
EQUALITY_INDEX = "index cn,sn,givenName,displayName,antinPosition eq"
EQUALITY_UNIQUE = "index uid,mail,employeeNumber,antinUnitCode,antinStatus,antinUnitKind,antinScopeUnitCode eq"
# name: (lines of slapd.conf taken out (a line goes when it contains one of them), lines put in after `database`)
VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "shipped": ((), ()),
    "no-writemap": (("envflags writemap",), ()),
    "no-substring": ((SUBSTRING_INDEX,), ()),
    # The indexes shipped until the console's search became indexed: a substring index on cn, none on the key.
    "cn-substring": (
        (SUBSTRING_INDEX, EQUALITY_INDEX),
        ("index cn eq,sub", "index sn,givenName,displayName,antinPosition eq"),
    ),
    # The indexes shipped until the import work of issue 16: a substring index on five names, not one.
    "five-substring": (
        (SUBSTRING_INDEX, EQUALITY_INDEX),
        ("index displayName,cn,sn,givenName,antinPosition eq,sub",),
    ),
    "displayname-substring": (
        (EQUALITY_INDEX,),
        ("index cn,sn,givenName,antinPosition eq", "index displayName eq,sub"),
    ),
    "unique-off": (("overlay unique", "unique_uri"), ()),
    # The modules stay loaded: their schema (memberOf, the pwdPolicy class) is in the generated entries.
    "overlays-off": (("overlay ", "memberof-", "refint_", "unique_uri", "ppolicy_"), ()),
    "threads-2": ((), ("threads 2",)),
    "threads-4": ((), ("threads 4",)),
    # What the console's search may add (the `search` work of issue 16's session): uid and mail by their start.
    "uid-mail-subinitial": (
        (EQUALITY_UNIQUE,),
        (
            "index employeeNumber,antinUnitCode,antinStatus,antinUnitKind,antinScopeUnitCode eq",
            "index uid,mail eq,subinitial",
        ),
    ),
    "durable": (("dbnosync", "envflags writemap"), ()),
    "durable-writemap": (("dbnosync",), ()),
}
GLOBAL_OPTIONS = ("threads ",)  # these belong before `database`, not in it


def variant_conf(render: Callable[..., str], name: str) -> Callable[..., str]:
    dropped, added = VARIANTS[name]

    def rendered(*args: Any, **kwargs: Any) -> str:
        out: list[str] = []
        for line in render(*args, **kwargs).splitlines():
            if any(d in line for d in dropped):
                continue
            if line == "database mdb":
                out += [a for a in added if a.startswith(GLOBAL_OPTIONS)]
            out.append(line)
            if line == "database mdb":
                out += [a for a in added if not a.startswith(GLOBAL_OPTIONS)]
        return "\n".join(out) + "\n"

    return rendered


def run(name: str, rows: int, officials: int, *, ldapi: bool = False) -> str:
    # ManagedSlapd renders its slapd.conf through the name it imported: that name is the one replaced.
    names = vars(slapd_module)
    names["render_slapd_conf"] = variant_conf(render_slapd_conf, name)
    try:
        with tempfile.TemporaryDirectory(prefix="antin-variants-") as tmp:
            slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
            generate_directory(None, officials=officials, password=PASSWORD, slapd=slapd)
            slapd.start()
            try:
                return _import(slapd, rows, ldapi=ldapi)
            finally:
                slapd.stop()
    finally:
        names["render_slapd_conf"] = render_slapd_conf


def _import(slapd: ManagedSlapd, n: int, *, ldapi: bool = False) -> str:
    uri = slapd.ldapi_uri if ldapi else slapd.ldap_uri
    config = DirectoryConfig(uris=(uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD)
    directory = LdapDirectory(config)
    lines = ["uid,name,unit,mail,employee_number,position,status"]
    lines += [
        f"imp{i:06d},Nguyễn Văn Nhập {i},{UNIT},imp{i:06d}@bench.example,NV-IMP-{i:06d},Chuyên viên,active"
        for i in range(n)
    ]
    pid = slapd.pid()
    started = time.perf_counter()
    rows, rejected = read_rows("\n".join(lines) + "\n", "csv")
    plan = plan_import(directory, rows, rejected)
    planned, own, server = time.perf_counter(), time.process_time(), _cpu_seconds(pid)
    result = apply_plan(plan)
    done, own, server = time.perf_counter(), time.process_time() - own, _cpu_seconds(pid) - server
    directory.close()
    if result.failed is not None or len(result.applied) != n or plan.rejections:
        raise SystemExit(f"the import went wrong: {result.error or plan.rejections[:3]}")
    return (
        f"apply {n / (done - planned):7,.0f} rows/s, end to end {n / (done - started):7,.0f} rows/s; "
        f"apply CPU per row {own / n * 1000:.3f} ms here, {server / n * 1000:.3f} ms in slapd; "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the CSV import (default 10000)")
    parser.add_argument("--officials", type=int, default=20_000, help="officials loaded first (default 20000)")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: every variant")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of every variant, in alternation")
    parser.add_argument("--list", action="store_true", help="print the variants and what each changes")
    parser.add_argument("--ldapi", action="store_true", help="import over the ldapi socket, not TCP on loopback")
    args = parser.parse_args(argv)
    if args.list:
        for name, (dropped, added) in VARIANTS.items():
            print(f"{name:18} out: {', '.join(dropped) or '-'}; in: {', '.join(added) or '-'}")
        return 0
    for round_ in range(1, args.rounds + 1):
        for name in args.variant or list(VARIANTS):
            print(f"round {round_} {name:18} {run(name, args.rows, args.officials, ldapi=args.ldapi)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
