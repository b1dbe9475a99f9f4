"""Signing faults under load (issue 14, item 3, its signing part): officials sign in and sign PDFs through nginx in
front of two instances (scripts/load_mix.py: one SoftHSM2 token for both, an external TSA in a process of its own)
while, in turn, the TSA is killed with SIGKILL and started again, the HSM token fails (its folder moved away, as a
network HSM dropping off, then put back), the token's user PIN is changed under the platform (its security officer
changed it, the settings not: every worker logs in again with a PIN the token refuses; fixed by setting the PIN
back and reloading both instances, as an operator would) and PostgreSQL is killed and started again; last, if
asked (``pg-failover``), the platform's PostgreSQL is a primary with a streaming standby behind one multi-host URL,
the primary's host dies and the standby is promoted (``--synchronous``: a synchronous standby; ``--lag``: its WAL
receiver paused before the kill, to see what asynchronous replication loses), the old primary is brought back as
the new one's standby with pg_rewind under load, and the new primary dies in turn: the platform fails back to the
old one with the same URL. For each
fault it prints what clients saw (ok, a 503 with Retry-After and the problem's type, anything else), how long after
the component was back the last error came, and at the end that nothing was half-written: every signed PDF a client
received has its audit entry and its signature record, no audit entry names a signature no client received, no
refresh-token family is in two states, and the audit chain verifies; and that no PIN reached the instances' logs.

The OCSP responder has no process of its own: each instance answers ``/pki/ocsp`` and makes the B-LT revocation
data in-process from the database and the HSM, so its outages are those of PostgreSQL, the HSM and an instance
(scripts/faults_under_load.py kills one).

A locked PIN is not driven: SoftHSM2 never locks its user PIN (a wrong login only sets CKF_USER_PIN_COUNT_LOW);
it takes the same path as a wrong one (``HsmLockedError``, covered by tests/signing/pki/test_keystore.py's kin).

Run: ``python scripts/signing_faults.py [--clients 4] [--down 3] [--settle 15] [--faults tsa,hsm,hsm-pin,postgres]``
     ``python scripts/signing_faults.py --faults pg-failover [--synchronous] [--lag 2]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CI", "")

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402

from antin.kernel.database import Database  # noqa: E402
from scripts.faults_under_load import families_in_two_states, kill_postgres  # noqa: E402
from scripts.load_mix import (  # noqa: E402
    HSM_PIN,
    Outcomes,
    SigningPlatform,
    official_at_work,
    signing_ledger,
    signing_platform,
    start_tsa,
    unclear,
)
from signing.hsm import find_softhsm_module  # noqa: E402
from tests.antin.two_instances import AppInstance  # noqa: E402
from tests.postgres_standby import (  # noqa: E402
    PrimaryAndStandby,
    kill_host,
    postgres_with_standby,
    promote,
    rewind_as_standby,
    wait_until_replayed,
)
from tests.servers import postgres_server  # noqa: E402


def kill_tsa(signing: SigningPlatform) -> Callable[[], None]:
    """SIGKILL to the TSA's server, main process and worker (its host died), then started again on its address."""
    tsa = signing.tsa
    assert tsa is not None
    os.killpg(tsa.proc.pid, signal.SIGKILL)
    tsa.proc.wait(10)
    port = int(tsa.url.rsplit(":", 1)[1])

    def start() -> None:
        assert signing.platform.folder is not None
        signing.tsa = start_tsa(signing.platform.folder, signing.tsa_env, port)

    return start


def break_hsm(signing: SigningPlatform) -> Callable[[], None]:
    """The token's folder moved away under the instances' live sessions, then put back."""
    tokens = signing.hsm_folder / "tokens"
    away = signing.hsm_folder / "tokens.away"
    tokens.rename(away)

    def restore() -> None:
        away.rename(tokens)

    return restore


CHANGED_PIN = "pin-the-officer-chose"


