"""The directory's cost per account check (a token refresh's ``is_active``): slapd's CPU and the client's, apart.

    python -m bench.account_check_cost [--officials 2000] [--seconds 5] [--processes 2] [--threads 2]
        [--clients antin,peer] [--rounds 2] [--slapd-line "LINE"]... [--json FILE]

A scratch slapd with the product's managed configuration (``directory/slapd_config.py``: schema, overlays, ACLs,
indexes) and synthetic officials loaded by slapadd, reached over TCP on loopback as the served bench's workers
reach theirs. Then, in turns (``--rounds``), each client for ``--seconds``:

- ``antin``: ``--processes`` processes × ``--threads`` threads, each calling ``LdapDirectory.is_active`` on a random
  official's entryUUID through the product's pool (what a refresh asks; granian's 2 workers × 2 threads by default);
- ``peer``: ``--processes`` processes, each with one connection keeping ``--in-flight`` searches pipelined, the
  search and attributes of the peer's ``claimsOf`` (``bench/peers/oidc-provider/server.mjs``, ldapts's way).

Per check it prints slapd's CPU (``/proc/PID/stat``), its context switches (every thread's, ``/proc/PID/task``),
the clients' CPU (each process's user + system time over the window) and the rate. Warm-up (connections opened,
the service account's ARGON2 binds) happens before the window. Run it from each worktree in turn for an A/B of the
client code or of slapd's configuration (``PYTHONPATH=<worktree> python <this file>``); ``--slapd-line`` adds a
global line to slapd.conf (``"loglevel stats"``) for trying a setting before it goes into the product.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ldap
import ldap.filter

import directory.slapd
from directory.config import DirectoryConfig
from directory.generator import generate_directory
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd

BASE_DN = "dc=bench,dc=antin"
SERVICE_PASSWORD = "bench-service-password-0123456789"
PEER_ATTRS = ["entryUUID", "uid", "cn", "givenName", "sn", "displayName", "mail"]


@dataclass(frozen=True)
class Window:
    """What one client did between ``start`` and ``stop`` (monotonic clock, shared by the processes)."""

    ops: int
    cpu: float
    wrong: int


@dataclass(frozen=True)
class Figures:
    client: str
    ops: int
    seconds: float
    slapd_us: float
    client_us: float
    slapd_switches: float
    wrong: int
    load: float

    def line(self) -> str:
        return (
            f"{self.client:>6}: {self.ops / self.seconds:8,.0f}/s  slapd {self.slapd_us:6.1f} µs/check  "
            f"client {self.client_us:6.1f} µs/check  slapd switches {self.slapd_switches:4.2f}/check  "
            f"({self.ops} checks, {self.wrong} wrong, load {self.load:.2f})"
        )


def _slapd_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _slapd_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    total += int(line.split(":")[1])
        except OSError:
            continue
    return total


def _wait_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _antin_client(
    uri: str, uuids: Sequence[str], threads: int, start: float, stop: float, seed: int, pause: float
) -> Window:
    """``threads`` threads of one process checking accounts through the product's pool until ``stop``."""
    config = DirectoryConfig(
        uris=(uri,), base_dn=BASE_DN, bind_dn=f"cn=antin-service,{BASE_DN}", bind_password=SERVICE_PASSWORD
    )
    directory = LdapDirectory(config)
    counts = [0] * threads
    wrong = [0] * threads
    cpu: list[float] = []
    ready = threading.Barrier(threads + 1)

    def check(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        directory.is_active(rng.choice(uuids))  # the pool's connection opened (and bound) before the window
        ready.wait()
        while time.monotonic() < start:
            directory.is_active(rng.choice(uuids))
        sent = time.monotonic() + pause * rng.random()  # the callers spread over one interval, not in step
        _wait_until(sent)
        while sent < stop:
            wrong[index] += directory.is_active(rng.choice(uuids)) is not True
            counts[index] += 1
            sent = max(sent + pause, time.monotonic()) if pause else time.monotonic()
            _wait_until(sent)

    workers = [threading.Thread(target=check, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    ready.wait()
    _wait_until(start)
    cpu.append(time.process_time())
    for t in workers:
        t.join()
    spent = time.process_time() - cpu[0]
    directory.close()
    return Window(sum(counts), spent, sum(wrong))


def _peer_client(
    uri: str, uuids: Sequence[str], in_flight: int, start: float, stop: float, seed: int, pause: float
) -> Window:
    """One connection with up to ``in_flight`` searches pipelined, as ldapts keeps the peer's service connection;
    each of the ``in_flight`` callers sends a search every ``pause`` seconds (at once when its answer came later)."""
    rng = random.Random(seed)
    conn = ldap.initialize(uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.simple_bind_s(f"cn=antin-service,{BASE_DN}", SERVICE_PASSWORD)
    pending: set[int] = set()
    sent: dict[int, float] = {}
    # when each caller sends its next search: spread over one interval, so that they do not go in step
    due = [time.monotonic() + pause * rng.random() for _ in range(in_flight)]

    def send() -> int:
        wanted = ldap.filter.filter_format("(&(objectClass=inetOrgPerson)(entryUUID=%s))", [rng.choice(uuids)])
        return conn.search_ext(BASE_DN, ldap.SCOPE_SUBTREE, wanted, PEER_ATTRS, sizelimit=2)  # type: ignore[no-any-return]

    def receive(wait: float) -> bool | None:
        try:
            _, data, msgid, _ = conn.result3(ldap.RES_ANY, all=1, timeout=wait)
        except ldap.TIMEOUT:
            return None
        if msgid is None:
            return None
        pending.discard(msgid)
        due.append(max(sent.pop(msgid) + pause, time.monotonic()))
        return len(data) == 1

    while time.monotonic() < start:
        conn.result3(send(), all=1)
    cpu = time.process_time()
    ops = wrong = 0
    while time.monotonic() < stop:
        now = time.monotonic()
        for moment in [d for d in due if d <= now]:
            due.remove(moment)
            msgid = send()
            pending.add(msgid)
            sent[msgid] = moment
        if not pending:
            _wait_until(min(due))
            continue
        answer = receive(max(0.0, min(due) - now) if due else -1)
        if answer is not None:
            wrong += not answer
            ops += 1
    while pending:
        receive(-1)
    spent = time.process_time() - cpu
    conn.unbind_s()
    return Window(ops, spent, wrong)


def _child(kind: str, args: tuple[Any, ...], out: Any) -> None:
    try:
        window = _antin_client(*args) if kind == "antin" else _peer_client(*args)
        out.put(asdict(window))
    except BaseException as err:  # the parent reports it
        out.put({"error": f"{type(err).__name__}: {err}"})


def measure(
    kind: str,
    uri: str,
    uuids: Sequence[str],
    pid: int,
    *,
    processes: int,
    threads: int,
    in_flight: int,
    seconds: float,
    pause: float,
) -> Figures:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start = time.monotonic() + 1.5  # warm-up: connections opened and bound, the first checks made
    stop = start + seconds
    per_process = threads if kind == "antin" else in_flight
    children = [
        context.Process(target=_child, args=(kind, (uri, uuids, per_process, start, stop, seed, pause), out))
        for seed in range(processes)
    ]
    for child in children:
        child.start()
    _wait_until(start)
    cpu0, switches0 = _slapd_cpu(pid), _slapd_switches(pid)
    _wait_until(stop)
    cpu1, switches1 = _slapd_cpu(pid), _slapd_switches(pid)
    windows = [out.get(timeout=60) for _ in children]
    for child in children:
        child.join()
    errors = [w["error"] for w in windows if "error" in w]
    if errors:
        raise RuntimeError("; ".join(errors))
    ops = sum(w["ops"] for w in windows) or 1
    return Figures(
        client=kind,
        ops=ops,
        seconds=seconds,
        slapd_us=(cpu1 - cpu0) / ops * 1e6,
        client_us=sum(w["cpu"] for w in windows) / ops * 1e6,
        slapd_switches=(switches1 - switches0) / ops,
        wrong=sum(w["wrong"] for w in windows),
        load=os.getloadavg()[0],
    )


def _with_lines(lines: Sequence[str]) -> None:
    """Make the managed slapd's configuration carry ``lines`` in its global section (this process only)."""
    if not lines:
        return
    names = directory.slapd.__dict__
    render = names["render_slapd_conf"]

    def rendered(*args: Any, **kwargs: Any) -> str:
        kwargs["global_extra"] = (*kwargs.get("global_extra", ()), *lines)
        return str(render(*args, **kwargs))

    names["render_slapd_conf"] = rendered


def _interval(kind: str, args: argparse.Namespace) -> float:
    """Seconds between one caller's checks for the asked rate (0: no wait)."""
    callers = args.processes * (args.threads if kind == "antin" else args.in_flight)
    return callers / args.rate if args.rate > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officials", type=int, default=2000, help="officials loaded by slapadd (default 2000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds measured per client and round")
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2, the bench's workers)")
    parser.add_argument("--threads", type=int, default=2, help="threads per antin process (default 2)")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=8,
        help="callers sharing each peer connection (default 8: 16 in all, the bench's concurrency)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1250.0,
        help="checks per second asked of each client, spread over its callers (0: as fast as they go; default 1250, "
        "the served bench's refresh rate)",
    )
    parser.add_argument("--clients", default="antin,peer", help="antin, peer or both, in this order each round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (each client once per round; default 2)")
    parser.add_argument("--slapd-line", action="append", default=[], help="a global slapd.conf line to add")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    _with_lines(args.slapd_line)
    clients = [c for c in args.clients.split(",") if c]
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="antin-account-check-") as tmp:
        slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        generate_directory(None, officials=args.officials, password="Thu-nghiem-2025!", slapd=slapd)
        slapd.start()
        try:
            pid = slapd.pid()
            assert pid is not None
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            reader = LdapDirectory(config)
            found = reader.pool.run(
                lambda c: c.search(
                    BASE_DN,
                    "sub",
                    "(&(objectClass=inetOrgPerson)(antinStatus=active)(!(pwdAccountLockedTime=*)))",
                    ["entryUUID"],
                )
            )
            reader.close()
            uuids = [u for e in found if (u := e.first("entryUUID"))]
            print(f"slapd {pid}, {len(uuids)} active officials; {' '.join(args.slapd_line) or 'product config'}")
            for round_ in range(args.rounds):
                order = clients if round_ % 2 == 0 else clients[::-1]
                for kind in order:
                    figures = measure(
                        kind,
                        slapd.ldap_uri,
                        uuids,
                        pid,
                        processes=args.processes,
                        threads=args.threads,
                        in_flight=args.in_flight,
                        seconds=args.seconds,
                        pause=_interval(kind, args),
                    )
                    results.append(figures)
                    print(figures.line(), flush=True)
        finally:
            slapd.stop()
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(f) for f in results], indent=2), encoding="utf-8")
    return 0 if all(f.wrong == 0 for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
