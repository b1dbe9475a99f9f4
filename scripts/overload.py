"""Past the peak (issue 14, items 3 and 9): what officials and applications see when the two-instance platform gets
more than it can answer. The mixed load of scripts/load_mix.py (sign-in, code, refresh, introspection, signing,
verification) is ramped up to find the peak as scripts/soak.py does, then held open-loop at 1.5× and 2× that rate
for ``--minutes`` each. Every HTTP request the load sends is counted by phase, endpoint and answer (200, the
platform's 503 with Retry-After, nginx's 502/504, a connection error), with latency percentiles; the instances'
and nginx's logs are searched for tracebacks, worker timeouts and upstream errors. Not in CI: minutes of load.

Run: ``python scripts/overload.py [--minutes 3] [--factors 1.5,2] [--rate R] [--env NAME=VALUE] [--json FILE]``
(``--env ANTIN_SERVER_QUEUE_TIMEOUT=0`` turns the instances' queue deadline off: the run before it existed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CI", "")

import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

from scripts.load_mix import Outcomes, official_at_work, signing_ledger, signing_platform  # noqa: E402
from scripts.soak import Pacer, measure_peak  # noqa: E402
from tests.antin.two_instances import Platform  # noqa: E402

# what the logs say: each pattern counted in the instances' logs and nginx's error log
LOG_PATTERNS = {
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "ERROR line": re.compile(r'"level": ?"ERROR"|\bERROR\b'),
    "worker timeout": re.compile(r"WORKER TIMEOUT"),
    "queue deadline lines": re.compile(r"overloaded: \d+ requests refused"),
    "nginx upstream timed out": re.compile(r"upstream timed out"),
    "nginx upstream reset/refused": re.compile(r"(reset by peer|refused) while"),
    "nginx no live upstreams": re.compile(r"no live upstreams"),
}


REFUSED_LINE = re.compile(r"overloaded: (\d+) requests refused")


@dataclass
class Exchange:
    at: float  # when the answer (or the failure) came, monotonic
    phase: str
    endpoint: str  # method and path, query left out
    answer: str  # "200", "503", "503 no Retry-After", "502", "conn:ReadTimeout"…
    seconds: float  # from sending to the answer's headers (or to the failure)


@dataclass
class Recorder:
    """Every request the load's sessions send, whatever the script's own checks make of it."""

    phase: str = "warm-up"
    lock: threading.Lock = field(default_factory=threading.Lock)
    exchanges: list[Exchange] = field(default_factory=list)

    def add(self, endpoint: str, answer: str, seconds: float) -> None:
        with self.lock:
            self.exchanges.append(Exchange(time.monotonic(), self.phase, endpoint, answer, seconds))


def endpoint_of(request: requests.PreparedRequest) -> str:
    path = urlsplit(request.url or "").path
    path = re.sub(r"/[A-Za-z0-9_-]{16,}", "/…", path)  # identifiers in paths count as one endpoint
    return f"{request.method} {path}"


def record_every_request(recorder: Recorder) -> None:
    """Wraps requests' adapter: the load_mix code stays as the soak runs it."""
    send = HTTPAdapter.send

    def recorded_send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        began = time.monotonic()
        try:
            response = send(self, request, *args, **kwargs)
        except requests.RequestException as err:
            recorder.add(endpoint_of(request), f"conn:{type(err).__name__}", time.monotonic() - began)
            raise
        answer = str(response.status_code)
        if response.status_code == 503 and not response.headers.get("Retry-After"):
            answer += " no Retry-After"
        elif response.status_code == 503 and response.headers.get("Content-Type") == "application/problem+json":
            answer += " " + str(response.json().get("type", "")).removeprefix("urn:antin:")  # overloaded, verify:busy…
        if response.status_code >= 500 and b"Traceback" in response.content:
            answer += " traceback"
        recorder.add(endpoint_of(request), answer, time.monotonic() - began)
        return response

    HTTPAdapter.send = recorded_send  # type: ignore[method-assign]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def phase_report(recorder: Recorder, phase: str, seconds: float) -> list[str]:
    mine = [e for e in recorder.exchanges if e.phase == phase]
    if not mine:
        return [f"{phase}: nothing sent"]
    answers = Counter(e.answer for e in mine)
    lines = [
        f"{phase}: {len(mine)} requests in {seconds:.0f} s ({len(mine) / seconds:.1f}/s); answers: "
        + ", ".join(f"{k} {v}" for k, v in sorted(answers.items()))
    ]
    by_endpoint: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in mine:
        by_endpoint[exchange.endpoint].append(exchange)
    for endpoint, items in sorted(by_endpoint.items(), key=lambda kv: -len(kv[1])):
        counts = Counter(e.answer for e in items)
        ok = [e.seconds for e in items if e.answer.startswith(("2", "3"))]
        refused = [e.seconds for e in items if e.answer.startswith("503")]
        other = [e.seconds for e in items if not e.answer.startswith(("2", "3", "4", "503"))]
        lat = ""
        if ok:
            lat = f"ok p50 {percentile(ok, 0.5):.2f} p90 {percentile(ok, 0.9):.2f} p99 {percentile(ok, 0.99):.2f}"
        if refused:
            lat += f"; 503 p50 {percentile(refused, 0.5):.2f} max {max(refused):.2f}"
        if other:
            lat += f"; 5xx/conn p50 {percentile(other, 0.5):.2f} max {max(other):.2f}"
        answered = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        lines.append(f"  {endpoint:40} {len(items):6}  {answered}  [{lat} s]")
    return lines


