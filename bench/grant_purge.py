"""What the OIDC flows leave in the database per sign-in and per refresh, and ``antin sessions purge``'s deletion
of it (``idp.oidc.grant_purge.purge_spent``), on PostgreSQL (a throwaway server, fsync off) and SQLite.

    python -m bench.grant_purge [--sign-ins 200] [--refreshes 3] [--bulk 100000]

1. ``--sign-ins`` code flows through HTTP, each followed by ``--refreshes`` refreshes; the bytes of the grant,
   token, code, interaction and pushed-request tables and their indexes (``pg_total_relation_size`` after
   ``VACUUM FULL``, SQLite's ``dbstat`` after ``VACUUM``) are read before, after the sign-ins and after the
   refreshes: the growth per sign-in and per refresh.
2. ``--bulk`` copies of the first sign-in's grant (with a code and two tokens each) are inserted, everything is
   aged by 40 days and the purge with 30 days is timed; checked: nothing of the aged rows is left.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from idp.oidc.grant_purge import purge_spent
from idp.oidc.models import AuthorizationCode, Grant, Interaction, IssuedToken
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

TABLES = ("oidc_grant", "oidc_token", "oidc_authorization_code", "oidc_interaction", "oidc_pushed_request")


def table_bytes(live: LiveProvider) -> int:
    db = live.instance.database
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("VACUUM")
            names = ", ".join(f"'{t}'" for t in TABLES)
            return int(
                conn.exec_driver_sql(
                    "SELECT SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                    f"WHERE m.tbl_name IN ({names})"
                ).scalar_one()
            )
        for t in TABLES:
            conn.exec_driver_sql(f"VACUUM FULL {t}")
        return sum(int(conn.exec_driver_sql(f"SELECT pg_total_relation_size('{t}')").scalar_one()) for t in TABLES)


def count(live: LiveProvider, model: Any) -> int:
    with live.instance.database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def bulk_copies(live: LiveProvider, copies: int) -> None:
    """``copies`` grants like the first one, each with a code and its two tokens (new ids and lookups)."""
    db = live.instance.database
    grant_cols = [c.name for c in Grant.__table__.columns if c.name != "id"]
    token_cols = [c.name for c in IssuedToken.__table__.columns if c.name not in ("id", "lookup", "grant_id")]
    code_cols = [c.name for c in AuthorizationCode.__table__.columns if c.name not in ("id", "digest", "grant_id")]
    series = (
        f"generate_series(1, {copies})"
        if not db.is_sqlite
        else f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {copies}) SELECT i FROM n)"
    )
    n = "n" if not db.is_sqlite else "n.i"
    with db.engine.begin() as conn:
        first = conn.exec_driver_sql("SELECT MIN(id), MAX(id) FROM oidc_grant").one()
        base = int(first[1])
        g = ", ".join(grant_cols)
        conn.exec_driver_sql(
            f"INSERT INTO oidc_grant (id, {g}) SELECT {base} + {n}, {g} FROM oidc_grant, {series} AS n"
            f" WHERE oidc_grant.id = {first[0]}"
        )
        t = ", ".join(token_cols)
        conn.exec_driver_sql(
            f"INSERT INTO oidc_token (grant_id, lookup, {t})"
            f" SELECT {base} + {n}, substr(lookup, 1, 50) || '-' || {n}, {t}"
            f" FROM oidc_token, {series} AS n WHERE grant_id = {first[0]} AND rotated_at IS NULL"
        )
        c = ", ".join(code_cols)
        conn.exec_driver_sql(
            f"INSERT INTO oidc_authorization_code (grant_id, digest, {c})"
            f" SELECT {base} + {n}, substr(digest, 1, 50) || '-' || {n},"
            f" {c} FROM oidc_authorization_code, {series} AS n WHERE grant_id = {first[0]}"
        )
        if not db.is_sqlite:
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('oidc_grant', 'id'), (SELECT MAX(id) FROM oidc_grant))"
            )


@contextmanager
def provider(database: str, folder: Path) -> Iterator[LiveProvider]:
    if database == "sqlite":
        with live_provider(folder / "op", make_directory()) as live:
            yield live
        return
    from tests.servers import postgres_server

    with (
        postgres_server(folder / "pg") as url,
        live_provider(folder / "op", make_directory(), database__url=url) as live,
    ):
        yield live
        live.instance.database.dispose()


def run(database: str, sign_ins: int, refreshes: int, bulk: int) -> None:
    with tempfile.TemporaryDirectory(prefix="grant-purge-bench-") as tmp, provider(database, Path(tmp)) as live:
        rp = RelyingParty.register(live, name="Hồ sơ công việc")
        empty = table_bytes(live)
        chains = []
        for _ in range(sign_ins):
            chains.append(rp.code_flow(Browser(live.issuer))["refresh_token"])
        signed_in = table_bytes(live)
        for _ in range(refreshes):
            for i, token in enumerate(chains):
                answer = rp.token_request({"grant_type": "refresh_token", "refresh_token": token})
                assert answer.status_code == 200, answer.text
                chains[i] = answer.json()["refresh_token"]
        refreshed = table_bytes(live)
        per_sign_in = (signed_in - empty) / sign_ins
        per_refresh = (refreshed - signed_in) / (sign_ins * refreshes) if refreshes else 0.0
        print(f"{database}: {per_sign_in:.0f} bytes per sign-in, {per_refresh:.0f} bytes per refresh")

        bulk_copies(live, bulk)
        then = live.instance.clock() - timedelta(days=40)
        with live.instance.database.session() as s:
            s.execute(update(Grant).values(created_at=then))
            s.execute(update(IssuedToken).values(expires_at=then))
            s.execute(update(AuthorizationCode).values(expires_at=then))
            s.execute(update(Interaction).values(expires_at=then))
        before = table_bytes(live)
        grants, tokens = count(live, Grant), count(live, IssuedToken)
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        done = purge_spent(live.instance.database, live.instance.clock() - timedelta(days=30))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        left = sum(count(live, m) for m in (Grant, IssuedToken, AuthorizationCode, Interaction))
        print(
            f"{database}: purge of {grants:,} grants and {tokens:,} tokens: {elapsed:.1f} s ({cpu:.1f} s CPU in"
            f" Python), {done}; {before / 1e6:.1f} MB before, {table_bytes(live) / 1e6:.2f} MB after;"
            f" {left} rows left (load {load:.2f})"
        )
        assert left == 0 and done.grants == grants and done.tokens == tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sign-ins", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="both")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the audit log's line per request
    for database in ("postgresql", "sqlite") if args.database == "both" else (args.database,):
        run(database, args.sign_ins, args.refreshes, args.bulk)


if __name__ == "__main__":
    main()
