"""Login throttling in front of the directory's lockout: strangers' browsers are held below pwdMaxFailure, the
official's own browser (a device cookie) always gets in, check and count are one atomic step, in the database
or in Redis."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from antin.kernel.database import Base, Database
from directory.memory import InMemoryDirectory
from directory.policy import LockoutPolicy
from idp.settings import ThrottleSettings
from idp.throttle import (
    DEVICE_COOKIE,
    DatabaseThrottleStore,
    DeviceCookies,
    LoginThrottle,
    RedisThrottleStore,
    ThrottleStore,
)
from idp.throttle.store import Budget
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty
from tests.idp.strangers import hammer, owners_browser, stranger_attempt, throttle_backend

SETTINGS = ThrottleSettings(account_failures=3, address_failures=10, max_delay_seconds=60, untrusted_failures=100)
NO_LOCKOUT = LockoutPolicy(max_failures=0, failure_count_interval=0, lockout_seconds=0)
PPOLICY = LockoutPolicy()  # the platform's default: 5 failures within 900 s lock for 900 s
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.servers import postgres_server

    with postgres_server(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrottleStore]:
    if request.param in ("sqlite", "postgresql"):
        from idp.throttle.models import ThrottleCounter

        url = f"sqlite:///{tmp_path / 't.sqlite3'}"
        if request.param == "postgresql":
            url = request.getfixturevalue("postgres_url")
        db = Database(url)
        table = ThrottleCounter.__table__
        Base.metadata.drop_all(db.engine, tables=[table])  # type: ignore[list-item]
        Base.metadata.create_all(db.engine, tables=[table])  # type: ignore[list-item]
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


# -- the budgets, on a simulated clock, in every store ----------------------------------------------------------


def test_progressive_delays(store: ThrottleStore) -> None:
    """Per (login, address) and per address: 1, 2, 4… s after the first failures, capped; a success ends them."""
    throttle = LoginThrottle(store, SETTINGS)
    t = 1_000_000.0

    def admit(login: str, address: str, at: float) -> bool:
        return throttle.admit(login, address, device=None, policy=NO_LOCKOUT, now=at).allowed

    for _ in range(3):
        assert admit("an.nguyen", "10.0.0.1", t)
    assert not admit("an.nguyen", "10.0.0.1", t + 0.5)  # 1 s after the 3rd failure
    assert admit("an.nguyen", "10.0.0.2", t + 0.5)  # the same login from elsewhere is another client
    assert admit("an.nguyen", "10.0.0.1", t + 1.01)
    verdict = throttle.admit("An.Nguyen ", "10.0.0.1", device=None, policy=NO_LOCKOUT, now=t + 2.5)
    assert not verdict.allowed and verdict.wait_seconds == 1  # doubled: 2 s after the 4th failure
    at = t + 3.1
    for _ in range(6):  # 4, 8, 16, 32, 60, 60
        assert admit("an.nguyen", "10.0.0.1", at)
        at += 61
    last = at - 61
    assert not admit("an.nguyen", "10.0.0.1", last + 59)  # capped at 60 s
    ok = throttle.admit("an.nguyen", "10.0.0.1", device=None, policy=NO_LOCKOUT, now=last + 60.5)
    assert ok.allowed
    throttle.succeeded(ok)
    assert store.get(ok.keys["pair"]) is None  # a right password ends the login's delays from that address
    # the address that failed 10 times and more is held back for every login
    assert not admit("binh.tran", "10.0.0.1", last + 60.7)
    assert admit("binh.tran", "10.0.0.9", last + 60.7)


def test_concurrent_attempts_stamped_out_of_order_are_not_refused(store: ThrottleStore) -> None:
    """Officials behind one office address sign in at once: the request stamped a moment earlier may reach the
    store second. Below the delay threshold neither is refused (a spurious 429 with "wait 1 s" before the fix)."""
    throttle = LoginThrottle(store, SETTINGS)
    t = 2_000_000.0
    later = throttle.admit("an.nguyen", "10.0.0.7", device=None, policy=NO_LOCKOUT, now=t + 0.004)
    earlier = throttle.admit("binh.tran", "10.0.0.7", device=None, policy=NO_LOCKOUT, now=t)
    assert later.allowed and earlier.allowed


def test_strangers_stay_below_the_lockout_and_the_device_keeps_its_own_budget(store: ThrottleStore) -> None:
    """With pwdMaxFailure 5: 2 strangers' attempts per 900 s, 2 per device; the rest never reaches the directory."""
    throttle = LoginThrottle(store, ThrottleSettings())
    t = 2_000_000.0
    admitted = [
        throttle.admit("an.nguyen", f"10.1.{i}.1", device=None, policy=PPOLICY, now=t + i).allowed for i in range(50)
    ]
    assert admitted[:2] == [True, True] and not any(admitted[2:])
    refused = throttle.admit("an.nguyen", "10.9.9.9", device=None, policy=PPOLICY, now=t + 60)
    assert refused.wait_seconds >= 900 - 60
    # the official's browser: its own two attempts, then it counts as a stranger's (refused: strangers' budget spent)
    own = [throttle.admit("an.nguyen", "10.2.0.1", device="nonce-A", policy=PPOLICY, now=t + 61) for _ in range(3)]
    assert [a.allowed for a in own] == [True, True, False] and own[0].trusted
    # another browser of the official is not touched by the first one's failures (a stolen cookie is shut out alone)
    other = throttle.admit("an.nguyen", "10.2.0.2", device="nonce-B", policy=PPOLICY, now=t + 62)
    assert other.allowed and other.trusted
    # strangers' attempts on the login are forgotten pwdFailureCountInterval (+ margin) after the last one
    assert not throttle.admit("an.nguyen", "10.3.0.1", device=None, policy=PPOLICY, now=t + 1 + 900).allowed
    assert throttle.admit("an.nguyen", "10.3.0.1", device=None, policy=PPOLICY, now=t + 1 + 931).allowed


