"""Wrong one-time and recovery codes, throttled so that guessing is slow but a stranger never locks the official
out (the design of :mod:`idp.throttle`, applied to the second step).

Whoever reaches the second step knows the official's password, so the password's device cookie proves nothing
here: a browser earns an MFA device entry (cookie ``antin_mfa_device``, the same signed format) only by passing
this official's second step. Its wrong codes count on a budget of its own; every other browser shares the
official's strangers' budget (``code_failures`` within ``code_window_seconds``, then refused until the window
passes) and, per source address, waits 1, 2, 4… seconds after three wrong codes. A stranger who spends the
strangers' budget therefore slows only strangers: the official's own browser still gets in. Nothing is ever
locked for good, and no login or address is stored in clear (the keys are digests).
"""

from __future__ import annotations

import contextlib
import hashlib
import math

from idp.mfa.settings import MfaSettings
from idp.throttle import Admission, DeviceCookies, ThrottleStore, ThrottleUnavailableError
from idp.throttle.admission import FORGET_AFTER_SECONDS, throttle_key
from idp.throttle.store import Budget

__all__ = ["MFA_DEVICE_COOKIE", "CodeThrottle", "mfa_device_cookies"]

MFA_DEVICE_COOKIE = "antin_mfa_device"
PAIR_DELAY_AFTER = 3


def mfa_device_cookies(secret_key: str, lifetime_seconds: int) -> DeviceCookies:
    # a key of its own: a password device entry is never an MFA one
    return DeviceCookies(hashlib.sha256(b"antin mfa device cookie\0" + secret_key.encode()).digest(), lifetime_seconds)


class CodeThrottle:
    def __init__(
        self, store: ThrottleStore, settings: MfaSettings, devices: DeviceCookies, *, max_delay_seconds: int
    ) -> None:
        self.store = store
        self.settings = settings
        self.devices = devices
        self.max_delay_seconds = max_delay_seconds

    def admit(self, subject: str, address: str, *, device_cookie: str | None, now: float) -> Admission:
        """Take this code's place in its budgets, or refuse it before any code is checked."""
        window = float(self.settings.code_window_seconds)
        keys = {
            "subject": throttle_key("mfa-subject", subject),
            "pair": throttle_key("mfa-pair", subject, address),
        }
        device = self.devices.device_of(device_cookie, subject, now=now)
        if device is not None:
            keys["device"] = throttle_key("mfa-device", device)
            own = self.store.take(keys["device"], Budget(window, limit=self.settings.device_code_failures), now)
            if own.allowed:
                return Admission(True, trusted=True, keys=keys, taken=("device",))
        plan = (
            ("subject", Budget(window, limit=self.settings.code_failures)),
            ("pair", Budget(FORGET_AFTER_SECONDS, delay_after=PAIR_DELAY_AFTER, max_delay=self.max_delay_seconds)),
        )
        taken: list[str] = []
        for name, budget in plan:
            took = self.store.take(keys[name], budget, now)
            if not took.allowed:
                for counted in taken:
                    self.store.give_back(keys[counted])
                return Admission(False, wait_seconds=max(1, math.ceil(took.retry_after)), keys=keys)
            taken.append(name)
        return Admission(True, keys=keys, taken=tuple(taken))

    def succeeded(self, admission: Admission) -> None:
        """The code was right: it does not count; the delays of this address for this official end."""
        give_back = [admission.keys[name] for name in admission.taken if name != "pair"]
        clear = [admission.keys["pair"]] if "pair" in admission.taken else []
        with contextlib.suppress(ThrottleUnavailableError):  # unavailable: the attempt stays counted, the safe side
            self.store.settle(give_back, clear)  # one round trip

    def remember_device(self, cookie: str | None, subject: str, *, now: float) -> str:
        """The MFA device cookie after this browser passed ``subject``'s second step."""
        return self.devices.issue(cookie, subject, now=now)
