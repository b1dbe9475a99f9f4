"""Login throttling by account and by source address, in front of the directory's password policy.

After ``account_failures`` failed sign-ins for one account (or ``address_failures`` from one address), each
further attempt must wait a delay that doubles with every failure, up to ``max_delay_seconds``. Attempts made
too early are refused *without asking the directory*, so they do not count towards ppolicy's lockout: an
attacker who guesses passwords slowly enough to get through cannot lock an official out faster than
ppolicy's ``pwdFailureCountInterval`` forgets failures (see docs/oidc.md for matching settings). Counters
are forgotten after a quiet hour, and a successful sign-in clears the account's counter.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from idp.settings import ThrottleSettings
from idp.throttle.store import DatabaseThrottleStore, RedisThrottleStore, ThrottleStore

__all__ = ["DatabaseThrottleStore", "LoginThrottle", "RedisThrottleStore", "ThrottleStore", "Verdict"]

FORGET_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: int = 0
    account_failures: int = 0  # so that a success resets the counter only when there is one


def _key(kind: str, value: str) -> str:
    # keys are digests: no login names or addresses sit in Redis or the table in clear
    return kind + ":" + hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]


class LoginThrottle:
    def __init__(self, store: ThrottleStore, settings: ThrottleSettings) -> None:
        self.store = store
        self.settings = settings

    def _delay(self, failures: int, threshold: int) -> int:
        if failures < threshold:
            return 0
        return int(min(2 ** (failures - threshold), self.settings.max_delay_seconds))

    def check(self, account: str, address: str, *, now: float | None = None) -> Verdict:
        current = time.time() if now is None else now
        wait = 0.0
        account_failures = 0
        for kind, key, threshold in (
            ("account", _key("account", account), self.settings.account_failures),
            ("address", _key("address", address), self.settings.address_failures),
        ):
            counter = self.store.get(key)
            if counter is None:
                continue
            if kind == "account":
                account_failures = counter.failures
            delay = self._delay(counter.failures, threshold)
            wait = max(wait, counter.last_failure + delay - current)
        return Verdict(allowed=wait <= 0, wait_seconds=max(0, int(wait + 0.999)), account_failures=account_failures)

    def failure(self, account: str, address: str) -> None:
        self.store.add_failure(_key("account", account), FORGET_AFTER_SECONDS)
        self.store.add_failure(_key("address", address), FORGET_AFTER_SECONDS)

    def success(self, account: str) -> None:
        self.store.reset(_key("account", account))