def test_an_attackers_best_schedule_never_reaches_the_lockout(store: ThrottleStore) -> None:
    """For two hours, from ever-changing addresses, retrying exactly when Retry-After says: what reaches the
    directory within any pwdFailureCountInterval."""
    throttle = LoginThrottle(store, ThrottleSettings())
    t0 = 3_000_000.0
    reached: list[float] = []
    now, tries = t0, 0
    while now < t0 + 7200:
        tries += 1
        admission = throttle.admit(
            "an.nguyen", f"10.{tries // 250 % 250}.{tries % 250}.1", device=None, policy=PPOLICY, now=now
        )
        if admission.allowed:
            reached.append(now)
        now += 0.25 if admission.allowed else admission.wait_seconds
    worst = max(sum(1 for t in reached if start <= t < start + PPOLICY.failure_count_interval) for start in reached)
    assert worst <= PPOLICY.max_failures - 1 - ThrottleSettings().device_failures  # 2: with a device's 2, still 4 < 5
    assert len(reached) <= 2 * (7200 // 930 + 1)  # about 8 guesses an hour


@pytest.mark.parametrize("workers", [40])
def test_take_is_one_atomic_step(store: ThrottleStore, workers: int) -> None:
    """Forty takes at the same instant from forty threads: the budget admits exactly its limit, the delay one."""
    now = 4_000_000.0
    capped = Budget(window=900, limit=3)
    delayed = Budget(window=3600, delay_after=1, max_delay=60)
    barrier = threading.Barrier(workers)

    def race(budget: Budget, key: str) -> bool:
        barrier.wait()
        return store.take(key, budget, now).allowed

    with ThreadPoolExecutor(workers) as pool:
        capped_results = list(pool.map(lambda _: race(capped, "race:capped"), range(workers)))
    with ThreadPoolExecutor(workers) as pool:
        delayed_results = list(pool.map(lambda _: race(delayed, "race:delayed"), range(workers)))
    assert sum(capped_results) == 3
    assert sum(delayed_results) == 1  # the first take starts a 1 s delay that every other one must wait out


def test_settle_gives_back_and_clears_in_one_call(store: ThrottleStore) -> None:
    """What a sign-in that succeeded does to its budgets: given back once (the delay each had stays), cleared."""
    now = 5_000_000.0
    delayed = Budget(window=3600, delay_after=1, max_delay=60)
    for key in ("settle:a", "settle:b", "settle:gone"):
        assert store.take(key, delayed, now).allowed
    store.take("settle:b", Budget(window=3600), now + 5)  # b counts two attempts
    store.settle(["settle:a", "settle:b", "settle:never-taken"], ["settle:gone", "settle:never-either"])
    a, b = store.get("settle:a"), store.get("settle:b")
    assert a is not None and a.attempts == 0 and a.blocked_until == now + 1  # its 1 s delay outlives the give-back
    assert b is not None and b.attempts == 1
    assert store.get("settle:gone") is None
    assert store.get("settle:never-taken") is None  # nothing was created
    store.settle(["settle:a"], [])
    a = store.get("settle:a")
    assert a is not None and a.attempts == 0  # never below zero
    store.settle([], ["settle:a"])
    assert store.get("settle:a") is None
    with pytest.raises(ValueError, match="either"):
        store.settle(["settle:b"], ["settle:b"])


def test_take_each_stops_at_the_first_refusal_and_gives_back_what_it_took(store: ThrottleStore) -> None:
    """A sign-in's three budgets in one call (one round trip in Redis): all taken, or the first refusal returned with
    its wait, the budgets before it given back (their delays stay) and the ones after it untouched."""
    now = 6_000_000.0
    capped = Budget(window=900, limit=1)
    delayed = Budget(window=3600, delay_after=1, max_delay=60)
    plan = [("each:login", capped), ("each:pair", delayed), ("each:address", Budget(window=3600))]
    first = store.take_each(plan, now)
    assert first.allowed
    assert [c.attempts if (c := store.get(k)) else None for k, _b in plan] == [1, 1, 1]
    store.give_back("each:login")  # the login's one place is free again; the pair's 1 s delay still runs
    refused = store.take_each(plan, now + 0.5)
    assert not refused.allowed and refused.retry_after == pytest.approx(0.5)
    login, pair, address = (store.get(k) for k, _b in plan)
    assert login is not None and login.attempts == 0  # taken, then given back
    assert pair is not None and pair.attempts == 1  # refused: not counted
    assert address is not None and address.attempts == 1  # never reached
    assert store.take_each(plan, now + 2).allowed  # the delay over: all three taken again
    assert not store.take_each(plan, now + 10).allowed  # the login's limit of one, spent: nothing else touched
    pair = store.get("each:pair")
    assert pair is not None and pair.attempts == 2


@pytest.mark.postgres
def test_take_each_is_one_statement_on_postgresql(postgres_url: str) -> None:
    """The three budgets of a sign-in in one statement; a refusal costs a second (the give-back), no more."""
    from sqlalchemy import event

    from idp.throttle.models import ThrottleCounter

    db = Database(postgres_url)
    table = ThrottleCounter.__table__
    Base.metadata.drop_all(db.engine, tables=[table])  # type: ignore[list-item]
    Base.metadata.create_all(db.engine, tables=[table])  # type: ignore[list-item]
    sent: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: sent.append(statement))
    store = DatabaseThrottleStore(db)
    plan = [("one:login", Budget(window=900, limit=1)), ("one:pair", Budget(window=60)), ("one:ip", Budget(window=60))]
    assert store.take_each(plan, 7_000_000.0).allowed
    assert len(sent) == 1 and " ".join(sent[0].split()).startswith("WITH take_0 AS (INSERT INTO throttle_counter")
    sent.clear()
    refused = store.take_each(list(reversed(plan)), 7_000_001.0)  # the login's one place is spent
    assert not refused.allowed
    assert [c.attempts if (c := store.get(k)) else None for k, _b in plan] == [1, 1, 1]  # the others given back
    assert len([s for s in sent if not s.startswith("SELECT")]) == 2  # the takes, the give-back (and the reads)
    db.dispose()


