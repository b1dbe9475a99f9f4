"""Pushed authorization requests (RFC 9126): validated parameters stored behind a one-time ``request_uri``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from antin.kernel.database import Database, utcnow
from idp.oidc.models import PushedRequest
from idp.oidc.random_secrets import digest, new_secret

__all__ = ["PAR_URN_PREFIX", "PushedAuthorization", "PushedRequests"]

PAR_URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


@dataclass(frozen=True)
class PushedAuthorization:
    params: dict[str, Any]
    dpop_jkt: str | None  # the DPoP key the code must be redeemed with (the pushed proof's, or dpop_jkt)


class PushedRequests:
    def __init__(self, database: Database, *, ttl_seconds: int, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock
        self.ttl = ttl_seconds

    def push(self, client_id: str, params: dict[str, list[str]], *, dpop_jkt: str | None = None) -> str:
        handle = new_secret()
        now = self._clock()
        with self._db.session() as s:
            s.execute(delete(PushedRequest).where(PushedRequest.expires_at < now))
            s.add(
                PushedRequest(
                    digest=digest(handle),
                    client_id=client_id,
                    params=params,
                    dpop_jkt=dpop_jkt,
                    expires_at=now + timedelta(seconds=self.ttl),
                )
            )
        return PAR_URN_PREFIX + handle

    def take(self, request_uri: str, client_id: str) -> PushedAuthorization | None:
        """The pushed parameters, once: a request_uri cannot be used twice, nor by another client."""
        if not request_uri.startswith(PAR_URN_PREFIX):
            return None
        key = digest(request_uri[len(PAR_URN_PREFIX) :])
        now = self._clock()
        with self._db.session() as s:
            row = s.scalar(select(PushedRequest).where(PushedRequest.digest == key))
            if row is None or row.client_id != client_id or row.expires_at <= now:
                return None
            claimed = s.execute(
                update(PushedRequest)
                .where(PushedRequest.id == row.id, PushedRequest.used_at.is_(None))
                .values(used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return PushedAuthorization(dict(row.params), row.dpop_jkt)
