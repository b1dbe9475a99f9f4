"""The hash-chained audit log: every security event, appended, verifiable with ``antin audit verify``."""

from antin.kernel.audit.events import AuditEvent
from antin.kernel.audit.service import AuditLog, ChainBreak, VerifyResult

__all__ = ["AuditEvent", "AuditLog", "ChainBreak", "VerifyResult"]