# -- through the login page: the official's browser, strangers, the answers ---------------------------------------


class CountingDirectory(InMemoryDirectory):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._lock = threading.Lock()

    def authenticate_person(self, person, password):  # type: ignore[no-untyped-def]
        with self._lock:  # the login binds through this one (the entry found once, then bound as)
            self.calls += 1
            return super().authenticate_person(person, password)


@pytest.fixture
def directory() -> CountingDirectory:
    d = CountingDirectory()
    d.add("an.nguyen", PASSWORD, full_name="Nguyễn Văn An")
    d.add("khoa.le", PASSWORD, full_name="Lê Minh Khoa", locked=True)
    d.add("lan.vu", PASSWORD, full_name="Vũ Thị Lan", locked=True)
    return d


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_fifty_strangers_cannot_lock_the_official_out(
    tmp_path: Path, directory: CountingDirectory, backend: str
) -> None:
    with throttle_backend(tmp_path, backend) as overrides, live_provider(tmp_path / "op", directory, **overrides) as op:
        rp = RelyingParty.register(op)
        browser = owners_browser(op, rp, "an.nguyen", PASSWORD)
        directory.calls = 0
        statuses = hammer(op, rp, "an.nguyen", sequential=50, parallel=50)
        assert statuses.count(401) <= 2 and statuses.count(429) >= 98
        assert directory.calls <= 2  # what the strangers' budget allows, parallel requests included
        assert not directory.people["an.nguyen"].locked
        # the official's browser gets in at once, with the right password
        params = rp.sign_in(browser, "an.nguyen", PASSWORD)
        assert params["code"] and rp.exchange(params["code"]).status_code == 200


