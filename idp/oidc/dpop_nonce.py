"""Server-provided DPoP nonces (RFC 9449 §8 and §9), stateless so that every worker and instance agrees.

A nonce is an HMAC of the current time window under a key derived from the instance secret: any process that
shares the secret computes the same nonce for the same window and checks one without a shared store or a
database read. The nonce of the current window and of the previous one are accepted, so a nonce lives between
one and two windows; a proof made in advance, with an old nonce, is refused once that time has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

__all__ = ["NONCE_WINDOW_SECONDS", "DPoPNonces"]

# a nonce is accepted for one to two windows: long enough for a client's retry, short enough to spoil stock-piles
NONCE_WINDOW_SECONDS = 60
_KEY_LABEL = b"antin:oidc:dpop-nonce:v1"


class DPoPNonces:
    def __init__(
        self, secret: str, *, window_seconds: int = NONCE_WINDOW_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("DPoP nonces need the instance secret")
        # a key of its own: a nonce reveals nothing about the secret that signs cookies and CSRF tokens
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.window_seconds = window_seconds
        self.clock = clock

    def _window(self) -> int:
        return int(self.clock() // self.window_seconds)

    def _nonce(self, window: int) -> str:
        mac = hmac.new(self._key, window.to_bytes(8, "big", signed=True), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode()  # 24 characters, no padding: fits RFC 9449's NQCHAR

    def current(self) -> str:
        """The nonce to hand to clients now (in a ``DPoP-Nonce`` header)."""
        return self._nonce(self._window())

    def accepts(self, value: object) -> bool:
        """Whether ``value`` (a proof's ``nonce`` claim) is the nonce of this window or of the previous one."""
        if not isinstance(value, str) or not value:
            return False
        window = self._window()
        current_ok = hmac.compare_digest(value.encode(), self._nonce(window).encode())
        previous_ok = hmac.compare_digest(value.encode(), self._nonce(window - 1).encode())
        return current_ok or previous_ok