def set_user_pin(signing: SigningPlatform, pin: str) -> None:
    """The token's security officer sets its user PIN (OpenSC's pkcs11-tool, as an HSM administrator would)."""
    env = {**os.environ, "SOFTHSM2_CONF": str(signing.hsm_folder / "softhsm2.conf")}
    command = ["pkcs11-tool", "--module", str(find_softhsm_module()), "--token-label", "antin", "--login"]
    command += ["--login-type", "so", "--so-pin", "so-" + HSM_PIN, "--init-pin", "--new-pin", pin]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def change_hsm_pin(signing: SigningPlatform) -> Callable[[], None]:
    """The user PIN changed on the token, which then drops for two seconds: every worker logs in again with the
    PIN of its settings, now wrong. The fix: the PIN set back, then each process that uses the token reloaded in
    turn (the TSA, instance A, instance B), each waited for before the next, as an operator would."""
    set_user_pin(signing, CHANGED_PIN)
    restore = break_hsm(signing)
    time.sleep(2)  # long enough for every worker's session to fail on a signature
    restore()

    def fix() -> None:
        set_user_pin(signing, HSM_PIN)
        assert signing.tsa is not None
        for process in (signing.tsa, signing.platform.a, signing.platform.b):
            reload_and_wait(process)

    return fix


