"""SSO sessions at scale: a sign-in's and a logout's session work with 0 and with 100,000 live sessions, the bytes
a session costs, the purge of ended ones, what Redis holds per signed-in official, back-channel logout fan-out.

    python -m bench.sessions_bench [--sessions 100000] [--ops 300] [--quick] [--json FILE]

On PostgreSQL (a throwaway server, ``tests.servers.postgres_server``: fsync off) and on SQLite, in-process, with
the provider's own services (no HTTP, so the figures are the session work alone):

1. ``sign-in`` is ``SessionService.start`` and the next request's ``current`` (the cookie read back); ``logout``
   is ``OidcProvider.end_session`` of a session with two clients (ended, grants revoked, clients looked up, the
   audit entry appended). Checked: the cookie reads back its session; an ended session is no longer alive.
2. ``--sessions`` live sessions are inserted in bulk (1 to 3 clients each, 2 on average; last seen within the idle
   limit), the tables analysed, and both measured again. Every statement a real sign-in, refresh and logout
   sends through HTTP at that size is captured and ``EXPLAIN``-ed: a sequential scan of a session table counts as
   a wrong answer on the row. The bytes per session are tables and indexes (``pg_total_relation_size``, SQLite's
   ``dbstat``) over the bulk sessions and their clients.
3. The bulk sessions are marked ended 40 days ago and ``antin sessions purge --older-than 30`` (its service call)
   is timed; checked: none of them is left, every live session is.
4. With Redis (when ``redis-server`` is installed): officials sign in through HTTP; what Redis then holds per
   official (keys, ``MEMORY USAGE``, their TTLs). Sessions are not in Redis.
   Sign-in and logout are then measured once more on the emptied tables: a control for the shared machine.
5. Back-channel logout fan-out (:mod:`bench.sessions_fanout`) on the first database.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event, func, insert, select, text, update

from bench.rows import Row, Run, add_arguments, row_from_samples
from bench.sessions_fanout import fan_out_rows
from directory.memory import InMemoryDirectory
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.models import SessionClient, SsoSession
from idp.oidc.random_secrets import digest
from tests.idp.oidc_harness import live_provider
from tests.idp.rp import Browser, RelyingParty

BENCH = "sessions"
PASSWORD = "correct horse"
ACR = "urn:antin:acr:password"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SESSION_TABLES = ("oidc_sso_session", "oidc_session_client")
BULK_LOGIN = "can.bo."  # the bulk sessions' logins: the measured ones are "bench.*"


@contextmanager
def databases(folder: Path) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(name, settings overrides) of each database measured: PostgreSQL when installed, then SQLite."""
    found: list[tuple[str, dict[str, Any]]] = []
    with ExitStack() as stack:
        if shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
            from tests.servers import postgres_server

            found.append(("postgresql", {"database__url": stack.enter_context(postgres_server(folder / "pg"))}))
        found.append(("sqlite", {}))
        yield found


def _result(i: int, clock: Any) -> AuthenticationResult:
    return AuthenticationResult(f"bench-subject-{i}", clock(), ACR, ("pwd",), f"bench.{i}")


def sign_ins(live: Any, ops: int, label: str, extra_checked: int = 0, extra_wrong: int = 0, note: str = "") -> Row:
    sessions, clock = live.provider.sessions, live.instance.clock
    wall: list[float] = []
    cpu: list[float] = []
    wrong = 0
    for i in range(ops):
        result = _result(i, clock)
        c0, t0 = time.process_time(), time.perf_counter()
        cookie, view = sessions.start(result, user_agent=USER_AGENT, ip="10.1.2.3")
        again = sessions.current(cookie)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        wrong += again is None or again.sid != view.sid
    return row_from_samples(
        BENCH, f"sign-in: start + current, {label}", "antin", wall, cpu=cpu, checked=ops + extra_checked,
        wrong=wrong + extra_wrong, note=note,
    )  # fmt: skip


