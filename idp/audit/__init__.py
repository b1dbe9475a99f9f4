"""The hash-chained audit log: every security event, appended, verifiable with ``antin audit verify``."""

from idp.audit.events import AuditEvent
from idp.audit.service import AuditLog, ChainBreak, VerifyResult

__all__ = ["AuditEvent", "AuditLog", "ChainBreak", "VerifyResult"]
