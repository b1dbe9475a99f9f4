"""Faults under load (issue 14, item 3): officials sign in, refresh and introspect through nginx in front of two
instances while each component is killed with SIGKILL and started again in turn — slapd, PostgreSQL, Redis, one
application instance. For each fault it prints what clients saw (answers by kind: ok, a clear 503, any other 5xx,
a connection error), how long after the component came back the last error was, and then checks that nothing was
left half-written: no refresh-token family with two live tokens, the audit chain verifies.

The platform is tests/antin/two_instances.py's (docs/production's nginx site, unit and settings, real PostgreSQL,
Redis and slapd on loopback). Not in CI: it takes a few minutes.

Run: ``python scripts/faults_under_load.py [--clients 4] [--down 3] [--settle 12] [--faults slapd,redis,…]``
(``--faults instance-main``: instance A's main process alone killed, its workers left to stop by themselves)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CI", "")

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402

from antin.kernel.database import Database  # noqa: E402
from tests.antin.two_instances import (  # noqa: E402
    AppInstance,
    Platform,
    serve_arguments,
    two_instances,
    wait_until_serving,
)
from tests.directory.conftest import PASSWORD  # noqa: E402
from tests.servers import _as_postgres_user, _postgres_bin_dir, socket_and_port  # noqa: E402


@dataclass
class Outcomes:
    """Every operation's end, with its time: "ok", "503", "5xx:<code>", "4xx:<code>" or "conn:<error>"."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: list[tuple[float, str, str]] = field(default_factory=list)  # (when, operation, outcome)

    def add(self, operation: str, outcome: str) -> None:
        with self.lock:
            self.items.append((time.monotonic(), operation, outcome))

    def between(self, start: float, end: float) -> list[tuple[float, str, str]]:
        with self.lock:
            return [item for item in self.items if start <= item[0] < end]


def _status(code: int) -> str:
    if code < 400:
        return "ok"
    if code == 503:
        return "503"
    return f"{code // 100}xx:{code}"


