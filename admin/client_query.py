"""The SQL behind one page of ``/api/admin/clients``: the caller's units, ``q``, the cursor and the order are the
database's work, so a page reads its own rows (and one more, to know whether another page follows), not every
registered client.

``q`` matches the client's name folded as :func:`admin.officials.fold` folds it (lower case, without Vietnamese
diacritics) or its client_id in lower case. SQLite is given that very function (a deterministic SQL function on
the connection); PostgreSQL folds with ``translate`` over the accented Latin letters, the same table Python's
folding gives them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from admin.models import ROOT_UNIT
from admin.officials import fold
from directory.models import Unit
from directory.service import LdapDirectory
from idp.oidc.clients import ClientRecord
from idp.oidc.models import Client

__all__ = ["SQL_FOLD", "clients_after", "unbound_clients", "units_reached"]

SQL_FOLD = "antin_fold"  # the SQL function SQLite is given


def _fold_table() -> tuple[str, str]:
    """Each accented Latin letter Python folds to one other letter, and the combining marks (dropped), for
    PostgreSQL's ``translate(text, from, to)``: characters of ``from`` beyond the length of ``to`` are deleted."""
    letters = [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
    pairs = [(chr(c), fold(chr(c))) for c in letters]
    kept = [(c, f) for c, f in pairs if f != c and len(f) == 1]
    marks = "".join(chr(c) for c in range(0x300, 0x370) if unicodedata.category(chr(c)) == "Mn")
    return "".join(c for c, _ in kept) + marks, "".join(f for _, f in kept)


_FROM, _TO = _fold_table()


def _folded(column: InstrumentedAttribute[str], dialect: str) -> ColumnElement[str]:
    if dialect == "sqlite":
        return getattr(func, SQL_FOLD)(column)  # type: ignore[no-any-return]
    return func.translate(func.lower(column), _FROM, _TO)


def _sqlite_functions(session: Session) -> None:
    """Give this connection :func:`fold` (cheap, and idempotent: pooled connections come and go)."""
    connection = session.connection().connection.driver_connection
    assert connection is not None  # a checked-out connection has its driver's
    connection.create_function(SQL_FOLD, 1, lambda text: None if text is None else fold(text), deterministic=True)


def clients_after(
    session: Session,
    *,
    reach: Collection[tuple[str, str]] | None,
    text: str,
    after: str,
    size: int,
) -> list[ClientRecord]:
    """Up to ``size`` clients after the client_id ``after``, by client_id: those bound to one of ``reach``'s units
    (lower-cased code, entryUUID; None: every client, the platform's and orphans too) whose folded name or
    client_id contains ``text`` (already folded)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and text:
        _sqlite_functions(session)
    statement = select(Client)
    if reach is not None:
        if not reach:
            return []
        statement = statement.where(tuple_(func.lower(Client.unit_code), Client.unit_uuid).in_(list(reach)))
    if text:
        statement = statement.where(
            or_(
                _folded(Client.name, dialect).contains(text, autoescape=True),
                func.lower(Client.client_id).contains(text, autoescape=True),
            )
        )
    # Python's order (code points): SQLite's own; PostgreSQL's only in the C collation
    client_id = Client.client_id if dialect == "sqlite" else Client.client_id.collate("C")
    if after:
        statement = statement.where(client_id > after)
    statement = statement.order_by(client_id).limit(size)
    return [ClientRecord.from_row(row) for row in session.scalars(statement)]


def units_reached(directory: LdapDirectory, held: Iterable[str]) -> list[Unit]:
    """The units ``held`` (codes of the directory's units) and every unit under them; a grant's unit deleted since
    reaches nothing."""
    units: list[Unit] = []
    for top in directory.units_by_code(held):
        units += [top, *directory.list_units(top.code)]
    return units


def unbound_clients(session: Session) -> list[ClientRecord]:
    """Clients registered before units were bound by entryUUID (none once each has been listed once)."""
    statement = select(Client).where(and_(Client.unit_uuid.is_(None), Client.unit_code != ROOT_UNIT))
    return [ClientRecord.from_row(row) for row in session.scalars(statement)]
