"""One-time values (client assertion and DPoP proof ``jti``), remembered in the database until they expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from antin.kernel.database import Database, utcnow
from idp.oidc.models import UsedJti

__all__ = ["JtiStore"]


class JtiStore:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    def remember(self, kind: str, value: str, ttl_seconds: int) -> bool:
        """Record ``value``; False when it was already seen (a replay)."""
        now = self._clock()
        try:
            with self._db.session() as s:
                s.execute(delete(UsedJti).where(UsedJti.expires_at < now))
                s.add(UsedJti(kind=kind, value=value[:128], expires_at=now + timedelta(seconds=ttl_seconds)))
        except IntegrityError:
            return False
        return True