def logouts(live: Any, ops: int, label: str) -> Row:
    provider, db = live.provider, live.instance.database
    sids = []
    for i in range(ops):
        _cookie, view = provider.sessions.start(_result(i, live.instance.clock), user_agent=USER_AGENT, ip="10.1.2.3")
        sids.append(view.sid)
    with db.session() as s:
        ids = s.execute(select(SsoSession.id, SsoSession.created_at).where(SsoSession.sid.in_(sids))).all()
        s.execute(
            insert(SessionClient),
            [
                {"session_id": i, "client_id": c, "first_at": at}
                for i, at in ids
                for c in ("bench-app-a", "bench-app-b")
            ],
        )
    wall: list[float] = []
    cpu: list[float] = []
    wrong = 0
    for sid in sids:
        c0, t0 = time.process_time(), time.perf_counter()
        ended = provider.end_session(sid, reason="bench")
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        wrong += not ended or provider.sessions.alive(sid)
    return row_from_samples(
        BENCH, f"logout: end_session (2 clients), {label}", "antin", wall, cpu=cpu, checked=ops, wrong=wrong
    )


def bulk_insert(live: Any, count: int) -> float:
    """``count`` live sessions with 1 to 3 clients each (2 on average); returns the seconds it took."""
    db, now = live.instance.database, live.instance.clock()
    rng = random.Random(14)
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    for i in range(count):
        created = now - timedelta(seconds=rng.uniform(60, 9 * 3600))
        chunk.append(
            {
                "sid": secrets.token_urlsafe(24),
                "cookie_digest": digest(secrets.token_urlsafe(32)),
                "subject": str(uuid.uuid4()),
                "login": f"{BULK_LOGIN}{i}",
                "auth_time": created,
                "acr": ACR,
                "amr": ["pwd", "otp"] if i % 4 == 0 else ["pwd"],
                "created_at": created,
                "last_seen_at": now - timedelta(seconds=rng.uniform(0, 25 * 60)),
                "expires_at": created + timedelta(hours=10),
                "user_agent": USER_AGENT,
                "ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
            }
        )
        if len(chunk) == 5000 or i == count - 1:
            with db.session() as s:
                s.execute(insert(SsoSession), chunk)
            chunk = []
    bulk = f"login LIKE '{BULK_LOGIN}%'"
    with db.session() as s:
        for client, which in (("app-a", "1 = 1"), ("app-b", "id % 3 <> 0"), ("app-c", "id % 3 = 2")):
            s.execute(
                text(
                    "INSERT INTO oidc_session_client (session_id, client_id, first_at) "
                    f"SELECT id, 'bulk-{client}', created_at FROM oidc_sso_session WHERE {bulk} AND {which}"
                )
            )
    elapsed = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return elapsed


def table_bytes(live: Any) -> int:
    """Bytes of the session tables and their indexes."""
    db = live.instance.database
    with db.engine.connect() as conn:
        if db.is_sqlite:
            names = ", ".join(f"'{t}'" for t in SESSION_TABLES)
            return int(
                conn.exec_driver_sql(
                    "SELECT SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                    f"WHERE m.tbl_name IN ({names})"
                ).scalar_one()
            )
        return sum(
            int(conn.exec_driver_sql(f"SELECT pg_total_relation_size('{t}')").scalar_one()) for t in SESSION_TABLES
        )


