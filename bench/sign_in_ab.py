"""A sign-in's two browser requests, two ways in one process: the CPU of each, in alternated batches.

A new sign-in from a fresh browser: ``GET /authorize`` (answered with the password page) and the password POST
(answered with the 303 to the client, its code in it), each a WSGI call of the app as granian makes it behind nginx
(``bench.oidc_budget``'s ``--wsgi`` environ, the trusted proxy and queue deadline set up), with the cookies the page
set. Every answer is checked (the page's form, the code in the redirect). The same flow runs in batches alternating
between the code as it is (``new``) and with one change undone (``old``), so that whatever else loads the machine
weighs on both alike; the CPU is this thread's (``time.thread_time``), the server's own work and the database's
backends are not in it. The relying party's token request is not made (the code is left to expire).

Run: ``python -m bench.sign_in_ab --change page [--rounds 20] [--batch 25] [--database-url URL] [--redis-url URL]``.
Changes: ``page`` (the password page from its kept rendering, ``idp/login/first_page.py``), ``statement`` (the
password POST's statement converted once by psycopg, ``idp/oidc/login_driver.py``; PostgreSQL) and ``none`` (both
sides the same: the noise of the method). ``--postgres`` starts a throwaway PostgreSQL (``tests.servers``).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse"
FORM_ACTION = re.compile(r'<form id="login-form" method="post" action="([^"]+)"')
CSRF_VALUE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """WSGI calls of ``app`` with an environ as granian builds it behind nginx, and a cookie jar."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}
        self.base = {
            **os.environ,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "SERVER_SOFTWARE": "Granian",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.input_terminated": True,
            "wsgi.multiprocess": False,
            "wsgi.multithread": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) sign-in-ab",
            "HTTP_ACCEPT": "text/html",
            "HTTP_X_FORWARDED_FOR": "203.0.113.7",
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_HOST": "idp.example",
        }

    def call(self, method: str, path: str, query: str = "", form: dict[str, str] | None = None) -> tuple[int, Any, str]:
        body = urlencode(form).encode() if form is not None else b""
        environ = self.base | {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "wsgi.input": io.BytesIO(body),
            "HTTP_X_REQUEST_ID": os.urandom(8).hex(),
            "HTTP_X_REQUEST_START": f"t={time.time():.3f}",
        }
        if form is not None:
            environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        chunks = self.app(environ, start_response)
        try:
            text = b"".join(chunks).decode()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        for name, value in answer["headers"]:
            if name.lower() == "set-cookie":
                for morsel in SimpleCookie(value).values():
                    self.cookies[morsel.key] = morsel.value
        return answer["status"], dict(answer["headers"]), text


def sign_in(app: Any, query: str, times: list[list[float]]) -> None:
    """One sign-in from a fresh browser; the thread's CPU of each request appended to ``times``."""
    browser = Browser(app)
    t0 = time.thread_time()
    status, _headers, page = browser.call("GET", "/authorize", query)
    t1 = time.thread_time()
    action, csrf = FORM_ACTION.search(page), CSRF_VALUE.search(page)
    assert status == 200 and action and csrf, f"/authorize answered {status}: {page[:300]}"
    form = {"csrf_token": csrf.group(1), "username": "an.nguyen", "password": PASSWORD}
    t2 = time.thread_time()
    status, headers, _text = browser.call("POST", urlsplit(action.group(1)).path, form=form)
    t3 = time.thread_time()
    assert status == 303 and "code=" in headers.get("Location", ""), f"the password POST answered {status}"
    times[0].append(t1 - t0)
    times[1].append(t3 - t2)


def _page_change(app: Any) -> Callable[[bool], None]:
    from idp.login.first_page import FIRST_PAGES_KEY

    kept = app.extensions[FIRST_PAGES_KEY]

    class Rendered:
        def body(self, _view: Any) -> None:
            return None

    def use(new: bool) -> None:
        app.extensions[FIRST_PAGES_KEY] = kept if new else Rendered()

    return use


def _statement_change(_app: Any) -> Callable[[bool], None]:
    from psycopg import _queries

    def use(new: bool) -> None:
        # the sign-in's statement has 50 parameters: converted once and cached at psycopg's limit of 50, parsed
        # again at every execution below it (as with the 55 it had before)
        _queries.MAX_CACHED_STATEMENT_PARAMS = 50 if new else 49  # type: ignore[attr-defined]
        _queries._query2pg.cache_clear()  # type: ignore[attr-defined]

    return use


CHANGES: dict[str, Callable[[Any], Callable[[bool], None]]] = {
    "none": lambda _app: lambda _new: None,
    "page": _page_change,
    "statement": _statement_change,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--change", default="page", choices=sorted(CHANGES), help="what the old side undoes")
    parser.add_argument("--rounds", type=int, default=20, help="pairs of batches (default 20)")
    parser.add_argument("--batch", type=int, default=25, help="sign-ins per batch (default 25)")
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL (default: SQLite in a temporary folder)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server for the run")
    parser.add_argument("--redis-url", default="", help="the throttle in Redis (default: in the database)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)  # one log line per audit event would be most of what is measured
    from tests.idp.conftest import make_directory
    from tests.idp.oidc_harness import live_provider
    from tests.idp.rp import RelyingParty

    overrides: dict[str, Any] = {"server__trusted_proxies": 1, "server__queue_timeout": 10}
    if args.database_url:
        overrides["database__url"] = args.database_url
    if args.redis_url:
        overrides["redis__url"] = args.redis_url
    with ExitStack() as stack:
        if args.postgres:
            from tests.servers import postgres_server

            folder = Path(tempfile.mkdtemp(prefix="sign-in-ab-pg-"))
            overrides["database__url"] = stack.enter_context(postgres_server(folder))
        live = stack.enter_context(
            live_provider(Path(tempfile.mkdtemp(prefix="sign-in-ab-")), make_directory(), **overrides)
        )
        live.provider.keys.ensure()
        rp = RelyingParty.register(live, name="Ứng dụng thử <A&B>")
        query = urlencode(rp.auth_params())
        use = CHANGES[args.change](live.app)
        sides: dict[str, list[list[float]]] = {"old": [[], []], "new": [[], []]}
        for _ in range(20):  # warm-up, both ways
            for side in sides:
                use(side == "new")
                sign_in(live.app, query, [[], []])
        for k in range(args.rounds):
            for side in ("old", "new") if k % 2 == 0 else ("new", "old"):
                use(side == "new")
                times: list[list[float]] = [[], []]
                for _ in range(args.batch):
                    sign_in(live.app, query, times)
                for i in range(2):
                    sides[side][i].append(sum(times[i]) / len(times[i]) * 1000)
        load = os.getloadavg()[0]
        print(f"change {args.change}: {args.rounds} alternated pairs of {args.batch} sign-ins, load {load:.1f}")
        print(f"{'request':<16} {'old ms (median, best)':>24} {'new ms (median, best)':>24} {'new − old':>10}")
        for i, name in enumerate(("GET /authorize", "password POST")):
            old, new = sides["old"][i], sides["new"][i]
            diff = statistics.median(n - o for n, o in zip(new, old, strict=True))
            print(
                f"{name:<16} {statistics.median(old):>14.3f} ({min(old):6.3f}) "
                f"{statistics.median(new):>14.3f} ({min(new):6.3f}) {diff:>+10.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
