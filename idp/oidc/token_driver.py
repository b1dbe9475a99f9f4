"""The token endpoint's hot statements as SQL text on the PostgreSQL driver (:class:`antin.kernel.driver.Driver`):
a token and its grant read by ``lookup``, a refresh token with its grant and SSO session, a new grant with its
tokens (the code grant with its code linked and its SSO session joined), a refresh rotation with its successors,
an authorization code claimed for its one use, and the audit entry alone of a client_credentials grant (whose
token is stored nowhere: :mod:`idp.oidc.machine_tokens`).

Each is the same single statement :mod:`idp.oidc.token_store`, :mod:`idp.oidc.token_lookup` and
:mod:`idp.oidc.codes` build with SQLAlchemy Core for SQLite, written out once here so that a token operation
pays psycopg's cost per statement and not SQLAlchemy's as well (docs/benchmarks.md, "On the driver"). The checks
stay where they were: these functions only read and write rows. JSON columns are written as SQLAlchemy's ``JSON``
type writes them (``None`` as JSON ``null``); the connections run in UTC, so times come back as SQLAlchemy's
``UtcDateTime`` returns them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from antin.kernel.audit.carried import CarriedEntry, Written, audit_parts, head_unchanged
from antin.kernel.driver import Driver, json_param

__all__ = [
    "GrantIds",
    "claim_code",
    "insert_audited_grant",
    "insert_grant",
    "refresh_with_grant",
    "rotate",
    "rotate_audited",
    "rotate_by_lookup",
    "token_with_grant",
    "write_entry",
]

_TOKEN_COLUMNS = (
    "t.id, t.grant_id, t.kind, t.scope, t.audience, t.dpop_jkt, t.created_at, t.expires_at, t.revoked_at,"
    " t.rotated_at, g.client_id, g.subject, g.sid, g.acr, g.auth_time, g.claims, g.revoked_at AS grant_revoked_at"
)
TOKEN_WITH_GRANT = (
    f"SELECT {_TOKEN_COLUMNS} FROM oidc_token t JOIN oidc_grant g ON t.grant_id = g.id"  # noqa: S608 (constant)
    " WHERE t.lookup = %(lookup)s"
)
# a refresh token also needs what its grant's context is made of, and whether its SSO session still lives
REFRESH_WITH_GRANT = (
    f"SELECT {_TOKEN_COLUMNS}, g.scope AS grant_scope, g.amr, g.resources,"  # noqa: S608 (constant)
    " s.ended_at AS session_ended_at, s.expires_at AS session_expires_at"
    " FROM oidc_token t JOIN oidc_grant g ON t.grant_id = g.id LEFT OUTER JOIN oidc_sso_session s ON s.sid = g.sid"
    " WHERE t.lookup = %(lookup)s"
)
CLAIM_CODE = (
    "UPDATE oidc_authorization_code SET used_at = %(now)s::timestamptz"
    " WHERE digest = %(digest)s AND client_id = %(client_id)s AND used_at IS NULL"
    " RETURNING id, client_id, subject, redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time,"
    " acr, amr, sid, claims, resources, dpop_jkt, expires_at"
)

# each token row besides its grant_id, with its SQL type: the UNION ALL's parameters carry no column to infer from
_TOKEN_FIELDS = (
    ("kind", "varchar"),
    ("lookup", "varchar"),
    ("scope", "text"),
    ("audience", "json"),
    ("dpop_jkt", "varchar"),
    ("created_at", "timestamptz"),
    ("expires_at", "timestamptz"),
)
_TOKEN_JSON = frozenset({"audience"})
_GRANT_FIELDS = (
    ("client_id", "varchar"),
    ("subject", "varchar"),
    ("scope", "text"),
    ("sid", "varchar"),
    ("auth_time", "timestamptz"),
    ("acr", "varchar"),
    ("amr", "json"),
    ("claims", "json"),
    ("resources", "json"),
    ("created_at", "timestamptz"),
)
_GRANT_JSON = frozenset({"amr", "claims", "resources"})


def _token_rows(source: str, column: str, count: int) -> str:
    """``SELECT source.column, %(kind_0)s::varchar, … FROM source`` once per token, joined with UNION ALL (the
    text is made of this module's constants only, never of a value)."""
    return " UNION ALL ".join(
        f"SELECT {source}.{column}, "  # noqa: S608
        + ", ".join(f"%({name}_{i})s::{sql_type}" for name, sql_type in _TOKEN_FIELDS)
        + f" FROM {source}"
        for i in range(count)
    )


_TOKEN_INSERT = "INSERT INTO oidc_token (grant_id, " + ", ".join(name for name, _ in _TOKEN_FIELDS) + ") "


@cache
def grant_with_tokens(count: int, link_code: bool, join_session: bool, audited: bool = False) -> str:
    """One statement: a new grant and its ``count`` tokens; with ``link_code`` the code that led to it is linked to
    it, with ``join_session`` its client joins its SSO session (data-modifying ``WITH`` parts the final ``INSERT``
    does not read: PostgreSQL runs them exactly once all the same, within the one atomic statement).

    ``audited``: the statement also writes its audit entry (:mod:`antin.kernel.audit.carried`); the grant, given
    its id (``%(grant_id)s``, reserved by :class:`GrantIds`: the entry names it), is inserted only from the moved
    audit head, so that with the head not where its writer left it nothing at all is written."""
    columns = ", ".join(name for name, _ in _GRANT_FIELDS)
    values = ", ".join(f"%(grant_{name})s::{sql_type}" for name, sql_type in _GRANT_FIELDS)
    if audited:
        parts = [
            audit_parts(),
            f"new_grant AS (INSERT INTO oidc_grant (id, {columns}) SELECT %(grant_id)s::integer, {values}"  # noqa: S608
            " FROM audit_moved RETURNING id)",
        ]
    else:
        parts = [f"new_grant AS (INSERT INTO oidc_grant ({columns}) VALUES ({values}) RETURNING id)"]  # noqa: S608
    if link_code:
        parts.append(
            "linked AS (UPDATE oidc_authorization_code SET grant_id = (SELECT id FROM new_grant)"
            " WHERE id = %(code_id)s AND EXISTS (SELECT 1 FROM new_grant))"
        )
    if join_session:
        # the client takes part in the SSO session: it gets a logout token when the session ends
        parts.append(
            "joined AS (INSERT INTO oidc_session_client (session_id, client_id, first_at)"
            " SELECT s.id, %(grant_client_id)s::varchar, %(grant_created_at)s::timestamptz FROM oidc_sso_session s"
            " WHERE s.sid = %(grant_sid)s::varchar AND EXISTS (SELECT 1 FROM new_grant) AND NOT EXISTS (SELECT 1"
            " FROM oidc_session_client c WHERE c.session_id = s.id AND c.client_id = %(grant_client_id)s::varchar))"
        )
    if count == 0:  # a code grant without a refresh token: its access token has no row (idp.oidc.user_tokens)
        return f"WITH {', '.join(parts)} SELECT id AS grant_id FROM new_grant"  # noqa: S608 (constants)
    return f"WITH {', '.join(parts)} {_TOKEN_INSERT}{_token_rows('new_grant', 'id', count)} RETURNING grant_id"


@cache
def rotation_with_tokens(count: int) -> str:
    """One statement: mark a refresh token rotated, if nobody did, and insert its successors."""
    rotated = (
        "rotated AS (UPDATE oidc_token SET rotated_at = %(now)s::timestamptz"
        " WHERE id = %(rotated_from)s AND rotated_at IS NULL RETURNING grant_id)"
    )
    return f"WITH {rotated} {_TOKEN_INSERT}{_token_rows('rotated', 'grant_id', count)} RETURNING 1"


@cache
def audited_rotation_with_tokens(count: int) -> str:
    """:func:`rotation_with_tokens` with its audit entry: the refresh's when the token was rotated here, the
    reuse's (its alternative) when another request had rotated it; nothing at all with the audit head moved. The
    one row says how many entries (0 or 1) and rotations were written."""
    rotated = (
        "rotated AS (UPDATE oidc_token SET rotated_at = %(now)s::timestamptz"  # noqa: S608 (constants)
        f" WHERE id = %(rotated_from)s AND rotated_at IS NULL AND {head_unchanged()} RETURNING grant_id)"
    )
    successors = f"successors AS ({_TOKEN_INSERT}{_token_rows('rotated', 'grant_id', count)})"
    audit = audit_parts("EXISTS (SELECT 1 FROM rotated)")
    return (
        f"WITH {rotated}, {successors}, {audit}"  # noqa: S608 (constants)
        " SELECT (SELECT count(*) FROM audit_entry) AS entries, (SELECT count(*) FROM rotated) AS rotations"
    )


@cache
def rotation_by_lookup(count: int) -> str:
    """One statement for a whole refresh whose token carried its grant's context (:mod:`idp.oidc.refresh_tokens`):
    the token found by its digest is marked rotated only if it is still live — a refresh token of this client, of
    the grant and subject it names, not rotated, revoked or expired, bound to no DPoP key, its grant not revoked, its
    SSO session (if any) neither ended nor expired: what :meth:`TokenLookup.find_refresh` and
    :func:`idp.oidc.token_grants.refreshed_token` check — and its successors and the audit entry are written with it;
    otherwise nothing at all. The one row says whether it rotated and whether the audit head was where its writer
    left it (the snapshot is the statement's: only this writer moves its head)."""
    rotated = (
        "rotated AS (UPDATE oidc_token t SET rotated_at = %(now)s::timestamptz"  # noqa: S608 (constants)
        " FROM oidc_grant g LEFT OUTER JOIN oidc_sso_session s ON s.sid = g.sid"
        " WHERE t.lookup = %(lookup)s::varchar AND g.id = t.grant_id AND t.grant_id = %(grant_id)s::integer"
        " AND t.kind = 'refresh' AND g.client_id = %(client_id)s::varchar"
        " AND g.subject IS NOT DISTINCT FROM %(subject)s::varchar"
        " AND t.rotated_at IS NULL AND t.revoked_at IS NULL AND g.revoked_at IS NULL"
        " AND t.expires_at > %(now)s::timestamptz AND t.dpop_jkt IS NULL"
        " AND (g.sid IS NULL OR (s.ended_at IS NULL AND s.expires_at > %(now)s::timestamptz))"
        f" AND {head_unchanged()} RETURNING t.grant_id)"
    )
    successors = f"successors AS ({_TOKEN_INSERT}{_token_rows('rotated', 'grant_id', count)})"
    audit = audit_parts(only_when="EXISTS (SELECT 1 FROM rotated)")
    return (
        f"WITH {rotated}, {successors}, {audit}"  # noqa: S608 (constants)
        " SELECT (SELECT count(*) FROM audit_entry) AS entries, (SELECT count(*) FROM rotated) AS rotations,"
        f" {head_unchanged()} AS head_here"
    )


# an operation that writes nothing but its audit entry (a machine token: idp.oidc.machine_tokens)
ENTRY_ONLY = f"WITH {audit_parts()} SELECT count(*) AS entries FROM audit_entry"  # noqa: S608 (constants)


class GrantIds:
    """Grant ids drawn from the table's own sequence a block at a time, so that a grant's audit entry can name its
    grant before the statement that writes both runs (one ``nextval`` round trip per ``block`` grants; a forked
    worker draws its own)."""

    def __init__(self, block: int = 64) -> None:
        self._block = block
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._pid = os.getpid()

    def next(self, driver: Driver) -> int:
        with self._lock:
            if self._pid != os.getpid():
                self._ids, self._pid = [], os.getpid()
            if not self._ids:
                rows = driver.all(_RESERVE_GRANT_IDS, {"count": self._block})
                self._ids = sorted((int(row[0]) for row in rows), reverse=True)
            return self._ids.pop()

    def forget(self) -> None:
        """Drop the ids drawn: after a failed statement (a failover may have given the new primary a sequence
        behind the ids this process drew from the old one), the next grant draws afresh."""
        with self._lock:
            self._ids = []


_RESERVE_GRANT_IDS = (
    "SELECT nextval(pg_get_serial_sequence('oidc_grant', 'id')) FROM generate_series(1, %(count)s::integer)"
)


def _token_params(tokens: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        f"{name}_{i}": json_param(token[name]) if name in _TOKEN_JSON else token[name]
        for i, token in enumerate(tokens)
        for name, _type in _TOKEN_FIELDS
    }


def token_with_grant(driver: Driver, lookup: str) -> Any:
    """A token (by ``jti`` or digest) and its grant's columns, or None."""
    return driver.first(TOKEN_WITH_GRANT, {"lookup": lookup})


def refresh_with_grant(driver: Driver, lookup: str) -> Any:
    """A token with its grant's context and its SSO session's end and expiry, or None."""
    return driver.first(REFRESH_WITH_GRANT, {"lookup": lookup})


def claim_code(driver: Driver, code_digest: str, client_id: str, now: datetime) -> Any:
    """The unused code of this client with this digest, now marked used; None when there is none."""
    return driver.first(CLAIM_CODE, {"digest": code_digest, "client_id": client_id, "now": now})


def _grant_params(grant: Mapping[str, Any], tokens: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    params = {
        f"grant_{name}": json_param(grant[name]) if name in _GRANT_JSON else grant[name]
        for name, _type in _GRANT_FIELDS
    }
    params.update(_token_params(tokens))
    return params


def insert_grant(
    driver: Driver,
    grant: Mapping[str, Any],
    tokens: Sequence[Mapping[str, Any]],
    *,
    code_id: int | None,
    join_session: bool,
) -> int:
    """Insert a grant (its columns) and its tokens, link ``code_id``, join the grant's own SSO session. Returns the
    grant's id."""
    params = _grant_params(grant, tokens)
    if code_id is not None:
        params["code_id"] = code_id
    row = driver.first(grant_with_tokens(len(tokens), code_id is not None, join_session), params)
    assert row is not None  # one row per token inserted (or the grant's own), each naming the new grant
    return int(row[0])


def insert_audited_grant(
    driver: Driver,
    grant_id: int,
    grant: Mapping[str, Any],
    tokens: Sequence[Mapping[str, Any]],
    entry: CarriedEntry,
    *,
    code_id: int | None,
    join_session: bool,
) -> Written:
    """:func:`insert_grant` with the id ``grant_id`` and its audit ``entry``, in one statement: both or nothing."""
    params = {**_grant_params(grant, tokens), **entry.params, "grant_id": grant_id}
    if code_id is not None:
        params["code_id"] = code_id
    statement = grant_with_tokens(len(tokens), code_id is not None, join_session, audited=True)
    return Written.ENTRY if driver.first(statement, params) is not None else Written.NOTHING


def rotate(driver: Driver, rotated_from: int, tokens: Sequence[Mapping[str, Any]], now: datetime) -> bool:
    """Mark ``rotated_from`` rotated and insert its successors in the same grant; False, and nothing written, when
    it was already rotated (a reuse)."""
    params = {"rotated_from": rotated_from, "now": now, **_token_params(tokens)}
    return driver.first(rotation_with_tokens(len(tokens)), params) is not None


def rotate_audited(
    driver: Driver, rotated_from: int, tokens: Sequence[Mapping[str, Any]], now: datetime, entry: CarriedEntry
) -> Written:
    """:func:`rotate` with its audit ``entry`` (and the entry's alternative, a reuse) in one statement: the entry
    with the rotation, the alternative when the token was already rotated, nothing when the audit head moved."""
    params = {"rotated_from": rotated_from, "now": now, **_token_params(tokens), **entry.params}
    row = driver.first(audited_rotation_with_tokens(len(tokens)), params)
    if row is None or row.entries == 0:
        return Written.NOTHING
    return Written.ENTRY if row.rotations else Written.ALTERNATIVE


def rotate_by_lookup(
    driver: Driver,
    lookup: str,
    carried: Mapping[str, Any],
    tokens: Sequence[Mapping[str, Any]],
    now: datetime,
    entry: CarriedEntry,
) -> bool | None:
    """:func:`rotation_by_lookup`: True when the token was rotated (its successors and ``entry`` written with it),
    False when it was not live (nothing written), None when the audit head had moved (nothing written: the
    statement runs again). ``carried`` holds what the token says of its grant: ``grant_id``, ``client_id`` and
    ``subject``."""
    params = {"lookup": lookup, "now": now, **carried, **_token_params(tokens), **entry.params}
    row = driver.first(rotation_by_lookup(len(tokens)), params)
    assert row is not None  # the final SELECT has no FROM: always one row
    if row.rotations:
        return True
    return False if row.head_here else None


def write_entry(driver: Driver, entry: CarriedEntry) -> Written:
    """The audit ``entry`` alone, in one statement (nothing written when the audit head moved)."""
    return Written.ENTRY if driver.count(ENTRY_ONLY, entry.params) else Written.NOTHING
