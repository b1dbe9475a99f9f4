"""Recording the provider's security events in the platform's audit log.

Events are named ``area:subject:action``. When the kernel's audit log is present (``instance.audit``) they go
there; otherwise (a kernel without it) they are logged, so that nothing is silently dropped.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__all__ = ["EVENTS", "Auditor"]

log = logging.getLogger("antin.audit")

# every event this package records (also members of idp.audit.events.AuditEvent)
EVENTS = (
    "login:password:success",
    "login:password:failure",
    "login:password:throttled",
    "login:password:change",
    "oauth:token:issue",
    "oauth:token:refresh",
    "oauth:token:revoke",
    "oauth:token:reuse",
    "oauth:code:replay",
    "oauth:consent:grant",
    "oauth:consent:revoke",
    "oauth:client:create",
    "oauth:client:rotate",
    "oauth:client:disable",
    "oauth:key:rotate",
    "session:sso:start",
    "session:logout",
    "session:logout:everywhere",
)


class Auditor:
    def __init__(self, instance: Any) -> None:
        self._instance = instance
        self._enum: Any = None
        try:
            self._enum = importlib.import_module("idp.audit.events").AuditEvent
        except (ImportError, AttributeError):
            self._enum = None

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
        audit = getattr(self._instance, "audit", None)
        if audit is not None and self._enum is not None:
            try:
                member = self._enum(event)
            except ValueError:
                member = None
            if member is not None:
                audit.record(member, actor=actor, subject=subject, client_id=client_id, ip=ip, details=details or {})
                return
        log.info(
            "audit %s",
            event,
            extra={
                "event": event,
                "actor": actor,
                "subject": subject,
                "client_id": client_id,
                "ip": ip,
                "details": details or {},
            },
        )
