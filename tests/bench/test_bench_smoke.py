"""Every ``bench/*_bench.py`` runs once in ``--quick`` mode and every answer it checked was right.

A bench that breaks fails CI instead of rotting until someone wants its figures. Nothing here is timed: the
figures of a smoke run on a busy machine mean nothing, only that the bench finished, wrote the shared JSON
rows (``bench/rows.py``) and that no row counted a wrong answer. Each bench is its own xdist group, so
``pytest -n 2 --dist loadgroup`` spreads them over the workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.rows import FIGURES
from tests.components import in_ci, require_command

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("*_bench.py"))


def run_quick(bench: str, tmp_path: Path, *more: str) -> dict[str, Any]:
    out = tmp_path / f"{bench}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", "--quick", "--json", str(out), *more],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, f"{bench} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert document["quick"] is True
    assert {"cores", "cpu", "memory_gb", "commit", "date"} <= set(document["machine"])
    rows = document["rows"]
    assert rows, f"{bench} wrote no rows"
    for row in rows:
        assert set(FIGURES) <= set(row), row
        assert row["checked"] > 0, f"{bench}: {row['operation']} ({row['side']}) checked nothing"
        assert row["wrong"] == 0, f"{bench}: {row['operation']} ({row['side']}) gave {row['wrong']} wrong answers"
        assert row["rate"] is not None and row["rate"] > 0, row
    return document


def sides(document: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in document["rows"]:
        found.setdefault(row["operation"], set()).add(row["side"])
    return found


def test_every_bench_is_smoke_tested() -> None:
    assert BENCHES == [
        "admin_bulk_edit_bench",
        "admin_clients_bench",
        "admin_console_bench",
        "admin_seals_bench",
        "admin_search_bench",
        "deadlines_bench",
        "directory_bench",
        "documents_bench",
        "leaders_bench",
        "mfa_bench",
        "oidc_bench",
        "oidc_endpoints_bench",
        "outbound_bench",
        "pki_renew_bench",
        "resource_checks_bench",
        "sessions_bench",
        "signing_bench",
        "throttle_bench",
        "verify_bench",
        "verify_memory_bench",
    ]


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-admin-bulk-edit")
def test_admin_bulk_edit_bench(tmp_path: Path) -> None:
    require_command("slapd")
    found = sides(run_quick("admin_bulk_edit_bench", tmp_path))
    assert {"api: bulk move to a unit", "api: bulk disable (sessions, tokens, certificates ended)"} <= set(found)


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-admin-clients")
def test_admin_clients_bench(tmp_path: Path) -> None:
    require_command("slapd")
    found = sides(run_quick("admin_clients_bench", tmp_path))
    assert {"api: register a client (province manager)", "api: list the province's clients, every page of 200"} <= set(
        found
    )


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-admin-console")
def test_admin_console_bench(tmp_path: Path) -> None:
    require_command("slapd")
    found = sides(run_quick("admin_console_bench", tmp_path))
    assert {"console: an official's page (sessions, factors, events)", "console: audit chain verified"} <= set(found)


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-admin-search")
def test_admin_search_bench(tmp_path: Path) -> None:
    require_command("slapd")
    found = sides(run_quick("admin_search_bench", tmp_path))
    for path in ("service", "console"):
        for caller in ("platform", "province"):
            for query in ("two given names, no diacritics", "login prefix (4 letters)", "whole e-mail", "no match"):
                assert f"{path}: {caller} admin, {query}" in found
    assert "console: CSV import, real run to the end (per row)" in found


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-directory")
def test_directory_bench(tmp_path: Path) -> None:
    require_command("slapd")
    found = sides(run_quick("directory_bench", tmp_path))
    assert found["load officials"] == {"antin", "slapadd"}  # the CSV import beside slapd's own bulk load
    assert found["load officials over ldapi (the managed slapd's socket)"] == {"antin"}
    assert {"authenticate (bind)", "find_by_login (+path, groups)"} <= set(found)
    assert found["first import --offline (slapadd -q, slapd stopped)"] == {"antin"}


@pytest.mark.hsm
@pytest.mark.xdist_group("bench-signing")
def test_signing_bench(tmp_path: Path) -> None:
    require_command("softhsm2-util")
    found = sides(run_quick("signing_bench", tmp_path))
    for level in ("B-B", "B-T", "B-LT", "B-LTA"):
        assert {"antin", "pyhanko-lib"} <= found[f"sign {level} 1MB"]
    assert "pyhanko-cli" in found["sign B-LTA 1MB"]
    assert found["sign batch of 20 B-T 1MB"] == {"antin", "pyhanko-lib"}


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-admin-seals")
def test_admin_seals_bench(tmp_path: Path) -> None:
    require_command("slapd")
    require_command("softhsm2-util")
    found = sides(run_quick("admin_seals_bench", tmp_path))
    assert {"api: a unit's seal issued (key made in the HSM)", "api: a seal revoked"} <= set(found)
    assert "api: the CA status (an OCSP and a TSA request, the CRLs)" in found


@pytest.mark.xdist_group("bench-pki-renew")
def test_pki_renew_bench(tmp_path: Path) -> None:
    require_command("softhsm2-util")
    found = sides(run_quick("pki_renew_bench", tmp_path))
    assert {"renew ocsp", "renew tsa", "renew issuing", "OCSP answer after renewals"} <= set(found)


@pytest.mark.xdist_group("bench-deadlines")
def test_deadlines_bench(tmp_path: Path) -> None:
    found = sides(run_quick("deadlines_bench", tmp_path))
    assert {"run, nothing due (200 steps)", "run, 200 due", "re-send with a corrected 1 MB PDF"} <= set(found)


@pytest.mark.xdist_group("bench-outbound")
def test_outbound_bench(tmp_path: Path) -> None:
    found = sides(run_quick("outbound_bench", tmp_path))
    assert found["POST 1 KB to an allowed address"] == {"antin", "requests"}
    assert "refused: a name that resolves inward" in found


@pytest.mark.xdist_group("bench-leaders")
def test_leaders_bench(tmp_path: Path) -> None:
    found = sides(run_quick("leaders_bench", tmp_path))
    assert {"awaiting: a leader (group steps), 200 of 400 documents"} <= set(found), found


@pytest.mark.xdist_group("bench-documents")
def test_documents_bench(tmp_path: Path) -> None:
    require_command("softhsm2-util")
    require_command("pdftoppm")
    found = sides(run_quick("documents_bench", tmp_path))
    assert found["confirmation to signed file B-LTA 1MB"] == {"antin", "pyhanko-lib"}
    assert "antin" in found["preview one page: 1 MB sample, 4 pages"]


@pytest.mark.xdist_group("bench-verify")
def test_verify_bench(tmp_path: Path) -> None:
    require_command("pdfsig")
    require_command("certutil")
    found = sides(run_quick("verify_bench", tmp_path))
    for document in ("1 signature 1 MB", "5 signatures + doc time-stamp 1 MB"):
        assert found[f"verify {document} (in-process)"] == {"antin", "pyhanko-api"}
        assert found[f"verify {document} (process)"] == {"antin", "pdfsig", "pyhanko-cli"}


@pytest.mark.xdist_group("bench-mfa")
def test_mfa_bench(tmp_path: Path) -> None:
    found = sides(run_quick("mfa_bench", tmp_path))
    assert found == {"login, password only": {"antin"}, "login, password + TOTP": {"antin"}}


@pytest.mark.xdist_group("bench-oidc-endpoints")
def test_oidc_endpoints_bench(tmp_path: Path) -> None:
    found = sides(run_quick("oidc_endpoints_bench", tmp_path))
    assert set(found) == {
        "discovery",
        "jwks",
        "client_credentials",
        "introspection",
        "refresh",
        "login (code + PKCE, in-memory people)",
    }


@pytest.mark.slapd
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.xdist_group("bench-oidc")
def test_oidc_bench_beside_oidc_provider(tmp_path: Path) -> None:
    require_command("slapd")
    require_command("redis-server")
    from tests.servers import _postgres_bin_dir

    _postgres_bin_dir()  # fails in CI when PostgreSQL is missing
    if in_ci():  # the peer is part of the bench: in CI it must run, never be left out
        require_command("node")
        require_command("npm")
    raw = tmp_path / "raw.json"
    # on PostgreSQL and with the peer's Redis store (2 processes), as the full bench runs, to see the stores' CPU
    more = ("--raw", str(raw), "--antin-database", "postgresql", "--peer-workers", "2")
    found = sides(run_quick("oidc_bench", tmp_path, *more))
    rows = ("discovery", "jwks", "client_credentials", "introspection", "refresh", "login")
    assert all("antin" in found[row] for row in rows), found
    peer_ran = all("oidc-provider" in found.get(row, set()) for row in rows)
    assert peer_ran or not in_ci(), "oidc-provider did not run"
    # each side's stores per operation: ours writes a machine token's audit entry in PostgreSQL, the peer keeps its
    # refresh tokens in Redis; discovery touches no store (a store whose processes were not found would look the same)
    measured = json.loads(raw.read_text())["sides"]
    stores = {(side["name"], row["row"]): row["stores_cpu_ms"] for side in measured for row in side["rows"]}
    ours = next(side["name"] for side in measured if side["name"] != "oidc-provider")
    assert stores[(ours, "client_credentials")] > 5 * stores[(ours, "discovery")], stores
    assert stores[(ours, "refresh")] > 5 * stores[(ours, "discovery")], stores
    if peer_ran:
        assert stores[("oidc-provider", "refresh")] > 5 * stores[("oidc-provider", "discovery")], stores


@pytest.mark.xdist_group("bench-resource-checks")
def test_resource_checks_bench(tmp_path: Path) -> None:
    found = sides(run_quick("resource_checks_bench", tmp_path))
    assert found == {
        "bearer, revocation answer cached": {"antin"},
        "bearer, revocation read from SQL": {"antin"},
        "bearer, revoked token refused (answer kept)": {"antin"},
        "DPoP, proof checked, jti stored": {"antin"},
        "DPoP, replayed proof refused": {"antin"},
    }


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.xdist_group("bench-sessions")
def test_sessions_bench(tmp_path: Path) -> None:
    require_command("redis-server")  # without them the bench measures SQLite alone: in CI that is a failure
    from tests.servers import _postgres_bin_dir

    _postgres_bin_dir()
    found = sides(run_quick("sessions_bench", tmp_path))
    for database in ("postgresql", "sqlite"):
        for live in ("0 live", "5,000 live"):
            assert f"sign-in: start + current, {live} ({database})" in found
            assert f"logout: end_session (2 clients), {live} ({database})" in found
        assert f"purge 5,000 ended sessions, {database}" in found
    for threads in ("1 thread (one at a time, as before)", "8 threads"):
        assert f"logout fan-out, 1 slow (3 s) + 1 refusing of 20, {threads} (postgresql)" in found
    assert "sign-in through HTTP with Redis (sqlite)" in found


@pytest.mark.redis
@pytest.mark.xdist_group("bench-throttle")
def test_throttle_bench(tmp_path: Path) -> None:
    require_command("redis-server")  # without it the bench measures SQLite alone: in CI that is a failure
    document = run_quick("throttle_bench", tmp_path)
    found = sides(document)
    for store in ("sqlite", "redis"):
        assert f"attacker's guesses reaching the directory ({store})" in found, found
        assert {f"one atomic take ({store}), 1 thread", f"one atomic take ({store}), 8 threads"} <= set(found)


@pytest.mark.xdist_group("bench-verify-memory")
def test_verify_memory_bench(tmp_path: Path) -> None:
    found = sides(run_quick("verify_memory_bench", tmp_path))
    assert found == {
        "worst corpus file (1.3 MB)": {"antin"},
        "bomb: 1,000 CRL streams → 4 MB each (4 MB file)": {"antin", "pyhanko-default-budget"},
        "bomb: 16 object streams → 4 MB each (64 KB file)": {"antin", "pyhanko-default-budget"},
    }
