"""The tools issue 13's speed work is measured with: the in-process budget (bench/oidc_budget.py) and the OIDC bench
with Ấn Tín under gunicorn instead of granian, the default (``--antin-server gunicorn``). Each must answer
correctly, or its figures mean nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_budget_checks_every_answer_and_counts_statements(tmp_path: Path) -> None:
    done = _run(
        [
            "bench.oidc_budget",
            "--ops",
            "20",
            "--rows",
            "client_credentials,introspection,refresh",
            "--profile",
            "--pstats",
            str(tmp_path),
        ],
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line[:1].isalpha()}
    for name in ("client_credentials", "introspection", "refresh"):
        cpu, best, statements = (float(x) for x in rows[name][1:4])
        assert 0 < best <= cpu * 1.5 and statements >= 1, rows[name]
        assert "WRONG" not in rows[name]
        assert (tmp_path / f"{name}.pstats").stat().st_size > 0
    assert "login" not in rows  # --rows chose


def test_the_budget_calls_the_wsgi_stack_as_granian_does() -> None:
    """``--wsgi``: every layer a served request crosses (behind a trusted proxy, with the queue deadline), each
    answer checked; the discovery document and the JWKS are rows there."""
    rows = "discovery,jwks,client_credentials,introspection,refresh"
    done = _run(["bench.oidc_budget", "--ops", "20", "--rows", rows, "--wsgi"], timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the WSGI stack called as granian calls it" in done.stdout
    measured = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line[:1].isalpha()}
    for name in rows.split(","):
        assert float(measured[name][1]) > 0 and "WRONG" not in measured[name], measured[name]


@pytest.mark.postgres
def test_the_budget_alternates_the_driver_and_sqlalchemy_on_postgresql(tmp_path: Path) -> None:
    """``--driver-ab``: both paths answer every operation right, and both figures are printed."""
    from tests.servers import postgres_server

    with postgres_server(tmp_path / "pg") as url:
        done = _run(
            [
                "bench.oidc_budget",
                "--ops",
                "40",
                "--rows",
                "introspection,refresh",
                "--driver-ab",
                "--database-url",
                url,
            ],
            timeout=240,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "median of 10 batches" in line]
    assert [line.split()[0] for line in lines] == ["introspection", "refresh"]
    assert all("driver" in line and "SQLAlchemy" in line for line in lines)


@pytest.mark.postgres
def test_the_budget_alternates_the_audit_entry_in_the_statement_and_apart(tmp_path: Path) -> None:
    """``--audit-ab``: both ways answer every operation right, and both figures are printed."""
    from tests.servers import postgres_server

    with postgres_server(tmp_path / "pg") as url:
        rows = "client_credentials,refresh"
        command = ["bench.oidc_budget", "--ops", "40", "--rows", rows, "--audit-ab", "--database-url", url]
        done = _run(command, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "median of 10 batches" in line]
    assert [line.split()[0] for line in lines] == ["client_credentials", "refresh"]
    assert all("in the statement" in line and "apart" in line for line in lines)


@pytest.mark.postgres
def test_the_budget_prints_the_backends_cpu_per_operation(tmp_path: Path) -> None:
    """``--backend-cpu``: each row also says what PostgreSQL's sessions spent per operation (their schedstat)."""
    from tests.servers import postgres_server

    with postgres_server(tmp_path / "pg") as url:
        command = ["bench.oidc_budget", "--ops", "40", "--rows", "introspection", "--wsgi", "--backend-cpu"]
        done = _run([*command, "--database-url", url], timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("introspection"))
    assert "WRONG" not in lines[row]
    backends = lines[row + 1].split()
    assert backends[:1] == ["backends:"] and float(backends[1]) > 0, lines[row + 1]


