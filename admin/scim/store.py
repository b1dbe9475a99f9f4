"""The externalId a provisioning client gives a resource (RFC 7643 §3.1), kept in SQL: LDAP has no place for it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from admin.models import ScimExternalId
from antin.kernel.database import Database

__all__ = ["ExternalIds"]


class ExternalIds:
    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, kind: str, resource_id: str) -> str | None:
        return self.many(kind, [resource_id]).get(resource_id)

    def many(self, kind: str, resource_ids: Iterable[str] | None = None) -> dict[str, str]:
        """resource id → externalId, for these ids (None: every resource of the kind)."""
        query = select(ScimExternalId.resource_id, ScimExternalId.external_id).where(
            ScimExternalId.resource_type == kind
        )
        if resource_ids is not None:
            ids = list(resource_ids)
            if not ids:
                return {}
            query = query.where(ScimExternalId.resource_id.in_(ids))
        with self.database.reading() as s:
            return {rid: ext for rid, ext in s.execute(query)}

    def holders(self, kind: str, external_id: str) -> list[str]:
        query = select(ScimExternalId.resource_id).where(
            ScimExternalId.resource_type == kind, ScimExternalId.external_id == external_id
        )
        with self.database.reading() as s:
            return list(s.scalars(query))

    def put(self, kind: str, resource_id: str, external_id: str | None) -> None:
        """Set (or with None, forget) the externalId of a resource."""
        with self.database.session() as s:
            s.execute(
                delete(ScimExternalId).where(
                    ScimExternalId.resource_type == kind, ScimExternalId.resource_id == resource_id
                )
            )
            if external_id:
                s.add(ScimExternalId(resource_type=kind, resource_id=resource_id, external_id=external_id))
