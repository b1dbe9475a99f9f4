"""Random secrets and their digests. Secrets are 256-bit random, so a plain SHA-256 digest is enough to store."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["digest", "new_secret", "same_digest"]


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_digest(value: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(value), expected_digest)
