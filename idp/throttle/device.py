"""Device cookies: the browsers an official has signed in from before (OWASP, "Slow down online guessing
attacks with device cookies").

After a right password the browser gets an entry bound to the official's account: a random nonce, the time it
was issued, and an HMAC of both with the account, under a key derived from the instance's secret. A browser
that presents a valid entry for the login it types is the official's own: its wrong passwords count on a
budget of its own (keyed by the nonce, so a stolen cookie is shut out alone), never on the strangers' budget.
One cookie holds entries for the last few officials who signed in on that browser (a shared office computer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["DEVICE_COOKIE", "DeviceCookies"]

DEVICE_COOKIE = "antin_device"
MAX_ENTRIES = 5  # officials remembered per browser
CLOCK_SKEW = 300  # an entry "issued" later than this in the future is forged or from a broken clock


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class DeviceCookies:
    key: bytes
    lifetime_seconds: int

    @classmethod
    def from_secret(cls, secret_key: str, lifetime_seconds: int) -> DeviceCookies:
        # a key of its own: a device entry is never valid as anything else signed with the instance secret
        return cls(hashlib.sha256(b"antin login device cookie\0" + secret_key.encode()).digest(), lifetime_seconds)

    def _mac(self, account: str, nonce: str, issued: int) -> str:
        message = f"{account.strip().lower()}\n{nonce}\n{issued}".encode()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())

    @staticmethod
    def _entries(cookie: str | None) -> list[tuple[str, int, str]]:
        found: list[tuple[str, int, str]] = []
        for raw in (cookie or "").split("~")[:MAX_ENTRIES]:
            parts = raw.split(".")
            if len(parts) == 3 and parts[1].isdigit() and len(parts[1]) <= 12:
                found.append((parts[0], int(parts[1]), parts[2]))
        return found

    def _fresh(self, issued: int, now: float) -> bool:
        return issued + self.lifetime_seconds > now and issued <= now + CLOCK_SKEW

    def device_of(self, cookie: str | None, account: str, *, now: float) -> str | None:
        """The device's nonce when ``cookie`` holds a valid, unexpired entry for ``account``; else None."""
        for nonce, issued, mac in self._entries(cookie):
            if self._fresh(issued, now) and hmac.compare_digest(mac, self._mac(account, nonce, issued)):
                return nonce
        return None

    def issue(self, cookie: str | None, account: str, *, now: float) -> str:
        """The cookie after a right password for ``account``: a new entry first, then the other officials' ones."""
        nonce = _b64(secrets.token_bytes(12))
        issued = int(now)
        entries = [f"{nonce}.{issued}.{self._mac(account, nonce, issued)}"]
        for old_nonce, old_issued, mac in self._entries(cookie):
            mine = hmac.compare_digest(mac, self._mac(account, old_nonce, old_issued))
            if not mine and self._fresh(old_issued, now) and len(entries) < MAX_ENTRIES:
                entries.append(f"{old_nonce}.{old_issued}.{mac}")
        return "~".join(entries)