def test_parallel_strangers_cannot_exceed_the_budget(op: LiveProvider, directory: CountingDirectory) -> None:
    """Thirty requests at once: the check and the count are one step, so only the budget's two reach the directory."""
    rp = RelyingParty.register(op)
    browsers = []
    for _ in range(30):
        b = Browser(op.issuer)
        page = rp.authorize(b).page
        assert page is not None
        browsers.append((b, page))
    barrier = threading.Barrier(len(browsers))

    def attempt(pair: tuple[Browser, object]) -> int:
        b, page = pair
        barrier.wait()
        outcome = b.login(page, "an.nguyen", "guess")  # type: ignore[arg-type]
        assert outcome.page is not None
        return outcome.page.status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = list(pool.map(attempt, browsers))
    assert directory.calls <= 2 and statuses.count(401) <= 2
    assert set(statuses) <= {401, 429}
    assert not directory.people["an.nguyen"].locked


def test_a_stolen_device_cookie_is_shut_out_alone(op: LiveProvider, directory: CountingDirectory) -> None:
    rp = RelyingParty.register(op)
    laptop = owners_browser(op, rp, "an.nguyen", PASSWORD)
    office = owners_browser(op, rp, "an.nguyen", PASSWORD)
    thief = Browser(op.issuer)
    for cookie in laptop.session.cookies:
        if cookie.name == DEVICE_COOKIE:
            thief.session.cookies.set_cookie(cookie)
    hammer(op, rp, "an.nguyen", sequential=5, parallel=0)  # strangers spend their budget first
    page = rp.authorize(thief).page
    assert page is not None
    tries = [thief.login(page, "an.nguyen", "guess").page.status_code for _ in range(4)]  # type: ignore[union-attr]
    assert tries == [401, 401, 429, 429]  # the copied cookie's own two, then a stranger's (spent) budget
    assert not directory.people["an.nguyen"].locked
    assert rp.sign_in(office, "an.nguyen", PASSWORD)["code"]  # the official's other browser is untouched


def test_unknown_and_real_logins_answer_alike(op: LiveProvider) -> None:
    """A stranger learns nothing from the answers: a real login, a locked one, and one that does not exist."""
    rp = RelyingParty.register(op)
    answers = {
        login: [stranger_attempt(op, rp, login) for _ in range(6)] for login in ("an.nguyen", "khoa.le", "nobody.here")
    }

    def shape(found: list[tuple[int, str, str]]) -> list[tuple[int, str, bool]]:
        return [(status, re.sub(r"\d+", "N", text), bool(retry)) for status, text, retry in found]

    assert shape(answers["an.nguyen"]) == shape(answers["nobody.here"]) == shape(answers["khoa.le"])
    assert [s for s, _, _ in answers["nobody.here"]] == [401, 401, 429, 429, 429, 429]
    # the waits announced are those of the same budgets (equal to the second, give or take the time between runs)
    real = [int(r) for _, _, r in answers["an.nguyen"] if r]
    unknown = [int(r) for _, _, r in answers["nobody.here"] if r]
    assert all(abs(a - b) <= 2 for a, b in zip(real, unknown, strict=True))
    # the right password of a locked account from a stranger's browser: what a login that does not exist gets
    assert stranger_attempt(op, rp, "lan.vu", PASSWORD) == stranger_attempt(op, rp, "nobody.else", PASSWORD)


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
    assert statuses[:2] == [401, 401]  # was [:3] with 401 three times: strangers now get pwdMaxFailure - 3
    assert 429 in statuses[2:]
    assert directory.calls < 8  # the throttled ones never reached the directory
    throttled = browser.login(page, "an.nguyen", PASSWORD)
    assert throttled.page is not None and throttled.page.status_code == 429
    assert "Wait" in throttled.page.text and throttled.page.headers["Retry-After"]


