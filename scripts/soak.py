"""Soak (issue 14, item 4): the mixed load of scripts/load_mix.py (sign-ins, code redemptions, refreshes,
introspections, signings, verifications) against the two-instance platform, first ramped up to find the peak, then
held at a fraction of it (80 %) for ``--minutes``, while the resident memory and open files of every process
(nginx, both instances' server main processes and workers, PostgreSQL, Redis, slapd) are sampled. Prints the figures
and draws them in a PNG a person can look at (default docs/soak.png). Not in CI: it takes the minutes asked.

Run: ``python scripts/soak.py [--minutes 30] [--fraction 0.8] [--png docs/soak.png] [--json FILE]``

What grows, when something does: ``--env-a MALLOC_ARENA_MAX=2`` sets a variable on instance A only (nginx shares the
load out evenly, so B is the comparison under the same load and the same machine load); ``--heap-trace DIR`` makes
every worker write what Python allocated, by line of code, and glibc's arenas (antin.heap_trace; slow, and its own
snapshots count in the workers' RSS: read the traced figures, not the RSS, of such a run); ``--rate`` skips the peak
search.

Each sample also reads both instances' ``/metrics`` for every worker's bounded caches (``antin_cache_entries``,
``antin_cache_bytes``, ``antin_cache_hits``, ``antin_cache_misses``: antin.kernel.caches, set by each worker's heap
upkeep round every 60 s), kept in the JSON, and prints them per 10 minutes at the end: whether they level off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CI", "")

import redis  # noqa: E402

from scripts.load_mix import Outcomes, official_at_work, signing_ledger, signing_platform  # noqa: E402
from tests.antin.two_instances import Platform  # noqa: E402

OPERATIONS = ("sign-in", "token", "refresh", "introspect", "sign", "verify")
BACKENDS = "postgres backends (sum)"
SETTLED_AFTER = 600  # seconds: the memory a worker holds from here on is what "flat" is judged on


# -- the processes and what they hold -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pid_file(path: Path) -> int:
    return int(path.read_text().split()[0])


def platform_processes(platform: Platform) -> dict[str, int]:
    """Every process of the platform by a name that says what it is (a worker's name carries its pid: a worker
    that is replaced shows as a new line, not as a jump in the old one)."""
    found: dict[str, int] = {}
    for instance in (platform.a, platform.b):
        found[f"instance {instance.name} master"] = instance.proc.pid
        for pid in _children(instance.proc.pid):
            found[f"instance {instance.name} worker {pid}"] = pid
    assert platform.folder is not None
    nginx = _pid_file(platform.folder / "nginx" / "nginx.pid")
    found["nginx master"] = nginx
    for pid in _children(nginx):
        found[f"nginx worker {pid}"] = pid
    query = parse_qs(urlsplit(platform.database_url).query)
    postmaster = _pid_file(Path(query["host"][0]) / "data" / "postmaster.pid")
    found["postgres postmaster"] = postmaster
    for pid in _children(postmaster):
        found[f"postgres {pid}"] = pid
    found["redis"] = int(redis.Redis(port=urlsplit(platform.redis_url).port or 6379).info("server")["process_id"])
    assert platform.slapd is not None
    found["slapd"] = _pid_file(platform.slapd.layout.pidfile)
    return found


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            values[name] = int(rest.split()[0])
    return values


def usage(pid: int) -> tuple[float, float, int] | None:
    """(RSS MB, anonymous RSS MB, open files) of a process, or None once it is gone."""
    try:
        kb = _status_kb(pid)
        files = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    return kb.get("VmRSS", 0) / 1024, kb.get("RssAnon", 0) / 1024, files


@dataclass
class Sample:
    at: float  # seconds since the soak began
    processes: dict[str, tuple[float, float, int]]  # name -> (RSS MB, anonymous RSS MB, open files)
    operations: dict[str, int]  # answers by kind in the interval ending here
    load: float  # the machine's 1-minute load average (the machine is shared)
    # "instance a worker 1234" -> cache -> [entries, bytes, hits, misses] (-1: not given), from the instance's /metrics
    caches: dict[str, dict[str, list[float]]] = field(default_factory=dict)


@dataclass
class Soak:
    peak_rounds_per_s: float = 0.0
    ramp: list[tuple[int, float]] = field(default_factory=list)  # (officials, rounds/s)
    target_rounds_per_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)


# -- the load ---------------------------------------------------------------------------------------------------


def rounds_done(outcomes: Outcomes, start: float, end: float) -> float:
    """Rounds finished per second in [start, end): a round ends with its introspection (signing is every round)."""
    finished = sum(1 for _t, op, _o in outcomes.between(start, end) if op == "introspect")
    return finished / (end - start)


def measure_peak(platform: Platform, steps: list[int], seconds: float, delivered: list[str]) -> list[tuple[int, float]]:
    """Closed loop: more officials at once, each round after the last, until the rate stops rising or a step is
    answered a 5xx (a refusal of the verifier's cap or of the queue's deadline is past the peak: a round it cut
    short is cheaper, and counted, it would raise the "peak"); the steps kept are those before. The signed PDFs
    delivered meanwhile are added to ``delivered``."""
    ramp: list[tuple[int, float]] = []
    for officials in steps:
        outcomes, stop = Outcomes(), threading.Event()
        workers = [
            threading.Thread(target=official_at_work, args=(platform, outcomes, stop), daemon=True)
            for _ in range(officials)
        ]
        for worker in workers:
            worker.start()
        time.sleep(seconds / 4)  # warm up: connections, caches, the first certificate
        begun = time.monotonic()
        time.sleep(seconds)
        ended = time.monotonic()
        rate = rounds_done(outcomes, begun, ended)
        refused = sum(1 for _t, _op, outcome in outcomes.between(begun, ended) if outcome.startswith("5"))
        stop.set()
        for worker in workers:
            worker.join(60)
        delivered.extend(outcomes.delivered)
        words = f"{rate:.2f} rounds/s" + (f", {refused} answered 5xx: past the peak" if refused else "")
        print(f"{time.strftime('%H:%M:%S')} peak search: {officials} at once: {words}", flush=True)
        if refused and ramp:
            break
        ramp.append((officials, rate))
        if refused or (len(ramp) >= 2 and rate < 1.05 * max(r for _o, r in ramp[:-1])):
            break
    return ramp


class Pacer:
    """Hands out round start times at a fixed rate (open loop: a slow round does not slow the next ones)."""

    def __init__(self, rate: float, until: float) -> None:
        self.interval = 1 / rate
        self.until = until
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        with self.lock:
            slot = max(self.next, time.monotonic() - self.interval)  # no burst to catch up after a stall
            self.next = slot + self.interval
        if slot >= self.until:
            return False
        time.sleep(max(0.0, slot - time.monotonic()))
        return True


CACHE_METRICS = ("antin_cache_entries", "antin_cache_bytes", "antin_cache_hits", "antin_cache_misses")


def read_caches(platform: Platform) -> dict[str, dict[str, list[float]]]:
    """Every worker's bounded caches as its instance's ``/metrics`` shows them (the soak runs on loopback, one of
    ``[server] metrics_networks``); an instance that does not answer is left out of this sample."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, dict[str, list[float]]] = {}
    for instance in (platform.a, platform.b):
        try:
            text = requests.get(f"{instance.url}/metrics", timeout=10).text
            families = list(text_string_to_metric_families(text))
        except Exception:  # noqa: S112 - a sample without the caches is still a sample
            continue
        for family in families:
            if family.name not in CACHE_METRICS:
                continue
            column = CACHE_METRICS.index(family.name)
            for sample in family.samples:
                worker = f"instance {instance.name} worker {sample.labels.get('pid', '?')}"
                row = found.setdefault(worker, {}).setdefault(sample.labels.get("cache", "?"), [-1.0] * 4)
                row[column] = sample.value
    return found


