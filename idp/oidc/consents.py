"""Remembered consents: which scopes an official allowed a third-party client. Revocable from the account page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from antin.kernel.database import Database, utcnow
from idp.oidc.models import Consent

__all__ = ["ConsentService", "ConsentView"]


@dataclass(frozen=True)
class ConsentView:
    client_id: str
    scopes: tuple[str, ...]
    granted_at: datetime

    @classmethod
    def from_row(cls, row: Consent) -> ConsentView:
        return cls(row.client_id, tuple(row.scopes), row.granted_at)


class ConsentService:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    def covers(self, subject: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        with self._db.session() as s:
            row = s.scalar(select(Consent).where(Consent.subject == subject, Consent.client_id == client_id))
            return row is not None and set(scopes) <= set(row.scopes)

    def grant(self, subject: str, client_id: str, scopes: tuple[str, ...]) -> None:
        with self._db.session() as s:
            row = s.scalar(select(Consent).where(Consent.subject == subject, Consent.client_id == client_id))
            if row is None:
                s.add(Consent(subject=subject, client_id=client_id, scopes=sorted(set(scopes))))
            else:
                row.scopes = sorted(set(row.scopes) | set(scopes))
                row.granted_at = self._clock()

    def revoke(self, subject: str, client_id: str) -> bool:
        with self._db.session() as s:
            result = s.execute(delete(Consent).where(Consent.subject == subject, Consent.client_id == client_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def list_for(self, subject: str) -> list[ConsentView]:
        with self._db.session() as s:
            rows = s.scalars(select(Consent).where(Consent.subject == subject).order_by(Consent.granted_at)).all()
            return [ConsentView.from_row(r) for r in rows]
