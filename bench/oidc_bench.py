"""OpenID provider speed: Ấn Tín beside npm oidc-provider 9 (OpenID Certified), same machine, same slapd.

    python -m bench.oidc_bench                       # every row, both providers, 10 s per row
    python -m bench.oidc_bench --duration 3 --rows discovery,login
    python -m bench.oidc_bench --providers peer      # the peer alone
    python -m bench.oidc_bench --quick --json rows.json  # a smoke run: 0.5 s per row, SQLite, one peer process

It starts a slapd with generated officials, measures the driver's own ceiling against a trivial server,
then starts both providers in production mode and measures them row by row, one at a time. It prints
p50, p99 and rate per row side by side, the ratios, and Keycloak's published sizing scaled to this
machine's cores. The raw figures go to ``bench/results/oidc-<time>.json``; ``--json FILE`` writes the rows in
the shared format of :mod:`bench.rows`. A provider that cannot start is left out with a note, except when the
environment says ``CI``: there a missing component fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.oidc.antin import AntinProvider
from bench.oidc.ceiling import measure_ceiling
from bench.oidc.directory import product_slapd
from bench.oidc.measure import LoadOptions
from bench.oidc.peer import OidcProviderPeer, ensure_node_modules
from bench.oidc.processes import postgres_server, redis_server
from bench.oidc.provider import Deployment, DirectoryInfo, Provider, ProviderUnavailableError
from bench.oidc.report import Side, render_table
from bench.oidc.runner import ROWS, DeploymentBench, RowResult
from bench.rows import Row, Run, add_arguments, cpu_model

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _slapd_version() -> str:
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    try:
        out = subprocess.run([slapd, "-VV"], check=False, capture_output=True, text=True, timeout=5)
    except OSError:
        return "slapd not found"
    first = (out.stderr or out.stdout).strip().splitlines()
    return first[0].split("$", 2)[1].strip() if first and "$" in first[0] else (first[0] if first else "slapd ?")


def parse_args(argv: list[str]) -> argparse.Namespace:
    cores = _cores()
    parser = argparse.ArgumentParser(prog="python -m bench.oidc_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows (default: all)")
    parser.add_argument("--providers", default="antin,peer", help="antin, peer or both (default)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per row (default 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--officials", type=int, default=2000, help="officials generated in slapd (default 2000)")
    parser.add_argument("--workers", type=int, default=cores, help=f"server processes per provider (default {cores})")
    parser.add_argument(
        "--peer-workers", type=int, default=None, help="oidc-provider processes (default: --workers, with Redis)"
    )
    parser.add_argument(
        "--antin-database",
        choices=("postgresql", "sqlite"),
        default=None,
        help="Ấn Tín's database: PostgreSQL as in production (default when installed; --quick: SQLite unless given)"
        " or the embedded SQLite",
    )
    parser.add_argument(
        "--antin-threads", type=int, default=4, help="threads per worker (default 4, as `antin serve`'s)"
    )
    parser.add_argument(
        "--antin-server",
        choices=("granian", "gunicorn"),
        default="granian",
        help="the server of `antin serve --server` (default granian, as `antin serve`'s)",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip measuring the driver's ceiling")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy Ấn Tín's workers per row; raw stacks go to this folder"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile, only samples holding the GIL (CPU in Python; waits on PostgreSQL and slapd left out)",
    )
    parser.add_argument("--raw", type=Path, default=None, help="where to write the raw figures")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.officials, args.no_ceiling = 0.5, 0.3, 200, True
        args.concurrency = 4
        if args.antin_database is None:
            args.antin_database = "sqlite"
        if args.peer_workers is None:
            args.peer_workers = 1
    if args.antin_database is None:
        args.antin_database = "postgresql" if Path("/usr/lib/postgresql").is_dir() else "sqlite"
    args.rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    args.providers = {p.strip() for p in args.providers.split(",") if p.strip()}
    if not args.providers <= {"antin", "peer"}:
        parser.error("--providers takes antin and/or peer")
    if args.peer_workers is None:
        args.peer_workers = args.workers
    return args


@dataclass
class _Contender:
    provider: Provider
    version: str
    workers: int
    bench: DeploymentBench | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)

    def side(self) -> Side:
        return Side(self.provider.name, self.version, self.results, self.notes)


async def _measure_all(
    contenders: list[_Contender],
    directory: DirectoryInfo,
    workdir: Path,
    rows: list[str],
    options: LoadOptions,
    profile_dir: Path | None = None,
    profile_gil: bool = False,
) -> None:
    """Start every provider, then measure row by row, alternating which goes first.

    Only one provider is under load at a time; the others sit idle. Alternating row by row keeps a change in
    the machine's background load (it is shared) from landing on one provider only.
    """
    with ExitStack() as stack:
        async with AsyncExitStack() as astack:
            for c in contenders:
                print(f"{c.provider.name} ({c.version}): starting {c.workers} worker(s)…", flush=True)
                try:
                    deployment = stack.enter_context(c.provider.deploy(directory, workdir, c.workers))
                except ProviderUnavailableError as err:
                    print(f"  {c.provider.name} unavailable: {err}", flush=True)
                    c.reason = f"{c.provider.name} could not start: {str(err).splitlines()[0][:300]}"
                    continue
                c.notes = _notes(deployment)
                c.bench = await astack.enter_async_context(
                    DeploymentBench(
                        deployment, options, slapd_pids=directory.pids, profile_dir=profile_dir, profile_gil=profile_gil
                    )
                )
            for index, row in enumerate(rows):
                order = contenders if index % 2 == 0 else contenders[::-1]
                for c in order:
                    if c.bench is None:
                        c.results.append(RowResult(row, None, c.reason))
                    else:
                        c.results.append(await c.bench.measure(row))
            for c in contenders:
                c.results.sort(key=lambda r: rows.index(r.row))


def _notes(deployment: Deployment) -> list[str]:
    return [*deployment.notes, *(f"{deployment.name}: not set up: {m}" for m in deployment.missing)]


def _environment_lines(cores: int, sides: list[Side], directory: DirectoryInfo) -> list[str]:
    load = os.getloadavg()
    return [
        f"machine: {cores} cores ({cpu_model()}), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end",
        f"driver: Python {sys.version.split()[0]}, aiohttp, {ssl.OPENSSL_VERSION}",
        *(f"{side.name}: {side.version}" for side in sides),
        f"directory: {directory.origin}; {_slapd_version()}, {directory.people} officials, "
        f"passwords {directory.password_hash}, "
        f"{len(directory.accounts)} accounts cycled",
    ]


async def main_async(args: argparse.Namespace) -> int:
    cores = _cores()
    options = LoadOptions(concurrency=args.concurrency, duration=args.duration, warmup=args.warmup)
    if "peer" in args.providers:
        try:
            ensure_node_modules()
        except (ProviderUnavailableError, subprocess.CalledProcessError) as err:
            if _in_ci():
                raise ProviderUnavailableError(f"the peer cannot be installed: {err}") from err
            print(f"the peer is left out: {err}", flush=True)
            args.providers.discard("peer")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="antin-oidc-bench-")))
        print(
            f"OIDC bench: {len(args.rows)} rows × {args.duration:g} s (+{args.warmup:g} s warm-up), "
            f"concurrency {args.concurrency}, on {cores} cores",
            flush=True,
        )
        ceiling_line = "driver ceiling: not measured"
        if not args.no_ceiling:
            ceiling_line = (await measure_ceiling(workdir, options)).describe()
            print(ceiling_line, flush=True)
        directory = stack.enter_context(product_slapd(workdir / "directory", officials=args.officials))
        redis_url = ""
        if args.peer_workers > 1 or "antin" in args.providers:
            redis_url = stack.enter_context(redis_server(workdir / "redis"))
        contenders: list[_Contender] = []
        if "antin" in args.providers:
            database_url = ""
            if args.antin_database == "postgresql":
                database_url = stack.enter_context(postgres_server(workdir / "postgres"))
            antin = AntinProvider(
                database_url=database_url,
                redis_url=f"{redis_url}/1" if redis_url else "",
                threads=args.antin_threads,
                server=args.antin_server,
            )
            contenders.append(_Contender(antin, antin.version(), args.workers))
        if "peer" in args.providers:
            peer = OidcProviderPeer(store_url=f"{redis_url}/2" if args.peer_workers > 1 else None)
            contenders.append(_Contender(peer, peer.version(), args.peer_workers))
        await _measure_all(contenders, directory, workdir, args.rows, options, args.profile, args.profile_gil)
        sides = [c.side() for c in contenders]
        antin_side = next((s for s in sides if s.name == AntinProvider.name), None)
        peer_side = next((s for s in sides if s.name == OidcProviderPeer.name), None)
        empty = Side("–", "", [])
        print()
        print(render_table(antin_side or empty, peer_side or empty, cores=cores, rows=args.rows))
        print(ceiling_line)
        for line in _environment_lines(cores, sides, directory):
            print(line)
        for side in sides:
            for result in side.results:
                if result.hotspots is not None:
                    print(f"\nHot spots of {side.name} ({args.profile}):")
                    print(result.hotspots.render())
        missing = [c.reason for c in contenders if c.reason]
        run = Run("oidc", args.quick, notes=[*_environment_lines(cores, sides, directory), *(m for m in missing if m)])
        for side in sides:
            for result in side.results:
                if result.measurement is not None:
                    run.add(_shared_row(side.name, result))
        run.write(args.json)
        if missing and _in_ci():
            print("a provider could not start, and CI fails on a missing component", file=sys.stderr)
            return 1
        if args.quick and args.raw is None:
            return 0 if run.all_right else 1
        out = args.raw or RESULTS_DIR / f"oidc-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                {
                    "cores": cores,
                    "options": asdict(options),
                    "ceiling": ceiling_line,
                    "environment": _environment_lines(cores, sides, directory),
                    "sides": [
                        {
                            "name": s.name,
                            "version": s.version,
                            "notes": list(s.notes),
                            "rows": [
                                {
                                    **{k: v for k, v in asdict(r).items() if k != "measurement"},
                                    **({"rate": r.measurement.rate, **asdict(r.measurement)} if r.measurement else {}),
                                }
                                for r in s.results
                            ],
                        }
                        for s in sides
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        print(f"raw figures: {out}")
    return 0 if run.all_right else 1


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")  # as tests/components.py reads it


def _shared_row(side: str, result: RowResult) -> Row:
    m = result.measurement
    assert m is not None
    return Row(
        "oidc",
        result.row,
        "antin" if side == AntinProvider.name else side,
        p50=m.p50_ms,
        p99=m.p99_ms,
        rate=m.rate,
        cpu_per_op=result.server_cpu_ms,
        rss=result.rss_mb,
        n=m.ok,
        checked=m.ok + m.errors,
        wrong=m.errors,
        note=m.first_error or "",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # a stop (SIGTERM: `timeout`, a killed job) unwinds as Ctrl-C does, so that the servers it started are stopped
    # (they run in process groups of their own); the default would leave them all running
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(main_async(args))
    except ProviderUnavailableError as err:
        print(f"oidc bench cannot run: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