def cache_table(soak: Soak, every_minutes: float = 10.0) -> list[str]:
    """Each worker's caches every ``every_minutes`` (the sample nearest each mark): entries / KiB, and the hit rate
    since the worker started."""
    marks: list[Sample] = []
    for sample in soak.samples:
        if sample.caches and (not marks or sample.at >= marks[-1].at + every_minutes * 60 - 1):
            marks.append(sample)
    if soak.samples and soak.samples[-1].caches and marks and marks[-1] is not soak.samples[-1]:
        marks.append(soak.samples[-1])
    if not marks:
        return ["caches: /metrics gave none (an instance without antin.kernel.caches?)"]
    lines = [
        "caches per worker (entries / KiB; hits of lookups since the worker started) at minute: "
        + ", ".join(f"{m.at / 60:.0f}" for m in marks)
    ]
    workers = sorted({w for m in marks for w in m.caches})
    for worker in workers:
        names = sorted({c for m in marks for c in m.caches.get(worker, {})})
        for name in names:
            cells = []
            for mark in marks:
                row = mark.caches.get(worker, {}).get(name)
                if row is None:
                    cells.append("-")
                    continue
                entries, size, hits, misses = row
                cell = f"{entries:.0f}" + (f" / {size / 1024:.0f}" if size >= 0 else "")
                if hits >= 0 and misses >= 0 and hits + misses > 0:
                    cell += f" ({hits / (hits + misses):.0%} of {hits + misses:.0f})"
                cells.append(cell)
            lines.append(f"  {worker:26} {name:28} " + " | ".join(cells))
    return lines


