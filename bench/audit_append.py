"""PostgreSQL's own CPU per audit append: the statement a client_credentials grant sends (``ENTRY_ONLY``, the
head's update and the entry's insert), alone, on one connection as a worker thread keeps it (autocommit, prepared).

For each variant of the audit table's indexes (``--variants``) it runs batches of appends alternated with the other
variants on the same table, and prints per append: the backend's CPU (``/proc/<pid>/schedstat``, nanoseconds),
the CPU of every other process of the server (WAL writer, autovacuum, checkpointer: what the appends cause them
to do), the client's CPU (psycopg), and pg_stat_statements' execution time, WAL records and WAL bytes for the
statement. The entries are what a machine token's entry is (``oauth:token:issue`` of one of ``--clients`` clients,
the token's ``jti`` in its details, random hashes: PostgreSQL checks none of them).

Run (a throwaway database: the bench replaces the audit table's indexes):
``python -m bench.audit_append --database-url postgresql+psycopg://antin@/antin?host=/tmp/pg&port=5432``
``[--batches 6] [--appends 3000] [--variants all,no-entry-hash,minimal] [--synchronous-commit on|off]``.
A variant ``NAME*K`` writes K entries per statement (one writer's, the head moved past them all, as
``audit_parts(leading=K-1)`` does): what a group append would cost PostgreSQL per entry. A variant ``NAME/plain``
writes the entry alone (``INSERT … VALUES``, the head not moved): what the head's update costs.
The server must run on this machine (its processes are read from /proc) with pg_stat_statements loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]

# every index of audit_log besides its primary key, as the migrations made them (name → definition)
INDEXES = {
    "uq_audit_log_writer_seq": "CREATE UNIQUE INDEX uq_audit_log_writer_seq ON audit_log (writer, writer_seq)",
    "uq_audit_log_entry_hash": "CREATE UNIQUE INDEX uq_audit_log_entry_hash ON audit_log (entry_hash)",
    "ix_audit_log_occurred_at": "CREATE INDEX ix_audit_log_occurred_at ON audit_log (occurred_at)",
    "ix_audit_log_event": "CREATE INDEX ix_audit_log_event ON audit_log (event)",
    "ix_audit_log_actor": "CREATE INDEX ix_audit_log_actor ON audit_log (actor)",
    "ix_audit_log_subject": "CREATE INDEX ix_audit_log_subject ON audit_log (subject)",
    # the same, without the entries that name no subject (a machine token's)
    "ix_audit_log_subject_named": "CREATE INDEX ix_audit_log_subject_named ON audit_log (subject)"
    " WHERE subject IS NOT NULL",
}
_FORMER = (
    "uq_audit_log_writer_seq",
    "uq_audit_log_entry_hash",
    "ix_audit_log_occurred_at",
    "ix_audit_log_event",
    "ix_audit_log_actor",
    "ix_audit_log_subject",
)
VARIANTS = {
    "all": _FORMER,  # as the migrations up to f4un1tke0011 made them
    "no-entry-hash": tuple(name for name in _FORMER if name != "uq_audit_log_entry_hash"),
    "no-entry-hash-event": tuple(n for n in _FORMER if n not in {"uq_audit_log_entry_hash", "ix_audit_log_event"}),
    # what the migration a3d1tc0st012 leaves: no index of entry_hash, the subject's only where there is one
    "lean": (
        *(n for n in _FORMER if n not in {"uq_audit_log_entry_hash", "ix_audit_log_subject"}),
        "ix_audit_log_subject_named",
    ),
    "minimal": ("uq_audit_log_writer_seq",),
}


def _schedstat_ns(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _server_pids(postmaster: int) -> list[int]:
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    return pids


def _set_indexes(conn: psycopg.Connection[Any], wanted: tuple[str, ...]) -> None:
    present = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log'")}
    for name, definition in INDEXES.items():
        if name in present and name not in wanted:
            conn.execute(f"DROP INDEX {name}")  # constraints made by the migrations are dropped as indexes here
        elif name not in present and name in wanted:
            conn.execute(definition)
    conn.execute("VACUUM ANALYZE audit_log")


def _drop_constraints(conn: psycopg.Connection[Any]) -> None:
    # the unique constraints become plain unique indexes of the same name, so that a variant can drop them
    for name in ("uq_audit_log_writer_seq", "uq_audit_log_entry_hash"):
        conn.execute(f"ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS {name}")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from antin.kernel.audit.carried import ENTRY_COLUMNS, audit_parts
    from idp.oidc.token_driver import ENTRY_ONLY

    def grouped(entries: int) -> str:
        return f"WITH {audit_parts(leading=entries - 1)} SELECT count(*) AS entries FROM audit_entry"

    columns = ", ".join(name for name, _ in ENTRY_COLUMNS)
    values = ", ".join(f"%(audit_{name})s::{sql_type}" for name, sql_type in ENTRY_COLUMNS)
    plain = f"INSERT INTO audit_log ({columns}) VALUES ({values})"

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batches", type=int, default=6, help="batches per variant (alternated)")
    parser.add_argument("--appends", type=int, default=3000, help="appends per batch")
    parser.add_argument("--variants", default="all,no-entry-hash,minimal")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--synchronous-commit", default="on", choices=("on", "off", "local"))
    args = parser.parse_args(argv)

    url = make_url(args.database_url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=str(url.query.get("host", "")), port=str(url.query.get("port", "")), user=url.username, dbname=url.database
    )
    variants = args.variants.split(",")
    admin = psycopg.connect(conninfo, autocommit=True)
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(f"SET synchronous_commit = {args.synchronous_commit}")
    backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
    postmaster = int(Path(admin.execute("SHOW data_directory").fetchone()[0], "postmaster.pid").read_text().split()[0])  # type: ignore[index]
    _drop_constraints(admin)
    writer = int(admin.execute("SELECT coalesce(max(id), 0) + 1000 FROM audit_head").fetchone()[0])  # type: ignore[index]
    admin.execute(
        "INSERT INTO audit_head (id, seq, entry_hash, seal) VALUES (%s, 0, %s, %s)", (writer, "0" * 64, "0" * 64)
    )
    clients = [secrets.token_urlsafe(18) for _ in range(args.clients)]
    state: dict[str, Any] = {"seq": 0, "prev": "0" * 64, "head": 0}  # head: the head row's seq

    def entry(position: int, prev: str) -> dict[str, Any]:
        client = clients[position % len(clients)]
        return {
            "writer": writer,
            "writer_seq": position,
            "occurred_at": datetime.now(UTC),
            "event": "oauth:token:issue",
            "actor": client,
            "subject": None,
            "client_id": client,
            "ip": "203.0.113.7",
            "details": json.dumps(
                {"grant_type": "client_credentials", "jti": f"{secrets.token_urlsafe(18)}.{client}", "scope": ""},
                separators=(",", ":"),
            ),
            "prev_hash": prev,
            "entry_hash": secrets.token_hex(32),
        }

    def append(entries: int = 1, head: bool = True) -> None:
        """``entries`` appends in one statement (more than one: what a group append across threads would send);
        without ``head`` the entry alone, the head not moved."""
        params: dict[str, Any] = {"audit_old_seq": state["head"], "audit_seal": secrets.token_hex(32)}
        prev = state["prev"]
        for i in range(entries):
            placed = entry(state["seq"] + 1 + i, prev)
            prefix = "audit_" if i == entries - 1 else f"audit_lead{i}_"
            params.update({prefix + name: value for name, value in placed.items()})
            prev = placed["entry_hash"]
        with conn.cursor() as cursor:
            if not head:
                cursor.execute(plain, params, prepare=True)
                assert cursor.rowcount == 1
            else:
                cursor.execute(ENTRY_ONLY if entries == 1 else grouped(entries), params, prepare=True)
                row = cursor.fetchone()
                assert row is not None and row[0] == entries, "the head moved"
                state["head"] = state["seq"] + entries
        state["seq"] += entries
        state["prev"] = prev

    for _ in range(500):  # warm-up: the plan, the caches
        append()
    results: dict[str, list[tuple[float, float, float, float, float, float]]] = {v: [] for v in variants}
    print(f"load average {os.getloadavg()[0]:.1f}, synchronous_commit {args.synchronous_commit}", flush=True)
    for batch in range(args.batches):
        order = variants if batch % 2 == 0 else list(reversed(variants))
        for variant in order:
            named, _, form = variant.partition("/")
            indexes, _, per_statement = named.partition("*")
            group, head = int(per_statement or 1), form != "plain"
            _set_indexes(admin, VARIANTS[indexes])
            for _ in range(50):
                append(group, head)  # the new plan
            admin.execute("SELECT pg_stat_statements_reset()")
            pids = _server_pids(postmaster)
            others = [p for p in pids if p != backend]
            b0, o0, c0 = _schedstat_ns(backend), sum(_schedstat_ns(p) for p in others), time.process_time_ns()
            for _ in range(args.appends // group):
                append(group, head)
            b1, o1, c1 = _schedstat_ns(backend), sum(_schedstat_ns(p) for p in others), time.process_time_ns()
            stats = admin.execute(
                "SELECT sum(calls), sum(total_exec_time), sum(wal_records), sum(wal_bytes) FROM pg_stat_statements"
                " WHERE query LIKE 'WITH audit_moved%%' OR query LIKE 'INSERT INTO audit_log%%'"
            ).fetchone()
            assert stats is not None
            n = args.appends
            results[variant].append(
                (
                    (b1 - b0) / n / 1e6,
                    (o1 - o0) / n / 1e6,
                    (c1 - c0) / n / 1e6,
                    float(stats[1]) / float(stats[0]) / group,
                    float(stats[2]) / float(stats[0]) / group,
                    float(stats[3]) / float(stats[0]) / group,
                )
            )
            print(
                f"batch {batch + 1} {variant:<20} backend {results[variant][-1][0]:.4f} ms  others"
                f" {results[variant][-1][1]:.4f}  client {results[variant][-1][2]:.4f}  exec"
                f" {results[variant][-1][3]:.4f}  WAL {results[variant][-1][4]:.1f} rec {results[variant][-1][5]:.0f} B"
                f"  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    print("medians per append (ms; WAL records and bytes):")
    print(f"{'variant':<20} {'backend':>8} {'others':>8} {'client':>8} {'exec':>8} {'WAL rec':>8} {'WAL B':>8}")
    for variant in variants:
        cols = list(zip(*results[variant], strict=True))
        med = [statistics.median(c) for c in cols]
        print(f"{variant:<20} {med[0]:8.4f} {med[1]:8.4f} {med[2]:8.4f} {med[3]:8.4f} {med[4]:8.1f} {med[5]:8.0f}")
    rows = admin.execute("SELECT count(*) FROM audit_log WHERE writer = %s", (writer,)).fetchone()
    print(f"appended {rows[0] if rows else 0} entries as writer {writer}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