def hot_statement_plans(live: Any) -> tuple[int, list[str]]:
    """EXPLAIN every statement on a session table that a real sign-in, refresh and logout send through HTTP.

    Returns how many were explained and a line for each that scans a session table from end to end."""
    engine = live.instance.database.engine
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if any(t in statement for t in SESSION_TABLES):
            captured.append((statement, parameters[0] if many else parameters))

    rp = RelyingParty.register(live, name="plans", post_logout_redirect_uris=("http://localhost:9/bye",))
    event.listen(engine, "before_cursor_execute", capture)
    try:
        browser = Browser(live.issuer)
        tokens = rp.code_flow(browser)
        rp.code_flow(browser)  # the same browser again: single sign-on, the session read by its cookie
        assert rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).ok
        live.provider.sessions.live_for(tokens["id_claims"]["sub"])  # "sign out everywhere" lists them
        query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://localhost:9/bye"})
        assert browser.go(live.issuer + "/logout?" + query).location == "http://localhost:9/bye"
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    sqlite = live.instance.database.is_sqlite
    scans: list[str] = []
    seen: set[str] = set()
    with engine.connect() as conn:
        for statement, parameters in captured:
            if statement in seen:
                continue
            seen.add(statement)
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            lines = [str(r[-1]) for r in conn.exec_driver_sql(prefix + statement, parameters).all()]
            full = [
                line
                for line in lines
                if re.search(r"^\s*(->\s*)?Seq Scan on (oidc_sso_session|oidc_session_client)", line)
                or re.search(r"^SCAN (oidc_sso_session|oidc_session_client)", line)
            ]
            print(f"  plan: {' '.join(statement.split())[:150]}")
            for line in lines:
                print(f"        {line}")
            scans += [f"{' '.join(statement.split())[:80]}: {line.strip()}" for line in full]
        conn.rollback()
    return len(seen), scans


def purge(live: Any, count: int, label: str) -> Row:
    db, clock = live.instance.database, live.instance.clock
    with db.session() as s:
        live_before = s.scalar(select(func.count()).select_from(SsoSession).where(SsoSession.ended_at.is_(None)))
        s.execute(
            update(SsoSession)
            .where(SsoSession.login.like(f"{BULK_LOGIN}%"))
            .values(ended_at=clock() - timedelta(days=40))
        )
    bloated = table_bytes(live)
    c0, t0 = time.process_time(), time.perf_counter()
    purged = live.provider.sessions.purge(timedelta(days=30))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
    after = table_bytes(live)
    with db.session() as s:
        left = s.scalar(select(func.count()).select_from(SsoSession).where(SsoSession.login.like(f"{BULK_LOGIN}%")))
        live_after = s.scalar(select(func.count()).select_from(SsoSession).where(SsoSession.ended_at.is_(None)))
    wrong = int(purged.sessions != count) + int(left != 0) + int(live_after != live_before - count)
    return Row(
        BENCH,
        f"purge {count:,} ended sessions, {label}",
        "antin",
        p50=None,
        p99=None,
        rate=count / elapsed,
        cpu_per_op=cpu / count * 1000,
        rss=None,
        n=count,
        checked=3,
        wrong=wrong,
        note=f"{elapsed:.1f} s in all; session tables {bloated / 1e6:.1f} MB once all were ended, "
        f"{after / 1e6:.1f} MB after the purge and VACUUM",
    )


def database_rows(run: Run, name: str, overrides: dict[str, Any], folder: Path, count: int, ops: int) -> Any:
    directory = InMemoryDirectory()
    directory.add("an.nguyen", PASSWORD, full_name="Nguyễn Văn An", mail="an.nguyen@antin.vn")
    stack = ExitStack()
    live = stack.enter_context(live_provider(folder / f"op-{name}", directory, **overrides))
    live.provider.keys.ensure()
    for _ in range(20):  # warm up: connections, statement caches
        live.provider.sessions.current(live.provider.sessions.start(_result(0, live.instance.clock))[0])
    run.add(sign_ins(live, ops, f"0 live ({name})"))
    run.add(logouts(live, ops, f"0 live ({name})"))
    empty = table_bytes(live)
    seconds = bulk_insert(live, count)
    grown = table_bytes(live) - empty
    with live.instance.database.session() as s:
        clients = (
            s.scalar(select(func.count()).select_from(SessionClient).where(SessionClient.client_id.like("bulk-%"))) or 0
        )
    run.add(
        Row(
            BENCH,
            f"bulk insert of live sessions ({name})",
            "antin",
            p50=None,
            p99=None,
            rate=count / seconds,
            cpu_per_op=None,
            rss=None,
            n=count,
            checked=1,
            wrong=int(not count <= clients <= 3 * count),
            note=f"{count:,} sessions with {clients:,} clients: {grown / count:,.0f} bytes per session "
            f"(tables and indexes, {clients / count:.2f} clients each), {grown / 1e6:.1f} MB",
        )
    )
    explained, scans = hot_statement_plans(live)
    plan_note = f"{explained} hot statements EXPLAINed at {count:,}: " + (
        "every one finds its rows through an index" if not scans else "FULL SCANS: " + "; ".join(scans)
    )
    run.add(sign_ins(live, ops, f"{count:,} live ({name})", explained, len(scans), plan_note))
    run.add(logouts(live, ops, f"{count:,} live ({name})"))
    run.add(purge(live, count, name))
    # the same again on the emptied tables: what is left of a difference is the machine, not the table's size
    run.add(sign_ins(live, ops, f"after the purge of the {count:,} ({name})"))
    run.add(logouts(live, ops, f"after the purge of the {count:,} ({name})"))
    return stack, live