def reload_and_wait(process: AppInstance) -> None:
    """SIGHUP (`systemctl reload antin`), then wait until every worker is a new one and /readyz (HSM included)
    answers 200.

    Reloading both instances at once left none serving while the new workers loaded the platform (gunicorn ended
    the old ones at once): on a busy machine over 25 s, seen with the `reload` fault; antin.gunicorn_server now keeps
    the old workers until the new ones are ready. granian replaces one worker at a time: the first new one answers
    /readyz while an old one, its PIN refused, still serves, so a new worker's 200 alone is not the reload's end."""
    old = set(process.workers())
    os.kill(process.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        workers = set(process.workers())
        if not workers & old and len(workers) >= len(old):
            try:
                if requests.get(process.url + "/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.2)
    raise AssertionError(f"{process.name} did not serve again after its reload")


def reload_instances(signing: SigningPlatform) -> Callable[[], None]:
    """Both instances reloaded at once (SIGHUP, `systemctl reload antin`: new workers, the old ones finish)."""
    for instance in (signing.platform.a, signing.platform.b):
        os.kill(instance.proc.pid, signal.SIGHUP)
    return lambda: None


def pins_in_logs(signing: SigningPlatform) -> tuple[int, int]:
    """(lines saying the token refused the PIN, lines containing either PIN) in the instances' logs.

    The refusal's own ERROR line, once per process, not /readyz's warnings ("not ready: hsm: the PIN was refused"),
    one per probe of a worker not yet reloaded."""
    logs = [signing.platform.a.log, signing.platform.b.log]
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    return text.count("will not log in again"), sum(text.count(pin) for pin in (HSM_PIN, CHANGED_PIN))


def kill_database(signing: SigningPlatform) -> Callable[[], None]:
    return kill_postgres(signing.platform)


@dataclass
class Failover:
    """PostgreSQL as a primary and a streaming standby behind one multi-host URL (``target_session_attrs=
    read-write``), and the faults that fail it over and back: the primary's host dies (SIGKILL to the postmaster and
    every backend at once: nothing more leaves it), ``--down`` seconds pass (what Patroni or an operator takes to
    decide), the standby is promoted with ``pg_ctl promote`` (``pg-failover``); under load, the old primary is
    brought back as the new one's standby with ``pg_rewind`` and waited for until it has replayed everything
    (``pg-rewind``); then the new primary's host dies and the old one is promoted again (``pg-failback``). Nothing is
    reconfigured or reloaded on the instances: their next connections skip the dead host and the read-only standby
    until it is promoted."""

    synchronous: bool = False  # the primary waits for the standby's flush before a commit returns
    # seconds the standby's WAL receiver is paused before the kill, then killed with what it had not read (a slow
    # link that breaks: the standby restarts its recovery from what it had written)
    lag: float = 0.0
    servers: PrimaryAndStandby | None = None
    figures: dict[str, float] = field(default_factory=dict)
    anchor: Path | None = None  # the audit log's head anchored just before the kill (outside the database)

    @contextlib.contextmanager
    def database(self, folder: Path) -> Iterator[str]:
        with postgres_with_standby(folder, synchronous=self.synchronous) as servers:
            self.servers = servers
            yield servers.url

    def _servers(self) -> PrimaryAndStandby:
        assert self.servers is not None, "pg-failover needs the platform made with a standby"
        return self.servers

    def fail_over(self, signing: SigningPlatform) -> Callable[[], None]:
        servers = self._servers()
        receiver = wal_receiver(servers) if self.lag else None
        if receiver is not None:
            os.kill(receiver, signal.SIGSTOP)
            time.sleep(self.lag)
        self.figures["WAL bytes not on the standby's disk just before the kill"] = wal_not_on_standby(servers)
        # what a timer's `antin audit anchor` would have written last: the final verify must name what was lost
        assert signing.platform.folder is not None
        self.anchor = signing.platform.folder / "audit-anchor.json"
        anchor_command = [sys.executable, "-m", "antin", "audit", "anchor", "--out", str(self.anchor)]
        subprocess.run(anchor_command, env=signing.platform.env, cwd=ROOT, capture_output=True, check=True)
        kill_host(servers.primary_url)
        if receiver is not None:  # the link is gone with what was in flight on it (SIGCONT would deliver that)
            os.kill(receiver, signal.SIGKILL)

        def promote_standby() -> None:
            self.figures["pg_ctl promote took (s)"] = round(promote(servers.standby_url), 2)

        return promote_standby

    def rewind(self, _signing: SigningPlatform) -> Callable[[], None]:
        """The old primary back as the new one's standby while officials sign (the operator's commands in
        docs/production.md, "Bringing the old primary back")."""
        servers = self._servers()
        self.figures["pg_rewind took (s)"] = round(rewind_as_standby(servers.primary_url, servers.standby_url), 2)
        self.figures["then caught up after (s)"] = round(wait_until_replayed(servers.standby_url, timeout=120), 2)
        return lambda: None

    def fail_back(self, _signing: SigningPlatform) -> Callable[[], None]:
        """The second failover: the promoted server's host dies, the rewound old primary is promoted again."""
        servers = self._servers()
        kill_host(servers.standby_url)

        def promote_old_primary() -> None:
            self.figures["pg_ctl promote took (s)"] = round(promote(servers.primary_url), 2)

        return promote_old_primary


def wal_not_on_standby(servers: PrimaryAndStandby) -> float:
    """How far the standby's flushed WAL is behind the primary's (bytes): what a promotion now would lose."""
    database = Database(servers.primary_url, pool_size=1)
    try:
        with database.engine.connect() as conn:
            lag = conn.execute(text("select pg_current_wal_lsn() - flush_lsn from pg_stat_replication")).scalar()
    finally:
        database.dispose()
    return float(lag) if lag is not None else float("nan")


def wal_receiver(servers: PrimaryAndStandby) -> int:
    """The process id of the standby's WAL receiver."""
    database = Database(servers.standby_url, pool_size=1)
    try:
        with database.engine.connect() as conn:
            pid = conn.execute(text("select pid from pg_stat_wal_receiver")).scalar()
    finally:
        database.dispose()
    assert pid is not None, "the standby receives no WAL"
    return int(pid)


FAULTS: dict[str, Callable[[SigningPlatform], Callable[[], None]]] = {
    "tsa": kill_tsa,
    "hsm": break_hsm,
    "hsm-pin": change_hsm_pin,
    "reload": reload_instances,
    "postgres": kill_database,
}
# the last faults run, in this order (main() makes the Failover): the platform survives two failovers in a row
FAILOVER_STEPS = ("pg-failover", "pg-rewind", "pg-failback")


def report(name: str, outcomes: list[tuple[float, str, str]], killed: float, back: float) -> dict[str, object]:
    kinds = Counter(f"{op} {outcome}" for _t, op, outcome in outcomes)
    errors = [t for t, _op, outcome in outcomes if outcome != "ok"]
    last_error = max(errors) if errors else None
    recovered = max(0.0, last_error - back) if last_error is not None and last_error > back else 0.0
    bad = {k: v for k, v in kinds.items() if unclear(k.split(" ", 1)[1]) or " odd:" in k or " conn:" in k}
    signed = [t for t, op, outcome in outcomes if op == "sign" and outcome == "ok" and t > back]
    first_signed = (min(signed) - back) if signed else None
    print(
        f"{name:9} down at +0.0 s, back at +{back - killed:.1f} s: {sum(kinds.values())} operations, "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        + f"; last error {recovered:.1f} s after it was back"
        + (f"; first signature {first_signed:.1f} s after" if first_signed is not None else "; NO SIGNATURE AFTER")
        + (f"; NOT A CLEAR ANSWER: {bad}" if bad else ""),
        flush=True,
    )
    late = [f"+{t - back:.1f}s {op} {outcome}" for t, op, outcome in outcomes if t > back and outcome != "ok"]
    if late:
        print(f"          errors after it was back: {', '.join(late[:12])}{' …' if len(late) > 12 else ''}")
    return {"fault": name, "outcomes": dict(kinds), "recovered_after_s": round(recovered, 2), "unclear": bad}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="officials at work at once (threads)")
    parser.add_argument("--down", type=float, default=3.0, help="seconds each component stays dead")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds of load after it is back")
    parser.add_argument("--faults", default=",".join(FAULTS), help="which, in order (comma-separated)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' folder (logs) and print its path")
    parser.add_argument(
        "--synchronous", action="store_true", help="pg-failover: synchronous_standby_names = '*' on the primary"
    )
    parser.add_argument(
        "--lag",
        type=float,
        default=0.0,
        help="pg-failover: the standby's WAL receiver paused this long before the kill",
    )
    args = parser.parse_args()
    names = args.faults.split(",")
    failover = Failover(synchronous=args.synchronous, lag=args.lag)
    steps = (failover.fail_over, failover.rewind, failover.fail_back)
    faults: dict[str, Callable[[SigningPlatform], Callable[[], None]]] = {
        **FAULTS,
        **dict(zip(FAILOVER_STEPS, steps, strict=True)),
    }
    unknown = [name for name in names if name not in FAULTS and name != "pg-failover"]
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)} (known: {', '.join([*FAULTS, 'pg-failover'])})")
    if "pg-failover" in names[:-1]:
        parser.error("pg-failover must be the last fault (it fails over, rewinds and fails back)")
    if "pg-failover" in names:
        names = [*names[:-1], *FAILOVER_STEPS]
    results = []
    scratch = tempfile.mkdtemp(prefix="antin-signing-faults-")
    database = failover.database if "pg-failover" in names else postgres_server
    with signing_platform(Path(scratch), external_tsa=True, database=database) as signing:
        platform = signing.platform
        outcomes, stop = Outcomes(), threading.Event()
        workers = [
            threading.Thread(target=official_at_work, args=(platform, outcomes, stop), daemon=True)
            for _ in range(args.clients)
        ]
        for worker in workers:
            worker.start()
        time.sleep(args.settle)
        print(f"baseline: {dict(Counter(f'{op} {o}' for _t, op, o in outcomes.items))}", flush=True)
        for name in names:
            killed = time.monotonic()
            start_again = faults[name](signing)
            time.sleep(args.down)
            start_again()
            back = time.monotonic()
            time.sleep(args.settle)
            results.append(report(name, outcomes.between(killed, time.monotonic()), killed, back))
            if name in FAILOVER_STEPS:
                print("          " + "; ".join(f"{k}: {v:g}" for k, v in failover.figures.items()), flush=True)
                failover.figures.clear()
        stop.set()
        for worker in workers:
            worker.join(90)
        ledger = signing_ledger(platform.database_url, outcomes.delivered)
        two_states = families_in_two_states(platform.database_url)
        anchored = ["--anchor", str(failover.anchor)] if failover.anchor else []
        audit = subprocess.run(
            [sys.executable, "-m", "antin", "audit", "verify", *anchored],
            check=False,
            env=platform.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        print(ledger.line())
        for label, refs in (
            ("delivered without audit entry", ledger.delivered_not_audited),
            ("audited without signature record", ledger.audited_not_recorded),
            ("audited but not delivered", ledger.audited_not_delivered),
        ):
            if refs:
                print(f"  {label}: {', '.join(refs[:5])}")
        print(f"refresh-token families in two states: {two_states}")
        said = (audit.stdout + audit.stderr).strip()[:400]
        verdict = "verifies" if audit.returncode == 0 else "BROKEN"
        print(f"audit chain{' (and the anchor)' if anchored else ''}: {verdict}: {said}")
        refusals, pins = pins_in_logs(signing)
        print(f"HSM PIN refusals in the instances' logs: {refusals} lines; PINs written there: {pins}")
        tracebacks = sum(log.read_text(errors="replace").count("Traceback") for log in (platform.a.log, platform.b.log))
        print(f"tracebacks in the instances' logs: {tracebacks}")
    if args.keep:
        print(f"logs kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    half_written = ledger.delivered_not_audited or ledger.audited_not_recorded or ledger.audited_not_delivered
    failed = any(r["unclear"] for r in results) or half_written or two_states or audit.returncode != 0 or pins
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