def officials_at_work(platform: Platform, outcomes: Outcomes, stop: threading.Event) -> None:
    """Sign in (the code flow through nginx), redeem the code, refresh, introspect: one operation at a time."""
    party = platform.relying_party()
    while not stop.is_set():
        try:
            browser = platform.browser()
            page = party.authorize(browser).page
            if page is None or "login-form" not in page.text:
                outcomes.add("sign-in", _status(page.status_code if page is not None else 0))
                time.sleep(0.2)
                continue
            landed = browser.login(page, platform.official, PASSWORD)
            if landed.location is None:
                outcomes.add("sign-in", _status(landed.page.status_code if landed.page is not None else 0))
                time.sleep(0.2)
                continue
            outcomes.add("sign-in", "ok")
            code = {k: v[0] for k, v in parse_qs(urlsplit(landed.location).query).items()}["code"]
            tokens = party.token_request(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": party.redirect_uri,
                    "code_verifier": party.last["verifier"],
                }
            )
            outcomes.add("token", _status(tokens.status_code))
            if tokens.status_code != 200:
                continue
            refreshed = party.token_request(
                {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
            )
            outcomes.add("refresh", _status(refreshed.status_code))
            introspected = platform.session().post(
                platform.issuer + "/introspect",
                data={"token": tokens.json()["access_token"]},
                auth=(party.client.client_id, party.secret or ""),
                timeout=10,
            )
            outcomes.add("introspect", _status(introspected.status_code))
        except requests.RequestException as err:
            outcomes.add("any", f"conn:{type(err).__name__}")
            time.sleep(0.2)
        except (AssertionError, KeyError, ValueError) as err:
            outcomes.add("any", f"odd:{type(err).__name__}:{str(err)[:80]}")
            time.sleep(0.2)


# -- killing and starting each component --------------------------------------------------------------------------


def _pid_from_file(path: Path) -> int:
    return int(path.read_text().split()[0])


def kill_slapd(platform: Platform) -> Callable[[], None]:
    assert platform.slapd is not None
    slapd = platform.slapd
    os.kill(_pid_from_file(slapd.layout.pidfile), signal.SIGKILL)
    time.sleep(0.2)

    def start() -> None:
        slapd.ensure_running()

    return start


def kill_postgres(platform: Platform) -> Callable[[], None]:
    socket_dir, _port = socket_and_port(platform.database_url)  # the primary, when the URL names a standby too
    data = Path(socket_dir) / "data"
    # started again as it was (postmaster.opts: the program, -D and its folder, then the options), so that a server
    # made for pg_rewind (full pages written) stays one
    options = shlex.join(shlex.split((data / "postmaster.opts").read_text())[3:])
    os.kill(_pid_from_file(data / "postmaster.pid"), signal.SIGKILL)

    def start() -> None:
        time.sleep(0.5)  # the backends notice their postmaster is gone and exit
        pg_ctl = str(_postgres_bin_dir() / "pg_ctl")
        subprocess.run(
            [*_as_postgres_user(), pg_ctl, "-D", str(data), "-o", options, "-l", f"{socket_dir}/log", "-w", "start"],
            check=True,
            capture_output=True,
        )

    return start


# servers this script started in place of killed ones that the platform's own teardown does not know of
RESTARTED: list[subprocess.Popen[bytes]] = []


def kill_redis(platform: Platform) -> Callable[[], None]:
    import redis

    parts = urlsplit(platform.redis_url)
    port = parts.port or 6379
    pid = int(redis.Redis(port=port).info("server")["process_id"])
    assert platform.folder is not None
    folder = platform.folder / "redis"
    os.kill(pid, signal.SIGKILL)

    def start() -> None:
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        RESTARTED.append(
            subprocess.Popen([*command, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    return start


def kill_instance(platform: Platform) -> Callable[[], None]:
    """SIGKILL to instance A's master and its workers (the host died), then A started again on its address."""
    a = platform.a
    for pid in [*a.workers(), a.proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    a.proc.wait(10)
    print(f"instance A's log so far: {a.log}")
    return start_instance_again(platform)


def kill_instance_main(platform: Platform) -> Callable[[], None]:
    """SIGKILL to instance A's main process alone (granian's, or gunicorn's arbiter): its workers notice their parent
    gone and stop as on SIGTERM, answering what they hold; then A started again on its address."""
    a = platform.a
    a.orphans.extend(a.workers())  # stopped at the end if they did not stop by themselves
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait(10)
    return start_instance_again(platform)


def start_instance_again(platform: Platform) -> Callable[[], None]:
    a = platform.a

    def start() -> None:
        bind = a.url.removeprefix("http://")
        proc = subprocess.Popen(
            [sys.executable, "-m", "antin", *serve_arguments(bind)],
            env=platform.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=a.log.open("ab"),
        )
        platform.a = AppInstance(a.name, a.url, proc, a.log, orphans=a.orphans)  # stopped at the end with it
        wait_until_serving(platform.a)

    return start


FAULTS: dict[str, Callable[[Platform], Callable[[], None]]] = {
    "slapd": kill_slapd,
    "postgres": kill_postgres,
    "redis": kill_redis,
    "instance": kill_instance,
    "instance-main": kill_instance_main,  # not in the default list: asked for by name
}
DEFAULT_FAULTS = ("slapd", "postgres", "redis", "instance")


# -- what is left after ---------------------------------------------------------------------------------------------


def families_in_two_states(database_url: str) -> int:
    """Live grants with more than one live refresh token (a rotation half done)."""
    database = Database(database_url, pool_size=1)
    try:
        with database.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "select count(*) from (select t.grant_id from oidc_token t"
                        " join oidc_grant g on g.id = t.grant_id where t.kind = 'refresh'"
                        " and t.revoked_at is null and t.rotated_at is null"
                        " and g.revoked_at is null group by t.grant_id having count(*) > 1) x"
                    )
                ).scalar()
                or 0
            )
    finally:
        database.dispose()


def report(
    name: str, outcomes: list[tuple[float, str, str]], killed: float, back: float, clients: int
) -> dict[str, object]:
    kinds = Counter(outcome for _t, _op, outcome in outcomes)
    # the login throttle's 429s are not the fault's (the load comes from one address: they happen before it too)
    errors = [t for t, _op, outcome in outcomes if outcome not in ("ok", "4xx:429")]
    last_error = max(errors) if errors else None
    recovered = max(0.0, last_error - back) if last_error is not None and last_error > back else 0.0
    # a clear answer: success, 503 (unavailable, try again) or 429 (the login throttle, with Retry-After)
    bad = dict(Counter(f"{op} {outcome}" for _t, op, outcome in outcomes if outcome not in ("ok", "503", "4xx:429")))
    killed_instance = name.startswith("instance")
    in_flight = sum(v for k, v in bad.items() if k.endswith("5xx:502")) if killed_instance else 0
    if in_flight <= clients:  # requests the killed instance was answering: nginx cannot resend a POST it sent
        bad = {k: v for k, v in bad.items() if not (killed_instance and k.endswith("5xx:502"))}
    print(
        f"{name:9} killed at +0.0 s, back at +{back - killed:.1f} s: {sum(kinds.values())} operations, "
        + ", ".join(f"{k} {v}" for k, v in kinds.most_common())
        + f"; last error {recovered:.1f} s after it was back"
        + (f"; NOT A CLEAR ANSWER: {bad}" if bad else "")
    )
    late = [f"+{t - back:.1f}s {op} {outcome}" for t, op, outcome in outcomes if t > back and t in errors]
    if late:
        print(f"          errors after it was back: {', '.join(late[:12])}{' …' if len(late) > 12 else ''}")
    return {"fault": name, "outcomes": dict(kinds), "recovered_after_s": round(recovered, 2), "unclear": bad}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="officials at work at once (threads)")
    parser.add_argument("--down", type=float, default=3.0, help="seconds each component stays dead")
    parser.add_argument("--settle", type=float, default=12.0, help="seconds of load after it is back")
    parser.add_argument(
        "--faults",
        default=",".join(DEFAULT_FAULTS),
        help=f"which, in order (comma-separated; known: {', '.join(FAULTS)})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the servers' folder (logs) and print its path")
    args = parser.parse_args()
    results = []
    scratch = tempfile.mkdtemp(prefix="antin-faults-")
    try:
        with two_instances(Path(scratch)) as platform:
            outcomes, stop = Outcomes(), threading.Event()
            workers = [
                threading.Thread(target=officials_at_work, args=(platform, outcomes, stop), daemon=True)
                for _ in range(args.clients)
            ]
            for worker in workers:
                worker.start()
            time.sleep(args.settle)
            print(f"baseline: {Counter(o for _t, _op, o in outcomes.items)}")
            for name in args.faults.split(","):
                killed = time.monotonic()
                start_again = FAULTS[name](platform)
                time.sleep(args.down)
                start_again()
                back = time.monotonic()
                time.sleep(args.settle)
                results.append(report(name, outcomes.between(killed, time.monotonic()), killed, back, args.clients))
            stop.set()
            for worker in workers:
                worker.join(30)
            two_states = families_in_two_states(platform.database_url)
            audit = subprocess.run(
                [sys.executable, "-m", "antin", "audit", "verify"],
                check=False,
                env=platform.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            print(f"refresh-token families in two states: {two_states}")
            print(f"audit chain: {'verifies' if audit.returncode == 0 else 'BROKEN'}: {audit.stdout.strip()[:300]}")
    finally:
        for server in RESTARTED:  # e.g. Redis, started again by its fault
            server.terminate()
            server.wait(10)
    if args.keep:
        print(f"logs kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    unclear = any(r["unclear"] for r in results)
    return 1 if unclear or two_states or audit.returncode != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