def sample_every(
    platform: Platform, outcomes: Outcomes, soak: Soak, seconds: float, stop: threading.Event, begun: float
) -> None:
    last = time.monotonic()
    while not stop.wait(seconds):
        now = time.monotonic()
        processes: dict[str, tuple[float, float, int]] = {}
        backends = [0.0, 0.0, 0]
        for name, pid in platform_processes(platform).items():
            used = usage(pid)
            if used is None:
                continue
            if name.startswith("postgres ") and name != "postgres postmaster":
                # backends come and go with pooled connections: their sum is what can grow
                backends = [backends[0] + used[0], backends[1] + used[1], backends[2] + used[2]]
                continue
            processes[name] = used
        processes[BACKENDS] = (backends[0], backends[1], int(backends[2]))
        kinds = Counter(outcome for _t, _op, outcome in outcomes.between(last, now))
        caches = read_caches(platform)
        soak.samples.append(Sample(round(now - begun, 1), processes, dict(kinds), os.getloadavg()[0], caches))
        last = now


# -- the figures --------------------------------------------------------------------------------------------------


def _series(soak: Soak, name: str, index: int) -> tuple[list[float], list[float]]:
    points = [(s.at / 60, s.processes[name][index]) for s in soak.samples if name in s.processes]
    return [p[0] for p in points], [p[1] for p in points]


