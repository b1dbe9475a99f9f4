"""Login throttling: strangers are held below the directory's lockout, officials get in from their own browsers.

Where things are: :mod:`idp.throttle.admission` (the budgets an attempt is counted in, and why they keep
strangers below ``pwdMaxFailure``), :mod:`idp.throttle.device` (the device cookies that mark an official's own
browser), :mod:`idp.throttle.store` (the budgets in Redis or in the database, each taken in one atomic step),
:mod:`idp.throttle.models` (the table) and :mod:`idp.throttle.errors`. :mod:`idp.login.service` is the caller.
"""

from __future__ import annotations

from idp.throttle.admission import Admission, LoginBudgets, LoginThrottle
from idp.throttle.device import DEVICE_COOKIE, DeviceCookies
from idp.throttle.errors import ThrottleUnavailableError
from idp.throttle.store import DatabaseThrottleStore, RedisThrottleStore, ThrottleStore

__all__ = [
    "DEVICE_COOKIE",
    "Admission",
    "DatabaseThrottleStore",
    "DeviceCookies",
    "LoginBudgets",
    "LoginThrottle",
    "RedisThrottleStore",
    "ThrottleStore",
    "ThrottleUnavailableError",
]
