"""Login throttling in front of the directory's lockout: progressive delays by account and by address,
with the counters in the database or in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.memory import InMemoryDirectory
from idp.database import Base, Database
from idp.settings import ThrottleSettings
from idp.throttle import DatabaseThrottleStore, LoginThrottle, RedisThrottleStore, ThrottleStore
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty

SETTINGS = ThrottleSettings(account_failures=3, address_failures=10, max_delay_seconds=60)


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrottleStore]:
    if request.param == "database":
        import idp.throttle.models  # noqa: F401

        db = Database(f"sqlite:///{tmp_path / 't.sqlite3'}")
        Base.metadata.create_all(db.engine)
        yield DatabaseThrottleStore(db)
        db.dispose()
    else:
        from tests.components import require_command
        from tests.servers import redis_server

        require_command("redis-server")
        with redis_server(tmp_path) as url:
            redis_store = RedisThrottleStore(url)
            yield redis_store
            redis_store.close()


def test_progressive_delays(store: ThrottleStore) -> None:
    throttle = LoginThrottle(store, SETTINGS)
    for _ in range(3):
        assert throttle.check("an.nguyen", "10.0.0.1").allowed
        throttle.failure("an.nguyen", "10.0.0.1")
    counter = store.get(_account_key("an.nguyen"))
    assert counter is not None and counter.failures == 3
    last = counter.last_failure
    assert not throttle.check("an.nguyen", "10.0.0.2", now=last + 0.5).allowed  # by account, any address
    assert throttle.check("an.nguyen", "10.0.0.2", now=last + 1.01).allowed
    throttle.failure("an.nguyen", "10.0.0.1")
    last = store.get(_account_key("an.nguyen")).last_failure  # type: ignore[union-attr]
    verdict = throttle.check("An.Nguyen ", "10.0.0.3", now=last + 1)
    assert not verdict.allowed and verdict.wait_seconds == 1  # doubled: 2 s after the 4th failure
    for _ in range(10):
        throttle.failure("an.nguyen", "10.0.0.1")
    last = store.get(_account_key("an.nguyen")).last_failure  # type: ignore[union-attr]
    assert throttle.check("an.nguyen", "10.9.9.9", now=last + 59).wait_seconds == 1  # capped at 60 s
    throttle.success("an.nguyen")
    assert throttle.check("an.nguyen", "10.9.9.9", now=last + 1).allowed
    # the address that failed 14 times is held back for every account
    assert not throttle.check("binh.tran", "10.0.0.1", now=last + 1).allowed


def _account_key(login: str) -> str:
    from idp.throttle import _key

    return _key("account", login)


class CountingDirectory(InMemoryDirectory):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def authenticate(self, login: str, password: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().authenticate(login, password)


@pytest.fixture
def directory() -> CountingDirectory:
    d = CountingDirectory()
    d.add("an.nguyen", "correct horse", full_name="Nguyễn Văn An")
    return d


def test_guessing_cannot_reach_the_lockout(op: LiveProvider, browser: Browser, directory: CountingDirectory) -> None:
    """Attempts refused by the throttle never reach the directory, so they do not count towards ppolicy."""
    rp = RelyingParty.register(op)
    page = rp.authorize(browser, ui_locales="en").page
    assert page is not None
    statuses = []
    for _ in range(8):
        outcome = browser.login(page, "an.nguyen", "guess")
        assert outcome.page is not None
        statuses.append(outcome.page.status_code)
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]
    assert directory.calls < 8  # the throttled ones never reached the directory
    throttled = browser.login(page, "an.nguyen", "correct horse")
    assert throttled.page is not None and throttled.page.status_code == 429
    assert "Wait" in throttled.page.text and throttled.page.headers["Retry-After"]


class ClockStore:
    """An in-memory store on a simulated clock, to replay an attacker's best schedule."""

    def __init__(self) -> None:
        self.now = 0.0
        self.counters: dict[str, tuple[int, float]] = {}

    def get(self, key: str):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        if key not in self.counters:
            return None
        failures, last = self.counters[key]
        return SimpleNamespace(failures=failures, last_failure=last)

    def add_failure(self, key: str, forget_after: int):  # type: ignore[no-untyped-def]
        failures, _ = self.counters.get(key, (0, 0.0))
        self.counters[key] = (failures + 1, self.now)
        return self.get(key)

    def reset(self, key: str) -> None:
        self.counters.pop(key, None)


def test_documented_bound_keeps_ppolicy_lockout_out_of_reach() -> None:
    """docs/oidc.md: with the defaults, at most 12 guesses reach the directory in any 300 s."""
    store = ClockStore()
    throttle = LoginThrottle(store, ThrottleSettings())
    reached: list[float] = []
    while store.now < 3600:
        if throttle.check("an.nguyen", f"10.0.{len(reached) % 250}.1", now=store.now).allowed:
            reached.append(store.now)
            throttle.failure("an.nguyen", f"10.0.{len(reached) % 250}.1")
        store.now += 0.25  # the attacker retries four times a second, from ever-changing addresses
    worst = max(sum(1 for t in reached if start <= t < start + 300) for start in reached)
    assert worst <= 12
    assert len(reached) < 3 + 6 + 60  # then about one guess a minute


def test_uid_and_email_share_one_counter(op: LiveProvider, browser: Browser) -> None:
    op.directory.update("an.nguyen", mail="an@antin.vn")
    rp = RelyingParty.register(op)
    page = rp.authorize(browser).page
    assert page is not None
    statuses = [
        browser.login(page, login, "guess").page.status_code  # type: ignore[union-attr]
        for login in ("an.nguyen", "an@antin.vn", "AN.NGUYEN", "an@antin.vn")
    ]
    assert statuses == [401, 401, 401, 429]


def test_redis_holds_the_counters_when_configured(tmp_path: Path) -> None:
    import redis

    from tests.components import require_command
    from tests.idp.oidc_harness import live_provider
    from tests.servers import redis_server

    require_command("redis-server")
    directory = InMemoryDirectory()
    directory.add("an.nguyen", "correct horse")
    with redis_server(tmp_path / "redis") as url, live_provider(tmp_path / "op", directory, redis__url=url) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = rp.authorize(browser).page
        assert page is not None
        browser.login(page, "an.nguyen", "guess")
        keys = redis.Redis.from_url(url).keys("antin:throttle:*")
        assert len(keys) == 2  # one for the account, one for the address; names are digests
        assert not any(b"an.nguyen" in k or b"127.0.0.1" in k for k in keys)