def drift(soak: Soak, name: str, index: int) -> tuple[float, float, float]:
    """(first, last, max) of a process's series, the first and last as the median of their 10 % of samples."""
    _x, values = _series(soak, name, index)
    tenth = max(1, len(values) // 10)
    return statistics.median(values[:tenth]), statistics.median(values[-tenth:]), max(values)


def long_lived(soak: Soak) -> list[str]:
    """Processes present from the first sample to the last (PostgreSQL backends of pooled connections are)."""
    first, last = soak.samples[0].processes, soak.samples[-1].processes
    return [name for name in first if name in last]


def plot(soak: Soak, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (apps, servers, files, load) = plt.subplots(4, 1, figsize=(12, 15), sharex=True)
    names = long_lived(soak)
    backend_files = files.twinx()  # the backends' sum is ten times any other process's count
    for name in names:
        x, rss = _series(soak, name, 0)
        (apps if name.startswith("instance") else servers).plot(x, rss, label=name, linewidth=1.3)
        x, fds = _series(soak, name, 2)
        if name == BACKENDS:
            backend_files.plot(x, fds, ":", color="black", label=name + " (right axis)", linewidth=1.4)
        else:
            files.plot(x, fds, "-" if name.startswith("instance") else "--", label=name, linewidth=1.2)
    backend_files.set_ylabel("open files, PostgreSQL backends")
    backend_files.set_ylim(bottom=0)
    backend_files.legend(fontsize=7, loc="upper right")
    apps.set_ylabel("resident memory (MB)")
    apps.set_title(title + "\nthe two instances' server main processes and workers", fontsize=10)
    servers.set_ylabel("resident memory (MB)")
    servers.set_title("nginx, PostgreSQL (backends summed: RSS counts shared buffers), Redis, slapd", fontsize=10)
    files.set_ylabel("open files")
    files.set_title("open files of every process", fontsize=10)
    for axes in (apps, servers, files):
        axes.legend(fontsize=7, ncol=3, loc="upper left")
        axes.grid(alpha=0.3)
        axes.set_ylim(bottom=0)
    instances = [n for n in names if n.startswith("instance")]
    apps.set_ylim(top=max(max(s.processes[n][0] for n in instances if n in s.processes) for s in soak.samples) * 1.3)
    x = [s.at / 60 for s in soak.samples]
    interval = [(s.at - (soak.samples[i - 1].at if i else 0)) or 1 for i, s in enumerate(soak.samples)]
    answered = [sum(s.operations.values()) / d for s, d in zip(soak.samples, interval, strict=True)]
    errors = [sum(v for k, v in s.operations.items() if k != "ok") for s in soak.samples]
    load.plot(x, answered, "-", color="tab:blue", label="operations answered per second")
    load.plot(x, [s.load for s in soak.samples], "--", color="tab:gray", label="machine load average (2 cores, shared)")
    load.set_ylabel("per second / load")
    load.set_xlabel("minutes")
    load.set_title("the load, and every answer other than a success", fontsize=10)
    load.grid(alpha=0.3)
    others = load.twinx()
    others.bar(x, errors, width=0.08, color="tab:red", label="answers other than success (per sample)")
    others.set_ylabel("errors per sample", color="tab:red")
    others.set_ylim(0, max(5, max(errors) * 1.2))
    handles = load.get_legend_handles_labels()
    extra = others.get_legend_handles_labels()
    load.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=8, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)


def summary(soak: Soak, outcomes: Outcomes, minutes: float) -> list[str]:
    kinds = Counter(f"{op} {outcome}" for _t, op, outcome in outcomes.items)
    total = Counter(outcome for _t, _op, outcome in outcomes.items)
    five = sum(v for k, v in total.items() if k.startswith(("5xx", "503")))
    lines = [
        f"peak {soak.peak_rounds_per_s:.2f} rounds/s ({', '.join(f'{o} at once: {r:.2f}' for o, r in soak.ramp)});"
        f" held {soak.target_rounds_per_s:.2f} rounds/s for {minutes:g} min",
        f"{sum(total.values())} operations: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
        f"5xx answers: {five}",
        f"load average: median {statistics.median(s.load for s in soak.samples):.2f},"
        f" max {max(s.load for s in soak.samples):.2f}",
    ]
    settled = [s for s in soak.samples if s.at >= SETTLED_AFTER]
    for name in long_lived(soak):
        rss0, rss1, rss_max = drift(soak, name, 0)
        later = [s.processes[name][0] for s in settled if name in s.processes]
        span = f"; from minute {SETTLED_AFTER // 60:.0f}: {min(later):.1f}–{max(later):.1f}" if later else ""
        anon0, anon1, _ = drift(soak, name, 1)
        fd0, fd1, fd_max = drift(soak, name, 2)
        lines.append(
            f"  {name:28} RSS {rss0:6.1f} → {rss1:6.1f} MB (max {rss_max:6.1f}{span};"
            f" anonymous {anon0:6.1f} → {anon1:6.1f})"
            f"  open files {fd0:4.0f} → {fd1:4.0f} (max {fd_max:.0f})"
        )
    return lines


def keep_heap_traces(scratch: Path, into: Path) -> None:
    """The workers' dumps (antin.heap_trace writes them in each instance's data folder), before it is removed."""
    into.mkdir(parents=True, exist_ok=True)
    for instance in ("a", "b"):
        for dump in (scratch / instance / "heap-trace").glob("*.txt"):
            shutil.copy(dump, into / f"{instance}-{dump.name}")
    print(f"heap traces: {into}")


def replot(saved: Path, png: Path, note: str = "") -> None:
    data = json.loads(saved.read_text(encoding="utf-8"))
    samples = [
        Sample(
            x["at"],
            {k: (v[0], v[1], v[2]) for k, v in x["processes"].items()},
            x["operations"],
            x["load"],
            x.get("caches", {}),
        )
        for x in data["samples"]
    ]
    soak = Soak(data["peak_rounds_per_s"], [(o, r) for o, r in data["ramp"]], data["target_rounds_per_s"], samples)
    minutes = samples[-1].at / 60
    errors = sum(v for s in samples for k, v in s.operations.items() if k.startswith(("5xx", "503")))
    fraction = soak.target_rounds_per_s / soak.peak_rounds_per_s
    title = (
        f"Soak: {minutes:.0f} min at {soak.target_rounds_per_s:.2f} rounds/s "
        f"({fraction:.0%} of the peak {soak.peak_rounds_per_s:.2f}); 5xx answers: {errors}"
    )
    plot(soak, png, title + (f"; {note}" if note else ""))
    print(f"plot: {png}")
    print("\n".join(cache_table(soak)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the load is held (default 30)")
    parser.add_argument("--fraction", type=float, default=0.8, help="of the measured peak (default 0.8)")
    parser.add_argument("--peak-seconds", type=float, default=40.0, help="seconds per step of the peak search")
    parser.add_argument("--steps", default="2,4,6,8,12", help="officials at once in the peak search")
    parser.add_argument(
        "--rate", type=float, help="hold this many rounds/s, without a peak search (4 officials; for comparisons)"
    )
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "soak.png", help="the plot (default docs/)")
    parser.add_argument("--json", type=Path, help="write every sample to this file")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="add to both instances' environment"
    )
    parser.add_argument(
        "--env-a",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add to instance A's environment only: B, under the same load, is the comparison",
    )
    parser.add_argument(
        "--heap-trace",
        type=Path,
        metavar="DIR",
        help="trace the workers' allocations (antin.heap_trace, slow) every --heap-trace-minutes; copy the dumps here",
    )
    parser.add_argument("--heap-trace-minutes", type=float, default=2.0, help="between two heap dumps (default 2)")
    parser.add_argument("--note", default="", help="added to the plot's title (what the run compared)")
    parser.add_argument("--replot", type=Path, help="only draw the PNG again from a --json file of an earlier run")
    args = parser.parse_args()
    if args.replot:
        replot(args.replot, args.png, args.note)
        return 0
    soak = Soak()
    scratch = Path(tempfile.mkdtemp(prefix="antin-soak-"))
    extra_env = dict(pair.split("=", 1) for pair in args.env)
    if args.heap_trace:
        extra_env.setdefault("ANTIN_SERVER_HEAP_TRACE_MINUTES", str(args.heap_trace_minutes))
        # a traced worker is several times slower and a dump holds it for a while: under granian (2026-12-05, load 10)
        # workers were killed by [server] timeout (60 s) within 8 minutes, their traces cut short
        extra_env.setdefault("ANTIN_SERVER_TIMEOUT", "600")
    try:
        only_a = {"a": dict(pair.split("=", 1) for pair in args.env_a)}
        with signing_platform(scratch, extra_env=extra_env, instance_env=only_a) as signing:
            platform = signing.platform
            delivered: list[str] = []
            if args.rate:
                officials, soak.peak_rounds_per_s, soak.target_rounds_per_s = 4, args.rate / args.fraction, args.rate
            else:
                steps = [int(s) for s in args.steps.split(",")]
                soak.ramp = measure_peak(platform, steps, args.peak_seconds, delivered)
                officials, soak.peak_rounds_per_s = max(soak.ramp, key=lambda r: r[1])
                soak.target_rounds_per_s = args.fraction * soak.peak_rounds_per_s
            print(
                f"{time.strftime('%H:%M:%S')} holding {soak.target_rounds_per_s:.2f} rounds/s for {args.minutes:g} min",
                flush=True,
            )
            outcomes, stop, sampled = Outcomes(), threading.Event(), threading.Event()
            begun = time.monotonic()
            pace = Pacer(soak.target_rounds_per_s, begun + args.minutes * 60)
            workers = [
                threading.Thread(
                    target=official_at_work, args=(platform, outcomes, stop), kwargs={"pace": pace}, daemon=True
                )
                for _ in range(officials + 2)  # a few more than the peak's: a slow round does not hold the pace
            ]
            sampler = threading.Thread(
                target=sample_every, args=(platform, outcomes, soak, args.sample_seconds, sampled, begun), daemon=True
            )
            sampler.start()
            for worker in workers:
                worker.start()
            while any(worker.is_alive() for worker in workers):
                time.sleep(1)  # not join(): Ctrl-C stops the soak (and the platform's servers) at once
            sampled.set()
            sampler.join(30)
            ledger = signing_ledger(platform.database_url, delivered + outcomes.delivered)
            lines = [*summary(soak, outcomes, args.minutes), ledger.line()]
            if args.heap_trace:
                keep_heap_traces(scratch, args.heap_trace)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))
    print("\n".join(cache_table(soak)))
    title = (
        f"Soak: {args.minutes:g} min at {soak.target_rounds_per_s:.2f} rounds/s "
        f"({args.fraction:.0%} of the peak {soak.peak_rounds_per_s:.2f}); {lines[2]}"
    )
    plot(soak, args.png, title + (f"; {args.note}" if args.note else ""))
    print(f"plot: {args.png}")
    if args.json:
        args.json.write_text(json.dumps(asdict(soak), indent=1), encoding="utf-8")
    five = int(lines[2].split(": ")[1])
    return 1 if five or ledger.delivered_not_audited or ledger.audited_not_delivered else 0


if __name__ == "__main__":
    raise SystemExit(main())
