"""An audit entry written by the very statement that does what it records (PostgreSQL, on the driver).

A token operation's own write (a grant and its tokens, a refresh rotation: ``idp.oidc.token_driver``) takes two
more data-modifying ``WITH`` parts: one moves this writer's head from where the writer left it, the other inserts
the entry, selected from the moved head. One statement is atomic, so the operation and its entry are committed
together or not at all: no token without its audit entry, by construction, and no append of its own to pay for
(issue 13: with one thread per worker there is nobody to share a group commit with).

The chain's arithmetic is unchanged: the appender (:meth:`AuditLog.record_in`) places the entry at its writer's
next position and computes its hash and the head's seal in Python before the statement runs, exactly as for any
other append. A head that is not where the writer left it (an earlier commit whose answer was lost) makes the
statement write nothing at all; the appender reads the head again and the statement runs again.

When the statement may turn out to do something else than planned (a refresh token rotated meanwhile by another
request: a reuse), the entry has an *alternative* at the same position, and a condition in SQL chooses which of
the two is written, with the head sealed over the one chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

__all__ = ["ENTRY_COLUMNS", "CarriedEntry", "Written", "audit_parts", "head_unchanged"]

# the columns an entry is written with (``seq`` is the database's); parameters are ``audit_<column>``
ENTRY_COLUMNS = (
    ("writer", "integer"),
    ("writer_seq", "bigint"),
    ("occurred_at", "timestamptz"),
    ("event", "varchar"),
    ("actor", "varchar"),
    ("subject", "varchar"),
    ("client_id", "varchar"),
    ("ip", "varchar"),
    ("details", "text"),
    ("prev_hash", "varchar"),
    ("entry_hash", "varchar"),
)
# what may differ between an entry and its alternative (the position, the time and the address never do)
_CHOSEN = frozenset({"event", "actor", "subject", "client_id", "details", "entry_hash", "seal"})


class Written(Enum):
    """What a statement carrying an entry wrote, as it tells :meth:`AuditLog.record_in`."""

    ENTRY = "entry"
    ALTERNATIVE = "alternative"
    NOTHING = "nothing"  # the head had moved: nothing at all was written, the statement runs again


@dataclass(frozen=True)
class CarriedEntry:
    """An entry placed at its writer's next position, hashed and with the head's seal, for one statement to write:
    ``params`` are its ``audit_*`` parameters (and ``audit_alt_*`` for the alternative)."""

    params: dict[str, Any]
    has_alternative: bool
    leading: int = 0  # entries held before this one (``audit_lead<i>_*``), written first by the same statement


def head_unchanged() -> str:
    """A condition true only while this writer's head is where the writer left it: a write that must not happen
    unless the entry is written too tests it (only this writer ever moves its head, so the test and the head's own
    ``UPDATE`` in the same statement cannot disagree)."""
    return "EXISTS (SELECT 1 FROM audit_head WHERE id = %(audit_writer)s AND seq = %(audit_old_seq)s)"


@cache
def audit_parts(alternative_when: str | None = None, leading: int = 0, only_when: str | None = None) -> str:
    """The two ``WITH`` parts, ``audit_moved`` (the head, moved) and ``audit_entry`` (the entry, ``RETURNING seq``);
    with ``alternative_when`` (SQL over the statement's other parts) the entry is written when it holds, its
    alternative otherwise; with ``leading``, that many entries before it (``audit_lead<i>_*``, held by
    :meth:`AuditLog.hold`) too, the head moved past them all; with ``only_when``, nothing at all unless it holds
    (the head not moved either). Made of this module's constants and the caller's constant text only."""

    def value(name: str, sql_type: str) -> str:
        if alternative_when is not None and name in _CHOSEN:
            return f"CASE WHEN {alternative_when} THEN %(audit_{name})s ELSE %(audit_alt_{name})s END::{sql_type}"
        return f"%(audit_{name})s::{sql_type}"

    moved = (
        "audit_moved AS (UPDATE audit_head SET seq = %(audit_writer_seq)s, entry_hash = "  # noqa: S608 (constants)
        + value("entry_hash", "varchar")
        + ", seal = "
        + value("seal", "varchar")
        + " WHERE id = %(audit_writer)s AND seq = %(audit_old_seq)s"
        + (f" AND {only_when}" if only_when is not None else "")
        + " RETURNING id)"
    )
    columns = ", ".join(name for name, _ in ENTRY_COLUMNS)
    values = ", ".join(value(name, sql_type) for name, sql_type in ENTRY_COLUMNS)
    rows = [
        ", ".join(f"%(audit_lead{i}_{name})s::{sql_type}" for name, sql_type in ENTRY_COLUMNS) for i in range(leading)
    ]
    selects = " UNION ALL ".join(f"SELECT {row} FROM audit_moved" for row in (*rows, values))  # noqa: S608
    entry = f"audit_entry AS (INSERT INTO audit_log ({columns}) {selects} RETURNING seq)"
    return f"{moved}, {entry}"
