"""Login throttling that keeps strangers below the directory's lockout, and lets officials in from their browsers.

The directory's password policy locks an account after ``pwdMaxFailure`` failed binds within
``pwdFailureCountInterval``. The IdP never binds for a browser that has not signed in as that official before
(a *stranger*) once the strangers' failures for that login could, with the official's own, reach that number:

- a stranger's attempt takes a place in three budgets, each in one atomic step, before the directory is asked:
  the login (at most ``pwdMaxFailure - 1 - device_failures`` attempts within ``pwdFailureCountInterval``,
  forgotten that long after the last one), the login from that address (progressive delays after
  ``account_failures``), and the source address (delays after ``address_failures``, against password spraying);
- a browser with a valid device cookie for the login (:mod:`idp.throttle.device`) uses a budget of its own of
  ``device_failures`` attempts in the same window; when that is spent it is treated as a stranger's.

So strangers alone, or strangers and one of the official's browsers, never make the directory count
``pwdMaxFailure`` failures, and the official's browser is never refused because of strangers. An admitted
attempt counts as a failure until the caller says it :meth:`LoginThrottle.succeeded` (or was
:meth:`LoginThrottle.undecided`, the directory being unreachable). Unknown and real logins go through the same
budgets, so the answers do not tell them apart. Keys are digests: no login or address is stored in clear.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field

from directory.policy import LockoutPolicy
from idp.settings import ThrottleSettings
from idp.throttle.errors import ThrottleUnavailableError
from idp.throttle.store import Budget, ThrottleStore

__all__ = ["Admission", "LoginBudgets", "LoginThrottle", "throttle_key"]

log = logging.getLogger(__name__)

FORGET_AFTER_SECONDS = 3600  # the delays of an address, and of a login from an address, after a quiet hour
NO_LOCKOUT_FAILURES = 10  # strangers' attempts per login and window when the directory never locks
NO_LOCKOUT_WINDOW = 900
NEVER = 10 * 365 * 86400  # a window for a directory that forgets failures only at a successful bind
# The directory dates a failure when the bind ends, the throttle when the attempt starts: forgetting a little
# later than the directory covers a slow bind (the directory's timeout is 5 s by default) and clock resolution.
WINDOW_MARGIN_SECONDS = 30


def throttle_key(kind: str, *values: str) -> str:
    # digests: no login names or addresses sit in Redis or the table in clear
    joined = "\n".join(v.strip().lower() for v in values)
    return kind + ":" + hashlib.sha256(joined.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class LoginBudgets:
    """The numbers the throttle holds strangers and devices to, derived from the directory's lockout."""

    strangers: int  # attempts per login within the window from browsers without a device cookie
    device: int  # attempts per device cookie within the window
    window: float  # seconds after the last counted attempt when these counts are forgotten
    forget_on_success: bool  # the directory forgets failures only at a successful bind (interval 0)


@dataclass(frozen=True)
class Admission:
    """The throttle's answer to one attempt; ``taken`` names the budgets it was counted in."""

    allowed: bool
    wait_seconds: int = 0
    trusted: bool = False  # the attempt comes from the official's own browser, on its own budget
    keys: dict[str, str] = field(default_factory=dict)
    taken: tuple[str, ...] = ()
    budgets: LoginBudgets | None = None


class LoginThrottle:
    def __init__(self, store: ThrottleStore, settings: ThrottleSettings) -> None:
        self.store = store
        self.settings = settings
        self._warned = False

    def budgets(self, policy: LockoutPolicy) -> LoginBudgets:
        device = self.settings.device_failures
        if policy.max_failures <= 0:
            strangers = self.settings.untrusted_failures or NO_LOCKOUT_FAILURES
            window = policy.failure_count_interval or NO_LOCKOUT_WINDOW
            return LoginBudgets(strangers, device, float(window), forget_on_success=False)
        below_lock = policy.max_failures - 1  # failures the directory counts without locking
        device = max(0, min(device, below_lock - 1))  # leave at least one for a new browser of the official
        strangers = below_lock - device
        if self.settings.untrusted_failures:
            strangers = min(strangers, self.settings.untrusted_failures)
        if strangers < 1:
            if not self._warned:
                log.warning("the directory locks at the first failed bind: strangers cannot be kept below it")
                self._warned = True
            strangers = 1
        interval = policy.failure_count_interval
        window = interval + WINDOW_MARGIN_SECONDS if interval else NEVER
        return LoginBudgets(strangers, device, float(window), forget_on_success=interval == 0)

    def _delays(self, after: int) -> Budget:
        return Budget(window=FORGET_AFTER_SECONDS, delay_after=after, max_delay=self.settings.max_delay_seconds)

    def admit(self, account: str, address: str, *, device: str | None, policy: LockoutPolicy, now: float) -> Admission:
        """Take this attempt's place in its budgets, or refuse it without asking the directory.

        ``now`` is epoch seconds from the caller's clock (the login service reads the instance's): the throttle
        and its stores read no clock of their own, so a test that moves the instance's clock moves them too.
        """
        budgets = self.budgets(policy)
        keys = {
            "address": throttle_key("address", address),
            "pair": throttle_key("pair", account, address),
            "login": throttle_key("login", account),
        }
        if device is not None:
            keys["device"] = throttle_key("device", device)
            own = self.store.take(keys["device"], Budget(budgets.window, limit=budgets.device), now)
            if own.allowed:
                return Admission(True, trusted=True, keys=keys, taken=("device",), budgets=budgets)
            # this device's budget is spent (a stolen cookie, or many typos): from now on it is a stranger's
        # the login's budget first: when it is spent (what an attack on one official leads to), nothing else is
        # touched; a later refusal gives its place back (it has no delay to leave behind)
        plan = (
            ("login", Budget(budgets.window, limit=budgets.strangers)),
            ("pair", self._delays(self.settings.account_failures)),
            ("address", self._delays(self.settings.address_failures)),
        )
        # in order, in one round trip: a refusal gives back the places taken before it (no bind happens; only the
        # delays this attempt caused remain)
        took = self.store.take_each([(keys[name], budget) for name, budget in plan], now)
        if not took.allowed:
            wait = max(1, math.ceil(took.retry_after))
            return Admission(False, wait_seconds=wait, keys=keys, budgets=budgets)
        return Admission(True, keys=keys, taken=tuple(name for name, _budget in plan), budgets=budgets)

    def succeeded(self, admission: Admission) -> None:
        """The password was right: uncount this attempt; the login's delays from that address end."""
        give_back: list[str] = []
        clear: list[str] = []
        for name in admission.taken:
            if name == "login" and admission.budgets is not None and admission.budgets.forget_on_success:
                clear.append(admission.keys[name])
            elif name != "pair":
                give_back.append(admission.keys[name])
        if "pair" in admission.keys:
            clear.append(admission.keys["pair"])
        try:
            self.store.settle(give_back, clear)  # one round trip where there were three
        except ThrottleUnavailableError as err:  # the attempt stays counted: the safe side
            log.warning("throttle store unavailable after a sign-in (%s)", err)

    def undecided(self, admission: Admission) -> None:
        """The directory was not asked (unreachable): uncount the attempt everywhere."""
        try:
            self.store.settle([admission.keys[name] for name in admission.taken], [])
        except ThrottleUnavailableError as err:
            log.warning("throttle store unavailable (%s)", err)
