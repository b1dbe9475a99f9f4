"""How a client secret is stored and checked: HMAC-SHA-256 under a key derived from the instance secret.

A client secret is 256 random bits made by :func:`idp.oidc.random_secrets.new_secret`, never chosen by a person:
nothing can guess it, so it needs no password hash's deliberate cost, and checking it costs one HMAC (about a
microsecond) instead of milliseconds. The HMAC is keyed so that the database alone (a dump, a backup, a replica)
does not even let one test a candidate secret offline; the key lives with the instance secret, not in the
database. Digests are compared in constant time.

Stored form: ``h1$`` and the base64url HMAC (46 characters). Registrations made before it hold the plain
SHA-256 hex digest (64 characters): such a secret is checked with SHA-256 once and, when right, stored again in
the new form by :meth:`idp.oidc.clients.ClientRegistry.check_secret` (see docs/security.md, "Client secrets").
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac

__all__ = ["ClientSecretDigests", "SecretCheck"]

_PREFIX = "h1$"


class SecretCheck(enum.Enum):
    WRONG = "wrong"
    RIGHT = "right"
    RIGHT_OLD_FORM = "right, stored in the old form"  # right, and to be stored again in the new form


class ClientSecretDigests:
    def __init__(self, instance_secret: str) -> None:
        if not instance_secret:
            raise ValueError("client secret digests need the instance secret")
        self._key = hashlib.sha256(b"antin oidc client secret\0" + instance_secret.encode()).digest()

    def digest(self, secret: str) -> str:
        mac = hmac.digest(self._key, secret.encode("utf-8"), "sha256")  # one-shot: no HMAC object per check
        return _PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def check(self, secret: str, stored: str | None) -> SecretCheck:
        if not stored:
            return SecretCheck.WRONG
        if stored.startswith(_PREFIX):
            right = hmac.compare_digest(self.digest(secret).encode(), stored.encode())
            return SecretCheck.RIGHT if right else SecretCheck.WRONG
        old = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        return SecretCheck.RIGHT_OLD_FORM if hmac.compare_digest(old.encode(), stored.encode()) else SecretCheck.WRONG
