"""Browsers for the throttle's tests: strangers who guess (no cookie at all) and the official's own browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

from idp.throttle import DEVICE_COOKIE
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


def stranger_attempt(op: LiveProvider, rp: RelyingParty, login: str, password: str = "guess") -> tuple[int, str, str]:
    """A fresh browser (no cookie at all) tries a password: (status, message shown, Retry-After)."""
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(browser).page
    assert page is not None
    outcome = browser.login(page, login, password)
    assert outcome.page is not None
    message = re.search(r'id="login-error"[^>]*>([^<]*)<', outcome.page.text)
    shown = message.group(1).strip() if message else ""
    return outcome.page.status_code, shown, outcome.page.headers.get("Retry-After", "")


def hammer(op: LiveProvider, rp: RelyingParty, login: str, *, sequential: int, parallel: int) -> list[int]:
    """Wrong passwords from fresh browsers, one after the other, then sixteen at a time; their statuses."""
    statuses = [stranger_attempt(op, rp, login)[0] for _ in range(sequential)]
    with ThreadPoolExecutor(16) as pool:
        statuses += [s for s, _, _ in pool.map(lambda _: stranger_attempt(op, rp, login), range(parallel))]
    return statuses


def owners_browser(op: LiveProvider, rp: RelyingParty, login: str, password: str) -> Browser:
    """The official signs in once from this browser, then the session ends; the device cookie stays."""
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    assert rp.sign_in(browser, login, password)["code"]
    assert browser.session.cookies.get(DEVICE_COOKIE)
    jar: CookieJar = browser.session.cookies
    for cookie in list(jar):
        if cookie.name != DEVICE_COOKIE:
            browser.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
    return browser


@contextmanager
def throttle_backend(tmp_path: Path, backend: str) -> Iterator[dict[str, str]]:
    """Provider settings for the throttle's store: the database by default, a real Redis as in production."""
    if backend == "database":
        yield {}
        return
    from tests.components import require_command
    from tests.servers import redis_server

    require_command("redis-server")
    with redis_server(tmp_path / "redis") as url:
        yield {"redis__url": url}