def redis_rows(run: Run, folder: Path, officials: int) -> None:
    import redis

    from tests.servers import redis_server

    directory = InMemoryDirectory()
    for i in range(officials):
        directory.add(f"official.{i}", PASSWORD, full_name=f"Cán bộ {i}")
    with redis_server(folder / "redis") as url, live_provider(folder / "op-redis", directory, redis__url=url) as live:
        client = redis.Redis.from_url(url)
        rp = RelyingParty.register(live, name="redis bench")
        before = set(client.keys("*"))
        wall: list[float] = []
        wrong = 0
        for i in range(officials):
            t0 = time.perf_counter()
            tokens = rp.code_flow(Browser(live.issuer), username=f"official.{i}", password=PASSWORD)
            wall.append(time.perf_counter() - t0)
            wrong += not tokens.get("id_token")
        keys = [k for k in client.keys("*") if k not in before]
        used = sum(int(client.memory_usage(k) or 0) for k in keys)
        kinds: dict[str, list[int]] = {}
        for k in keys:
            name = k.decode(errors="replace") if isinstance(k, bytes) else str(k)
            kind = re.sub(r"[0-9a-f]{16,}|\d+(\.\d+)*", "…", name)
            kinds.setdefault(kind, []).append(int(client.ttl(k)))
        shown = ", ".join(f"{kind} ×{len(ttls)} (TTL ≤ {max(ttls)} s)" for kind, ttls in sorted(kinds.items()))
        client.close()
        run.add(
            row_from_samples(
                BENCH,
                "sign-in through HTTP with Redis (sqlite)",
                "antin",
                wall,
                checked=officials,
                wrong=wrong,
                note=f"Redis after {officials} officials signed in: {len(keys) / officials:.2f} keys and "
                f"{used / officials:,.0f} bytes (MEMORY USAGE) per official, none of them a session: "
                f"{shown or 'no keys'}",
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=None, help="live sessions (default 100000, --quick 5000)")
    parser.add_argument("--ops", type=int, default=None, help="sign-ins and logouts per row (default 300, --quick 40)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    count = args.sessions or (5_000 if args.quick else 100_000)
    ops = args.ops or (40 if args.quick else 300)
    logging.disable(logging.INFO)  # one log line per audit entry would be much of a logout
    run = Run(BENCH, args.quick)
    with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp)) as found:
        folder = Path(tmp)
        for index, (name, overrides) in enumerate(found):
            stack, live = database_rows(run, name, overrides, folder, count, ops)
            with stack:
                if index == 0:
                    for row in fan_out_rows(
                        live, name, repeats=3 if args.quick else 10, slow_repeats=1 if args.quick else 3
                    ):
                        run.add(row)
        if shutil.which("redis-server"):
            redis_rows(run, folder, 5 if args.quick else 20)
        else:
            run.notes.append("redis-server is not installed: what Redis holds was not measured")
    if len(found) == 1:
        run.notes.append("PostgreSQL is not installed: SQLite alone was measured")
    run.notes.append(
        "PostgreSQL is a throwaway server with fsync off (tests.servers.postgres_server): writes cost less than on a "
        "production server that syncs its WAL; the machine is shared, so compare rows of one run"
    )
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
