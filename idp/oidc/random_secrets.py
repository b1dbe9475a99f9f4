"""Random secrets and their digests. Secrets are 256-bit random, so a plain SHA-256 digest is enough to store
(refresh tokens, codes, session cookies); client secrets, which live long, get a keyed one
(:mod:`idp.oidc.client_secrets`)."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["digest", "new_secret"]


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