def test_the_throttle_reads_the_instance_clock(op: LiveProvider, directory: CountingDirectory) -> None:
    """Strangers who spent the budget get a new one once the instance's clock has moved past the window."""
    rp = RelyingParty.register(op)
    assert [stranger_attempt(op, rp, "an.nguyen")[0] for _ in range(3)] == [401, 401, 429]
    op.instance.clock.advance(timedelta(hours=2))
    assert stranger_attempt(op, rp, "an.nguyen")[0] == 401
    assert directory.calls == 3 and not directory.people["an.nguyen"].locked


def test_uid_and_email_share_one_counter(op: LiveProvider, browser: Browser) -> None:
    op.directory.update("an.nguyen", mail="an@antin.vn")
    rp = RelyingParty.register(op)
    page = rp.authorize(browser).page
    assert page is not None
    statuses = [
        browser.login(page, login, "guess").page.status_code  # type: ignore[union-attr]
        for login in ("an.nguyen", "an@antin.vn", "AN.NGUYEN", "an@antin.vn")
    ]
    assert statuses == [401, 401, 429, 429]  # was [401, 401, 401, 429]: the strangers' budget is 2 now


def test_redis_holds_the_counters_when_configured(tmp_path: Path) -> None:
    import redis

    from tests.components import require_command
    from tests.servers import redis_server

    require_command("redis-server")
    directory = InMemoryDirectory()
    directory.add("an.nguyen", PASSWORD)
    with redis_server(tmp_path / "redis") as url, live_provider(tmp_path / "op", directory, redis__url=url) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = rp.authorize(browser).page
        assert page is not None
        browser.login(page, "an.nguyen", "guess")
        keys = redis.Redis.from_url(url).keys("antin:throttle:*")
        assert len(keys) == 3  # the address, the login from it, the login (was 2); names are digests
        assert not any(b"an.nguyen" in k or b"127.0.0.1" in k for k in keys)


def test_an_unreachable_store_refuses_without_binding(tmp_path: Path, directory: CountingDirectory) -> None:
    """Redis down: a clear 503, and no password reaches the directory uncounted."""
    from tests.components import free_port

    with live_provider(tmp_path, directory, redis__url=f"redis://127.0.0.1:{free_port()}/0") as op:
        rp = RelyingParty.register(op)
        status, message, _ = stranger_attempt(op, rp, "an.nguyen", PASSWORD)
        assert status == 503 and "Try again shortly" in message
        assert directory.calls == 0


def test_a_device_cookie_is_valid_only_for_its_official_signed_and_unexpired() -> None:
    devices = DeviceCookies.from_secret("instance-secret-" * 3, lifetime_seconds=86400)
    now = 5_000_000.0
    cookie = devices.issue(None, "an.nguyen", now=now)
    device = devices.device_of(cookie, "An.Nguyen", now=now + 10)
    assert device is not None
    assert devices.device_of(cookie, "binh.tran", now=now) is None  # bound to the official
    assert devices.device_of(cookie, "an.nguyen", now=now + 86400) is None  # expired
    nonce, issued, mac = cookie.split(".")
    assert devices.device_of(f"{nonce}.{int(issued) + 1}.{mac}", "an.nguyen", now=now) is None  # tampered
    other_key = DeviceCookies.from_secret("another-instance-" * 3, lifetime_seconds=86400)
    assert other_key.device_of(cookie, "an.nguyen", now=now) is None  # signed with the instance's key
    # a shared computer: each official keeps an entry; signing in again replaces one's own entry
    shared = cookie
    for uid in ("binh.tran", "khoa.le", "an.nguyen"):
        shared = devices.issue(shared, uid, now=now + 1)
    assert shared.count("~") == 2
    assert all(devices.device_of(shared, uid, now=now + 2) for uid in ("an.nguyen", "binh.tran", "khoa.le"))
    assert devices.device_of(shared, "an.nguyen", now=now + 2) != device  # a new nonce after each sign-in
