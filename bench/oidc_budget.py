"""The budget of one token operation, in-process: where the CPU of a client_credentials grant, an introspection and
a refresh goes, and how many SQL statements each (and a whole sign-in) sends.

No HTTP server and no load: each operation goes through Flask's test client one after another (SQLite by default,
``--database-url`` for PostgreSQL), the directory is in memory. Every answer is checked (a token, ``active: true``,
a rotated refresh token). For each row it prints the CPU per operation, the SQL statements per operation (every
statement the driver executes, ``BEGIN`` and ``COMMIT`` included) and, with ``--profile``, the share of the
operation's time inside client authentication, the database (SQLAlchemy and the driver), crypto (JWS sign and
verify), the audit append and JSON; the rest is the framework (Flask, Werkzeug, authlib). The HTTP server's share
comes from ``bench.oidc_bench --profile`` (gunicorn's frames): it is not in this process.

Run: ``python -m bench.oidc_budget [--ops 500] [--rows a,b] [--profile [--pstats DIR]] [--database-url URL] [--wsgi]``.
With ``--wsgi`` the requests skip the test client (about a quarter of each operation's CPU): each is a WSGI call
of the app with an environ as granian builds one (the process environment and the request's keys) and nginx's
headers (``X-Forwarded-*``, ``X-Request-ID``, ``X-Request-Start``), the instance set up as behind it (trusted
proxy, queue deadline): every layer a served request crosses in Python, without the server's own work; the
discovery document and the JWKS are measured too.
Besides the CPU per operation over the whole row it prints the best of ten batches, which other work on a shared
machine inflates far less. With ``--driver-ab`` (PostgreSQL) each row alternates batches with the hot statements on
psycopg (``antin.kernel.driver``) and on SQLAlchemy, in the same process, and prints both; with ``--audit-ab``
(PostgreSQL) batches with each token operation's audit entry written by its own statement and appended apart.
With ``--backend-cpu`` (PostgreSQL on this machine) each row also prints the CPU its database backends spent per
operation (``/proc/<pid>/schedstat`` of the database's sessions, nanoseconds) and, with the pg_stat_statements
extension, each statement's execution time per call.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]

# where the time is spent (self time of each function, by the library it is in): first match wins
LIBRARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database", ("sqlalchemy/", "psycopg", "sqlite3", "_sqlite")),
    ("crypto", ("joserfc/", "cryptography", "hashlib", "hmac", "_hashlib", "secrets")),
    ("JSON", ("json/", "_json")),
    ("logging", ("logging/",)),
    ("Flask/Werkzeug", ("flask/", "werkzeug/")),
    ("authlib", ("authlib/",)),
    ("Ấn Tín", ("/idp/", "/antin/", "/directory/")),
)
# the parts of one operation (time inside these functions, callees included)
PARTS: tuple[tuple[str, str, str], ...] = (
    ("client authentication", "idp/oidc/server.py", "authenticate_client"),
    ("audit append", "kernel/audit/service.py", "record"),
)


def _budget(stats: pstats.Stats) -> str:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    by_library: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        where = next(
            (name for name, marks in LIBRARIES if any(m in filename + func for m in marks)), "stdlib and builtins"
        )
        by_library[where] = by_library.get(where, 0.0) + tt
    parts = {
        name: max(
            (ct for (f, _l, fn), (_cc, _nc, _tt, ct, _c) in raw.items() if f.endswith(path) and fn == func), default=0.0
        )
        for name, path, func in PARTS
    }
    self_line = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(by_library.items(), key=lambda kv: -kv[1]))
    part_line = ", ".join(f"{k} {v / total:.0%}" for k, v in parts.items())
    return f"    self time: {self_line}\n    inside: {part_line}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=500, help="operations per row (default 500)")
    parser.add_argument("--profile", action="store_true", help="print the share of each part of the budget")
    parser.add_argument("--sql", action="store_true", help="print the statements of one operation per row")
    parser.add_argument("--pstats", default="", help="with --profile, save each row's profile to DIR/<row>.pstats")
    parser.add_argument("--rows", default="", help="comma-separated rows to run (default: all)")
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument(
        "--wsgi",
        action="store_true",
        help="call the app's WSGI stack as granian does, behind nginx's headers, instead of Flask's test client",
    )
    parser.add_argument(
        "--driver-ab",
        action="store_true",
        help="PostgreSQL: alternate batches with the hot statements on psycopg and on SQLAlchemy, in one process",
    )
    parser.add_argument(
        "--audit-ab",
        action="store_true",
        help="PostgreSQL: alternate batches with each token operation's audit entry in its own statement and appended"
        " apart after it, in one process",
    )
    parser.add_argument(
        "--backend-cpu",
        action="store_true",
        help="PostgreSQL on this machine: print the CPU of the database's backends per operation of each row",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)  # one log line per audit event would be most of what is measured
    from directory.memory import InMemoryDirectory
    from tests.idp.oidc_harness import live_provider

    directory = InMemoryDirectory()
    directory.add("an.nguyen", "correct horse", full_name="Nguyễn Văn An", mail="an.nguyen@antin.vn")
    overrides: dict[str, Any] = {"database__url": args.database_url} if args.database_url else {}
    if args.wsgi:  # as served behind nginx: every layer in front of the app is built
        overrides.update(server__trusted_proxies=1, server__queue_timeout=10)
    with live_provider(Path(tempfile.mkdtemp(prefix="antin-budget-")), directory, **overrides) as live:
        if args.audit_ab:
            return _measure(live, args.ops, False, False, "", args.rows, ab=_audit_ab, wsgi=args.wsgi)
        driver_ab = _driver_ab if args.driver_ab else None
        backends = _Backends(live.instance.database.engine) if args.backend_cpu else None
        return _measure(
            live,
            args.ops,
            args.profile,
            args.sql,
            args.pstats,
            args.rows,
            ab=driver_ab,
            wsgi=args.wsgi,
            backends=backends,
        )


class _Backends:
    """The CPU of this database's sessions on the server (their processes' ``schedstat``: same machine), and the
    statements' execution times from pg_stat_statements when the extension is there."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import text

        self._engine, self._text = engine, text
        with engine.connect() as conn:
            self._statements = bool(
                conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")).scalar()
            )

    def start(self) -> None:
        if self._statements:
            with self._engine.connect() as conn:
                conn.execute(self._text("SELECT pg_stat_statements_reset()"))
        self._ns = self._cpu_ns()

    def _cpu_ns(self) -> int:
        with self._engine.connect() as conn:
            pids = conn.execute(
                self._text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            total = 0
            for pid in pids:
                with contextlib.suppress(OSError, ValueError, IndexError):  # a session that ended meanwhile
                    total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            return total

    def report(self, ops: int) -> str:
        line = f"    backends: {(self._cpu_ns() - self._ns) / ops / 1e6:.3f} ms CPU/op"
        if self._statements:
            with self._engine.connect() as conn:
                top = self._text(
                    "SELECT calls, total_exec_time, query FROM pg_stat_statements"
                    " WHERE calls >= :least ORDER BY total_exec_time DESC LIMIT 3"
                )
                rows = conn.execute(top, {"least": max(ops // 2, 1)}).all()
            for calls, total, query in rows:
                line += f"\n    {calls} × {total / calls * 1000:.1f} µs exec: {' '.join(query.split())[:90]}"
        return line


def _driver_ab(database: Any, name: str, call: Callable[[], bool], ops: int) -> str:
    """The row's CPU per operation with the token statements on the driver (``database.driver``) and on SQLAlchemy
    (the driver set aside), in alternated batches of the same process: whatever else loads the machine weighs on
    both alike. Medians and bests of the batches."""
    driver, batch = database.driver, max(ops // 20, 1)
    if driver is None:
        return f"{name}: --driver-ab needs PostgreSQL (psycopg)"
    cpu: dict[str, list[float]] = {"driver": [], "SQLAlchemy": []}
    try:
        for k in range(20):
            mode = "driver" if k % 2 == 0 else "SQLAlchemy"
            database.driver = driver if mode == "driver" else None
            start = time.process_time()
            assert all(call() for _ in range(batch)), f"{name}: a wrong answer"
            cpu[mode].append((time.process_time() - start) / batch * 1000)
    finally:
        database.driver = driver
    figures = ", ".join(f"{mode} {statistics.median(v):.2f} (best {min(v):.2f})" for mode, v in cpu.items())
    return f"{name:<20} ms/op median of 10 batches: {figures}"


def _audit_ab(database: Any, name: str, call: Callable[[], bool], ops: int) -> str:
    """The row's CPU per operation with the audit entry written by the token operation's own statement
    (``idp.oidc.token_store``'s ``audited``) and appended apart after it (as before issue 13's fifth session), in
    alternated batches of the same process. Medians and bests of the batches."""
    import idp.oidc.tokens

    tokens_module: Any = idp.oidc.tokens  # its store_tokens swapped for the batches appended apart

    if database.driver is None:
        return f"{name}: --audit-ab needs PostgreSQL (psycopg)"
    carried = tokens_module.store_tokens

    def apart(*args: Any, audited: Any = None, **kwargs: Any) -> int:
        grant_id = int(carried(*args, **kwargs))
        if audited is not None:
            audited.record(grant_id)
        return grant_id

    batch = max(ops // 20, 1)
    cpu: dict[str, list[float]] = {"in the statement": [], "apart": []}
    try:
        for k in range(20):
            mode = "in the statement" if k % 2 == 0 else "apart"
            tokens_module.store_tokens = carried if k % 2 == 0 else apart
            start = time.process_time()
            assert all(call() for _ in range(batch)), f"{name}: a wrong answer"
            cpu[mode].append((time.process_time() - start) / batch * 1000)
    finally:
        tokens_module.store_tokens = carried
    figures = ", ".join(f"{mode} {statistics.median(v):.2f} (best {min(v):.2f})" for mode, v in cpu.items())
    return f"{name:<20} ms/op median of 10 batches: {figures}"


def _measure(
    live: Any,
    ops: int,
    profile: bool,
    show_sql: bool,
    pstats_dir: str = "",
    only: str = "",
    ab: Callable[[Any, str, Callable[[], bool], int], str] | None = None,
    wsgi: bool = False,
    backends: _Backends | None = None,
) -> int:
    from idp.oidc.clients import ClientSpec
    from tests.idp.rp import Browser, RelyingParty

    app, instance, provider = live.app, live.instance, live.provider
    provider.keys.ensure()
    service, service_secret = provider.clients.add(
        ClientSpec(name="budget service", grant_types=("client_credentials",), scopes=("profile",), trusted=True)
    )
    web = RelyingParty.register(live, name="budget web")
    client: Any = WsgiCaller(app) if wsgi else app.test_client()

    def basic(client_id: str, secret: str | None) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}

    service_auth = basic(service.client_id, service_secret)
    web_auth = basic(web.client.client_id, web.secret)
    # a user's access token (what resource servers introspect) and its refresh token, from a real sign-in
    tokens = web.code_flow(Browser(live.issuer))
    token = tokens["access_token"]
    refresh_token = [tokens["refresh_token"]]
    statements = [0]
    shown: list[str] | None = None

    def count(*args: Any) -> None:
        statements[0] += 1
        if shown is not None:
            shown.append(" ".join(str(args[2] if len(args) > 2 else "BEGIN/COMMIT").split())[:110])

    engine = instance.database.engine
    event.listen(engine, "before_cursor_execute", count)
    driver = getattr(instance.database, "driver", None)  # statements run on psycopg directly (PostgreSQL)
    if driver is not None:
        driver.observers.append(lambda sql: count(None, None, sql))
    event.listen(engine, "commit", lambda *_: count(None, None, "COMMIT"))
    # an autocommit read (``Database.reading``) sends no BEGIN, though SQLAlchemy calls its begin hook
    event.listen(
        engine,
        "begin",
        lambda conn: (
            None if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT" else count(None, None, "BEGIN")
        ),
    )

    def client_credentials() -> bool:
        r = client.post("/token", data={"grant_type": "client_credentials"}, headers=service_auth)
        return r.status_code == 200 and bool(r.get_json().get("access_token"))

    def introspection() -> bool:
        r = client.post("/introspect", data={"token": token}, headers=service_auth)
        return r.get_json().get("active") is True

    def refresh() -> bool:
        r = client.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token[0]}, headers=web_auth
        )
        new = r.get_json().get("refresh_token")
        ok = r.status_code == 200 and bool(new) and new != refresh_token[0]
        refresh_token[0] = new or refresh_token[0]
        return ok

    def login() -> bool:
        # a whole sign-in from a fresh browser (authorize, password, consent-free redirect, code for tokens); the
        # browser and the relying party run in this process too, so its CPU is the client's as well
        return bool(web.code_flow(Browser(live.issuer)).get("id_token"))

    def discovery() -> bool:
        return bool(client.get("/.well-known/openid-configuration").get_json().get("issuer") == live.issuer)

    def jwks() -> bool:
        return len(client.get("/jwks.json").get_json().get("keys", ())) >= 2

    documents = [("discovery", discovery), ("jwks", jwks)] if wsgi else []
    rows: list[tuple[str, Callable[[], bool]]] = [
        *documents,
        ("client_credentials", client_credentials),
        ("introspection", introspection),
        ("refresh", refresh),
        ("login", login),
    ]
    way = "the WSGI stack called as granian calls it" if wsgi else "Flask test client"
    print(f"in-process, {way}, {instance.database.engine.dialect.name}, {ops} operations per row")
    print(f"{'row':<20} {'cpu ms/op':>10} {'best 1/10':>10} {'SQL/op':>7}")
    wanted = set(filter(None, only.split(",")))
    for name, call in rows:
        if wanted and name not in wanted:
            continue
        for _ in range(20):
            assert call(), f"{name}: a wrong answer while warming up"
        if ab is not None:
            print(ab(instance.database, name, call, ops))
            continue
        if show_sql:
            shown = []
            call()
            print(f"{name}: " + "".join(f"\n    {sql}" for sql in shown))
            shown = None
        statements[0] = 0
        if backends is not None:
            backends.start()
        profiler = cProfile.Profile() if profile else None
        cpu0 = time.process_time()
        if profiler is not None:
            profiler.enable()
        row_ops = max(ops // 10, 1) if name == "login" else ops
        # ten batches: the best one's CPU per operation is the steadier figure on a machine shared with other work
        batch = max(row_ops // 10, 1)
        best, wrong, done = float("inf"), 0, 0
        while done < row_ops:
            n = min(batch, row_ops - done)
            start = time.process_time()
            wrong += sum(not call() for _ in range(n))
            best = min(best, (time.process_time() - start) / n * 1000)
            done += n
        if profiler is not None:
            profiler.disable()
        cpu = (time.process_time() - cpu0) / row_ops * 1000
        line = f"{name:<20} {cpu:>10.3f} {best:>10.3f} {statements[0] / row_ops:>7.1f}"
        if wrong:
            line += f"  {wrong} WRONG"
        if backends is not None:
            line += "\n" + backends.report(row_ops)
        if profiler is not None:
            line += "\n" + _budget(pstats.Stats(profiler))
            if pstats_dir:
                profiler.dump_stats(str(Path(pstats_dir) / f"{name}.pstats"))
        print(line)
    return 0


class WsgiAnswer:
    def __init__(self, status: str, body: bytes) -> None:
        self.status_code = int(status.split(" ", 1)[0])
        self.body = body

    def get_json(self) -> Any:
        return json.loads(self.body)


class WsgiCaller:
    """The few calls of Flask's test client the rows make, as WSGI calls of ``app`` with an environ as granian builds
    it (``granian/wsgi.py``: the process environment under the request's keys) and nginx's headers (see --wsgi)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.base = {
            **os.environ,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "SERVER_SOFTWARE": "Granian",
            "wsgi.errors": sys.stderr,
            "wsgi.input_terminated": True,
            "wsgi.multiprocess": False,
            "wsgi.multithread": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }

    def get(self, path: str) -> WsgiAnswer:
        return self._call("GET", path, b"", {})

    def post(self, path: str, *, data: dict[str, str], headers: dict[str, str]) -> WsgiAnswer:
        body = urlencode(data).encode()
        extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        extra.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
        return self._call("POST", path, body, extra)

    def _call(self, method: str, path: str, body: bytes, extra: dict[str, str]) -> WsgiAnswer:
        status: list[str] = []
        scope = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_USER_AGENT": "oidc-budget",
            "HTTP_ACCEPT": "*/*",
            "HTTP_X_FORWARDED_FOR": "203.0.113.7",
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_HOST": "idp.example",
            "HTTP_X_REQUEST_ID": uuid.uuid4().hex,
            "HTTP_X_REQUEST_START": f"t={time.time():.3f}",
            **extra,
        }
        answer = self.app(self.base | scope, lambda s, _headers, _exc_info=None: status.append(s))
        try:
            data = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        return WsgiAnswer(status[0], data)


if __name__ == "__main__":
    sys.exit(main())
