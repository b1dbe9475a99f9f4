"""Recording the provider's security events in the platform's hash-chained audit log (``instance.audit``)."""

from __future__ import annotations

from typing import Any

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance

__all__ = ["Auditor"]


class Auditor:
    """``record("oauth:token:issue", ...)``: event names are :class:`AuditEvent` values."""

    def __init__(self, instance: Instance) -> None:
        self._instance = instance

    def record(
        self,
        event: str,
        *,
        actor: str | None = None,
        subject: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._instance.audit.record(
            AuditEvent(event), actor=actor, subject=subject, client_id=client_id, ip=ip, details=details or {}
        )

    def hold(self, event: str, *, actor: str | None = None, subject: str | None = None, ip: str | None = None) -> None:
        """``record``, written with this request's next entry when the view holds them (``AuditLog.hold``)."""
        self._instance.audit.hold(AuditEvent(event), actor=actor, subject=subject, ip=ip)