@pytest.mark.slapd
@pytest.mark.xdist_group("bench-oidc-gunicorn")
def test_the_oidc_bench_serves_antin_under_gunicorn(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = _run(
        [
            "bench.oidc_bench",
            "--quick",
            "--providers",
            "antin",
            "--antin-server",
            "gunicorn",
            "--rows",
            "discovery,client_credentials",
            "--json",
            str(out),
        ],
        timeout=280,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "gunicorn gthread" in done.stdout
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert {row["operation"] for row in rows} == {"discovery", "client_credentials"}
    for row in rows:
        assert row["checked"] > 0 and row["wrong"] == 0, row
        assert row["cpu_per_op"] is not None and row["cpu_per_op"] > 0, row


def test_the_request_overhead_bench_answers_200_on_both_apps() -> None:
    done = _run(["bench.request_overhead", "--requests", "200"], timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = [line.split() for line in done.stdout.splitlines() if "µs CPU per request" in line]
    assert [f[-6] for f in figures] == ["Tín", "Flask"]
    assert all(float(f[-5]) > 0 for f in figures)


def test_the_request_budget_splits_samples_by_request_and_by_work(tmp_path: Path) -> None:
    """py-spy's collapsed stacks of a sign-in, read back: each sample goes to the view on its stack (the token
    answered before Flask, Flask's own work around a view, or the server's) and to the first kind of work met from
    the leaf up; the printed shares add up."""
    from bench.oidc.request_budget import main, split

    worker = "Thread.run (threading.py:982);ThreadWorker.handle_request (gunicorn/workers/gthread.py:771)"
    login = f"{worker};Flask.dispatch_request (flask/app.py:902);interaction (idp/login/views.py:99)"
    token = f"{worker};Flask.dispatch_request (flask/app.py:902);token (idp/oidc/views/token.py:24)"
    stacks = [
        f"{login};LoginService.check_password (idp/login/service.py:118)"
        ";LdapConnection.search (directory/ldap_client/connection.py:94)"
        ";SimpleLDAPObject._ldap_call (ldap/ldapobject.py:128) 3",
        f"{login};_page (idp/login/views.py:64);render_template (flask/templating.py:150)"
        ";Template.render (jinja2/environment.py:1293) 1",
        f"{token};SigningKeys.sign (idp/oidc/keys.py:191);_RSAAlgModel.sign (joserfc/_rfc7518/jws_algs.py:140) 2",
        f"{worker};Parser.__next__ (gunicorn/http/parser.py:41) 4",
        "_runner (granian/wsgi.py:62);MachineEndpoints.__call__ (idp/oidc/fastpath.py:181)"
        ";MachineEndpoints._token (idp/oidc/fastpath.py:260);claim_code (idp/oidc/token_driver.py:80)"
        ";Cursor.execute (psycopg/cursor.py:97) 2",
        "_runner (granian/wsgi.py:62);Flask.wsgi_app (flask/app.py:1511)"
        ";SecureCookieSessionInterface.open_session (flask/sessions.py:340) 1",
        "_runner (granian/wsgi.py:62) 5",
    ]
    (tmp_path / "w1").mkdir()
    (tmp_path / "w1" / "login-1.txt").write_text("\n".join(stacks) + "\n")
    total, by_request = split([tmp_path / "w1" / "login-1.txt"])
    assert total == 18
    assert by_request["login page and password POST"] == {
        "LDAP client (python-ldap and our wrapper)": 3,
        "Jinja rendering": 1,
    }
    assert by_request["token"] == {"JOSE signing (joserfc, cryptography)": 2}
    assert by_request["token (answered before Flask)"] == {"SQL (psycopg, SQLAlchemy, our driver)": 2}
    assert by_request["Flask around a view"] == {"CSRF, cookies, session signing": 1}
    granian = "granian (its WSGI glue; its Rust side holding the GIL)"
    assert by_request["outside Flask (the HTTP server, the WSGI layers)"] == {"gunicorn": 4, granian: 5}
    assert main([str(tmp_path), "--ms-per-op", "10"]) == 0
    assert main([str(tmp_path / "empty")]) == 1
