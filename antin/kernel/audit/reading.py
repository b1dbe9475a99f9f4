"""Reading the audit log back: the newest entries first, filtered (``antin audit list``, the admin's search)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from antin.kernel.audit.chain import as_utc
from antin.kernel.audit.models import AuditEntry
from antin.kernel.database import Database

__all__ = ["AuditRecord", "read_entries"]


@dataclass(frozen=True)
class AuditRecord:
    """One entry as read back: what ``antin audit list`` shows."""

    seq: int
    occurred_at: datetime
    event: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    details: dict[str, Any]


def read_entries(
    database: Database,
    *,
    event: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> Iterator[AuditRecord]:
    """The newest entries first, filtered."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if event:
        query = query.where(AuditEntry.event == event)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if since:
        query = query.where(AuditEntry.occurred_at >= since)
    with database.session() as session:
        rows = list(session.scalars(query))
    for row in rows:
        yield AuditRecord(
            seq=row.seq,
            occurred_at=as_utc(row.occurred_at),
            event=row.event,
            actor=row.actor,
            subject=row.subject,
            client_id=row.client_id,
            ip=row.ip,
            details=json.loads(row.details),
        )
