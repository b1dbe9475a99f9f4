"""A served row's samples split by HTTP request and by what the worker was doing: the budget of a sign-in.

``python -m bench.oidc_bench --rows login --profile DIR --profile-gil`` leaves py-spy's collapsed stacks of
every worker (only samples holding the GIL: the CPU spent in Python, waits on PostgreSQL, slapd and Redis left
out). This reads them back and prints, for each request of the flow (the view function on the stack), its share
of the samples and, inside it, the share of each kind of work (the first marker found on the stack, from the
leaf up, names it). Samples outside any view are Flask's own work around a view (Flask's WSGI entry on the stack)
or the HTTP server's and the WSGI layers' (samples with no Python stack are the server's threads holding the GIL).

Run: ``python -m bench.oidc.request_budget DIR [--ms-per-op 15.7]``; with ``--ms-per-op`` (the row's CPU per
operation, as the bench printed it) each share is also given in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

from bench.oidc.profile import _stacks

__all__ = ["REQUESTS", "WORK", "main", "split"]

# the view function of each request of a sign-in (py-spy's "function (module.py:line)", module relative)
REQUESTS: tuple[tuple[str, str], ...] = (
    ("authorize", "authorize (idp/oidc/views/authorize.py"),
    ("login page and password POST", "interaction (idp/login/views.py"),
    ("resume (the redirect with the code)", "resume (idp/oidc/views/authorize.py"),
    ("token", "token (idp/oidc/views/token.py"),
    ("token (answered before Flask)", "MachineEndpoints._token (idp/oidc/fastpath.py"),
)
# outside any view: Flask's own work around a view (request context, session cookie, hooks), else the server's
AROUND_A_VIEW = ("Flask around a view", "Flask.wsgi_app (flask/app.py")
OUTSIDE = "outside Flask (the HTTP server, the WSGI layers)"
# what a sample is doing: the first marker met from the leaf up wins
WORK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("LDAP client (python-ldap and our wrapper)", ("ldap/", "directory/ldap_client", "directory/service")),
    ("SQL (psycopg, SQLAlchemy, our driver)", ("psycopg", "sqlalchemy", "kernel/driver", "kernel/database")),
    ("Redis client (throttle)", ("redis/",)),
    ("audit append", ("antin/kernel/audit",)),
    ("JOSE signing (joserfc, cryptography)", ("joserfc", "cryptography")),
    ("Jinja rendering", ("jinja2", "render_template")),
    ("CSRF, cookies, session signing", ("itsdangerous", "flask/sessions", "require_csrf", "csrf_token")),
    ("Babel / i18n", ("babel", "flask_babel", "antin/kernel/i18n")),
    ("authlib", ("authlib",)),
    ("logging", ("logging/", "antin/kernel/logs")),
    ("JSON", ("json/",)),
    ("gunicorn", ("gunicorn/",)),
    ("granian (its WSGI glue; its Rust side holding the GIL)", ("granian/",)),
    ("Flask / Werkzeug", ("flask/", "werkzeug/")),
)
OTHER = "ours and the standard library"


def split(files: list[Path]) -> tuple[int, dict[str, Counter[str]]]:
    """All samples, and per request the samples of each kind of work."""
    total = 0
    by_request: dict[str, Counter[str]] = defaultdict(Counter)
    for stack, count in _stacks(files):
        total += count
        request = next((name for name, mark in REQUESTS if any(f.startswith(mark) for f in stack)), None)
        if request is None:
            request = AROUND_A_VIEW[0] if any(f.startswith(AROUND_A_VIEW[1]) for f in stack) else OUTSIDE
        work = OTHER
        for frame in reversed(stack):
            kind = next((name for name, marks in WORK if any(m in frame for m in marks)), None)
            if kind is not None:
                work = kind
                break
        by_request[request][work] += count
    return total, by_request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the --profile folder (every *.txt under it is read)")
    parser.add_argument("--ms-per-op", type=float, default=0.0, help="the row's CPU per operation, to print ms")
    args = parser.parse_args(argv)
    files = sorted(args.folder.rglob("*.txt"))
    total, by_request = split(files)
    if not total:
        print(f"no samples under {args.folder}")
        return 1

    def share(n: int) -> str:
        ms = f" {n / total * args.ms_per_op:5.2f} ms" if args.ms_per_op else ""
        return f"{n / total:6.1%}{ms}"

    print(f"{total} samples in {len(files)} files")
    for request, work in sorted(by_request.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"{share(sum(work.values()))}  {request}")
        for kind, n in work.most_common():
            print(f"    {share(n)}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