def log_counts(folder: Path) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for name, path in (("a", folder / "a.log"), ("b", folder / "b.log"), ("nginx", folder / "nginx" / "error.log")):
        text = path.read_text(errors="replace") if path.exists() else ""
        found[name] = {what: len(pattern.findall(text)) for what, pattern in LOG_PATTERNS.items()}
        found[name]["refused by the queue deadline"] = sum(int(n) for n in REFUSED_LINE.findall(text))
        for at in [m.start() for m in LOG_PATTERNS["traceback"].finditer(text)][:3]:
            print(f"--- {name}'s log, a traceback:\n{text[max(0, at - 600) : at + 2500]}", flush=True)
    return found


def hold(platform: Platform, recorder: Recorder, outcomes: Outcomes, rate: float, seconds: float, threads: int) -> None:
    stop = threading.Event()
    pace = Pacer(rate, time.monotonic() + seconds)
    workers = [
        threading.Thread(target=official_at_work, args=(platform, outcomes, stop), kwargs={"pace": pace}, daemon=True)
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    while any(worker.is_alive() for worker in workers):
        time.sleep(1)
        if time.monotonic() > pace.until + 90:  # rounds still waiting on answers 90 s after the phase: stop them
            stop.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="how long each factor is held (default 3)")
    parser.add_argument("--factors", default="1.5,2", help="multiples of the peak held in turn (default 1.5,2)")
    parser.add_argument("--rate", type=float, help="take this as the peak (rounds/s) instead of searching for it")
    parser.add_argument("--peak-seconds", type=float, default=20.0, help="seconds per step of the peak search")
    parser.add_argument("--steps", default="2,4,6,8", help="officials at once in the peak search")
    parser.add_argument("--threads", type=int, default=48, help="load threads per phase (open loop, default 48)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="both instances' env")
    parser.add_argument("--json", type=Path, help="write the counts and percentiles to this file")
    args = parser.parse_args()
    recorder = Recorder()
    record_every_request(recorder)
    scratch = Path(tempfile.mkdtemp(prefix="antin-overload-"))
    extra_env = dict(pair.split("=", 1) for pair in args.env)
    lines: list[str] = []
    loads: dict[str, list[float]] = defaultdict(list)
    try:
        with signing_platform(scratch, extra_env=extra_env) as signing:
            platform = signing.platform
            delivered: list[str] = []
            if args.rate:
                peak = args.rate
                lines.append(f"peak taken as {peak:.2f} rounds/s (--rate); load {os.getloadavg()[0]:.2f}")
            else:
                recorder.phase = "peak search"
                began = time.monotonic()
                ramp = measure_peak(platform, [int(s) for s in args.steps.split(",")], args.peak_seconds, delivered)
                peak = max(r for _o, r in ramp)
                lines.append(
                    f"peak {peak:.2f} rounds/s ({', '.join(f'{o} at once: {r:.2f}' for o, r in ramp)}) in"
                    f" {time.monotonic() - began:.0f} s, load {os.getloadavg()[0]:.2f}"
                )
            print(lines[-1], flush=True)
            outcomes = Outcomes()
            durations: dict[str, float] = {}
            for factor in (float(f) for f in args.factors.split(",")):
                phase = f"{factor:g}x peak ({factor * peak:.2f} rounds/s)"
                recorder.phase = phase
                print(f"{time.strftime('%H:%M:%S')} {phase} for {args.minutes:g} min", flush=True)
                began = time.monotonic()
                sampler_stop = threading.Event()

                def sample(into: list[float] = loads[phase], stop: threading.Event = sampler_stop) -> None:
                    while not stop.wait(10):
                        into.append(os.getloadavg()[0])

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                hold(platform, recorder, outcomes, factor * peak, args.minutes * 60, args.threads)
                sampler_stop.set()
                durations[phase] = time.monotonic() - began
            recorder.phase = "after"
            for phase, seconds in durations.items():
                lines += phase_report(recorder, phase, seconds)
                if loads[phase]:
                    lines.append(
                        f"  load average: median {statistics.median(loads[phase]):.1f}, max {max(loads[phase]):.1f}"
                    )
            counts = log_counts(scratch)
            lines.append("logs: " + "; ".join(f"{n}: {c}" for n, c in counts.items()))
            ledger = signing_ledger(platform.database_url, delivered + outcomes.delivered)
            lines.append(ledger.line())
            if args.json:
                summary = {
                    "peak": peak,
                    "env": extra_env,
                    "lines": lines,
                    "logs": counts,
                    "loads": loads,
                    "exchanges": [e.__dict__ for e in recorder.exchanges],
                }
                args.json.write_text(json.dumps(summary), encoding="utf-8")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
