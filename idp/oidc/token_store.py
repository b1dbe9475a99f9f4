"""Writing what :meth:`idp.oidc.tokens.TokenService.issue` minted: the grant, its tokens, a refresh token's
rotation, in as few round trips as the database allows.

On PostgreSQL a new grant with its tokens (the code grant, which also links its code and joins the SSO session)
and a refresh rotation (the old token marked rotated, the new ones inserted) are each **one statement**: a
data-modifying ``WITH`` whose ``INSERT … SELECT`` takes its rows from the ``INSERT … RETURNING`` or the conditional
``UPDATE … RETURNING`` before it, run without a transaction of its own (a single statement is atomic). A rotation
that finds its token already rotated inserts nothing: that is a reuse, and the family is revoked. SQLite cannot put
a write in a ``WITH``: there the same writes run as separate statements in one transaction. A client_credentials
grant writes no grant or token: only its audit entry (:func:`record_machine_token`; :mod:`idp.oidc.machine_tokens`).
A user's access token has no row either (:mod:`idp.oidc.user_tokens`): a code grant writes its grant and its refresh
token (if any), a refresh its one successor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, exists, insert, literal_column, select, union_all, update

from antin.kernel.audit.carried import CarriedEntry, Written
from antin.kernel.audit.events import AuditEvent
from antin.kernel.audit.service import Alternative, AuditLog
from antin.kernel.database import Database, table_of
from antin.kernel.driver import Driver
from idp.oidc import token_driver
from idp.oidc.errors import RefreshReusedError
from idp.oidc.models import AuthorizationCode, Grant, IssuedToken, SessionClient, SsoSession
from idp.oidc.revocation import revoke_grant_rows

__all__ = [
    "GRANT_FIELDS",
    "TOKEN_FIELDS",
    "Audited",
    "RefreshNotLiveError",
    "TokenEvent",
    "record_machine_token",
    "rotate_carried",
    "store_tokens",
]

# Core statements built once rather than the ORM's unit of work: these run for every token issued.
_GRANTS = table_of(Grant)
_TOKENS = table_of(IssuedToken)
_CODES = table_of(AuthorizationCode)
_INSERT_GRANT = insert(_GRANTS).returning(_GRANTS.c.id)
_INSERT_TOKENS = insert(_TOKENS)
_SESSIONS = table_of(SsoSession)
_SESSION_CLIENTS = table_of(SessionClient)
_LINK_CODE = update(_CODES).where(_CODES.c.id == bindparam("code_id")).values(grant_id=bindparam("linked_grant"))
_ROTATE = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("rotated_from"), _TOKENS.c.rotated_at.is_(None))
    .values(rotated_at=bindparam("now", type_=_TOKENS.c.rotated_at.type))
)
# what a grant row carries, and each token row besides its grant_id
GRANT_FIELDS = ("client_id", "subject", "scope", "sid", "auth_time", "acr", "amr", "claims", "resources", "created_at")
TOKEN_FIELDS = ("kind", "lookup", "scope", "audience", "dpop_jkt", "created_at", "expires_at")


@dataclass(frozen=True)
class TokenEvent:
    """What a token operation's audit entry says (``details`` get the operation's ``grant_id``)."""

    event: str
    actor: str | None = None
    subject: str | None = None
    client_id: str | None = None
    ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Audited:
    """A token operation's audit entry, the log it goes to, and the grant ids an entry can name before its grant is
    written."""

    log: AuditLog
    event: TokenEvent
    grant_ids: token_driver.GrantIds

    def record(self, grant_id: int) -> None:
        """The entry appended on its own, after the operation (SQLite, SQLAlchemy's PostgreSQL drivers)."""
        e = self.event
        details = {**e.details, "grant_id": grant_id}
        self.log.record(
            AuditEvent(e.event), actor=e.actor, subject=e.subject, client_id=e.client_id, ip=e.ip, details=details
        )


def _rows_from(source_id: Any, count: int) -> Any:
    """``SELECT source.id, :kind_0, :lookup_0, …`` once per token row, joined with UNION ALL."""
    selects = [
        select(source_id, *(bindparam(f"{name}_{i}", type_=_TOKENS.c[name].type) for name in TOKEN_FIELDS))
        for i in range(count)
    ]
    return selects[0] if count == 1 else union_all(*selects)


def _session_join(sid: str, client_id: str, now: str) -> Insert:
    """:data:`_JOIN_SESSION` with bind parameters of the given names."""
    return insert(_SESSION_CLIENTS).from_select(
        ["session_id", "client_id", "first_at"],
        select(
            _SESSIONS.c.id,
            bindparam(client_id, type_=_SESSION_CLIENTS.c.client_id.type),
            bindparam(now, type_=_SESSION_CLIENTS.c.first_at.type),
        )
        .where(_SESSIONS.c.sid == bindparam(sid))
        .where(
            ~exists().where(
                _SESSION_CLIENTS.c.session_id == _SESSIONS.c.id, _SESSION_CLIENTS.c.client_id == bindparam(client_id)
            )
        ),
    )


_JOIN_SESSION = _session_join("sid", "client_id", "now")


@cache
def _grant_with_tokens(count: int, link_code: bool = False, join_session: bool = False) -> Insert:
    """One statement: a new grant (parameters ``grant_<column>``) and its ``count`` tokens (PostgreSQL); with
    ``link_code`` the code that led to it (``:code_id``) is linked to it, with ``join_session`` its client joins its
    SSO session. Those two are data-modifying ``WITH`` parts that the final ``INSERT`` does not read: PostgreSQL
    runs them exactly once all the same, within the one atomic statement.

    No parameter is named after a column of the code: SQLAlchemy would add it to the ``UPDATE``'s ``SET``."""
    values = {name: bindparam(f"grant_{name}", type_=_GRANTS.c[name].type) for name in GRANT_FIELDS}
    grant = insert(_GRANTS).values(values).returning(_GRANTS.c.id).cte("new_grant")
    statement = (
        insert(_TOKENS)
        .from_select(["grant_id", *TOKEN_FIELDS], _rows_from(grant.c.id, count))
        .add_cte(grant)
        .returning(_TOKENS.c.grant_id)
    )
    if link_code:
        link = update(_CODES).where(_CODES.c.id == bindparam("code_id"))
        statement = statement.add_cte(link.values(grant_id=select(grant.c.id).scalar_subquery()).cte("linked"))
    if join_session:
        statement = statement.add_cte(_session_join("grant_sid", "grant_client_id", "grant_created_at").cte("joined"))
    return statement


@cache
def _rotation_with_tokens(count: int) -> Insert:
    """One statement: mark a refresh token rotated, if nobody did, and insert its successors (PostgreSQL)."""
    rotated = _ROTATE.returning(_TOKENS.c.grant_id).cte("rotated")
    return (
        insert(_TOKENS)
        .from_select(["grant_id", *TOKEN_FIELDS], _rows_from(rotated.c.grant_id, count))
        .add_cte(rotated)
        .returning(literal_column("1"))
    )


def _token_params(tokens: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {f"{name}_{i}": token[name] for i, token in enumerate(tokens) for name in TOKEN_FIELDS}


def store_tokens(
    database: Database,
    tokens: Sequence[dict[str, Any]],
    *,
    grant: dict[str, Any],
    now: datetime,
    grant_id: int | None = None,
    new_grant_id: int | None = None,
    code_id: int | None = None,
    rotated_from: int | None = None,
    session: tuple[str, str] | None = None,
    audited: Audited | None = None,
) -> int:
    """Store the tokens (rows of :data:`TOKEN_FIELDS`) of a new grant (``grant``'s columns) or of ``grant_id``;
    mark ``rotated_from`` rotated; link ``code_id``; join ``session`` (sid, client_id); append ``audited``'s entry
    (in the same statement on PostgreSQL's driver: the tokens and their entry are written together or not at all).
    ``new_grant_id``: the new grant's id, already drawn (:class:`~idp.oidc.token_driver.GrantIds`: its refresh
    token names it), on PostgreSQL's driver with ``audited``. Returns the grant id.

    Raises :class:`RefreshReusedError`, with the grant revoked, when ``rotated_from`` was already rotated.
    """
    # the session joined is the grant's own (its sid, its client): then its parameters are the grant's
    own_session = session is None or (session[0] == grant.get("sid") and session[1] == grant.get("client_id"))
    driver = database.driver
    if driver is not None:  # PostgreSQL through psycopg: the same statements without SQLAlchemy
        if grant_id is None and rotated_from is None and own_session:
            if audited is not None:
                return _insert_audited_grant(
                    driver, grant, tokens, audited, code_id=code_id, session=session, new_id=new_grant_id
                )
            return token_driver.insert_grant(driver, grant, tokens, code_id=code_id, join_session=session is not None)
        if grant_id is not None and rotated_from is not None and code_id is None and session is None:
            # only one request may rotate a refresh token: a second one is a reuse
            if audited is not None:
                rotated = _rotate_audited(driver, grant_id, rotated_from, tokens, now, audited)
            else:
                rotated = token_driver.rotate(driver, rotated_from, tokens, now)
            if not rotated:
                _revoke_family(database, grant_id, now)
                raise RefreshReusedError(audited=audited is not None)
            return grant_id
    stored = _store_apart(
        database,
        tokens,
        grant=grant,
        now=now,
        grant_id=grant_id,
        code_id=code_id,
        rotated_from=rotated_from,
        session=session,
        own_session=own_session,
    )
    if audited is not None:
        audited.record(stored)
    return stored


def record_machine_token(log: AuditLog, event: TokenEvent, jti: str) -> None:
    """A machine token's audit entry (:mod:`idp.oidc.machine_tokens`: nothing else is written), naming its ``jti``;
    on PostgreSQL's driver one statement on a chain of its own, as a grant's; committed when this returns."""
    e = event
    details = {**e.details, "jti": jti}
    driver = log.database.driver
    if driver is None:
        event_name = AuditEvent(e.event)
        log.record(event_name, actor=e.actor, subject=e.subject, client_id=e.client_id, ip=e.ip, details=details)
        return

    def write(entry: CarriedEntry) -> tuple[None, Written]:
        return None, token_driver.write_entry(driver, entry)

    log.record_in(
        write, AuditEvent(e.event), actor=e.actor, subject=e.subject, client_id=e.client_id, ip=e.ip, details=details
    )


class RefreshNotLiveError(Exception):
    """The refresh token :func:`rotate_carried` was to rotate was not live: nothing was written."""


def rotate_carried(
    driver: Driver,
    lookup: str,
    carried: Mapping[str, Any],
    tokens: Sequence[dict[str, Any]],
    now: datetime,
    audited: Audited,
) -> None:
    """A refresh in one statement (:func:`idp.oidc.token_driver.rotate_by_lookup`): the token with this digest
    rotated if it is still live, its successors and the audit entry written with it. ``carried``: the grant's id,
    client and subject the token names (:mod:`idp.oidc.refresh_tokens`). Raises :class:`RefreshNotLiveError`,
    nothing written, when the token is not live (unknown, another client's, rotated, revoked, expired…)."""

    def write(entry: CarriedEntry) -> tuple[None, Written]:
        rotated = token_driver.rotate_by_lookup(driver, lookup, carried, tokens, now, entry)
        if rotated is None:  # the audit head had moved: run again
            return None, Written.NOTHING
        if not rotated:
            raise RefreshNotLiveError
        return None, Written.ENTRY

    e = audited.event
    details = {**e.details, "grant_id": carried["grant_id"]}
    event = AuditEvent(e.event)
    audited.log.record_in(
        write, event, actor=e.actor, subject=e.subject, client_id=e.client_id, ip=e.ip, details=details
    )


def _insert_audited_grant(
    driver: Driver,
    grant: dict[str, Any],
    tokens: Sequence[dict[str, Any]],
    audited: Audited,
    *,
    code_id: int | None,
    session: tuple[str, str] | None,
    new_id: int | None,
) -> int:
    if new_id is None:
        new_id = audited.grant_ids.next(driver)

    def write(entry: CarriedEntry) -> tuple[int, Written]:
        join = session is not None
        return new_id, token_driver.insert_audited_grant(
            driver, new_id, grant, tokens, entry, code_id=code_id, join_session=join
        )

    e = audited.event
    try:
        return audited.log.record_in(
            write,
            AuditEvent(e.event),
            actor=e.actor,
            subject=e.subject,
            client_id=e.client_id,
            ip=e.ip,
            details={**e.details, "grant_id": new_id},
        )
    except Exception:
        audited.grant_ids.forget()
        raise


def _rotate_audited(
    driver: Driver,
    grant_id: int,
    rotated_from: int,
    tokens: Sequence[dict[str, Any]],
    now: datetime,
    audited: Audited,
) -> bool:
    """The rotation with its entry; False for a reuse, whose entry (``oauth:token:reuse``) took the refresh's."""

    def write(entry: CarriedEntry) -> tuple[Written, Written]:
        written = token_driver.rotate_audited(driver, rotated_from, tokens, now, entry)
        return written, written

    e = audited.event
    reuse = Alternative(AuditEvent.OAUTH_TOKEN_REUSE, client_id=e.client_id)
    written = audited.log.record_in(
        write,
        AuditEvent(e.event),
        actor=e.actor,
        subject=e.subject,
        client_id=e.client_id,
        ip=e.ip,
        details={**e.details, "grant_id": grant_id},
        alternative=reuse,
    )
    return written is Written.ENTRY


def _store_apart(
    database: Database,
    tokens: Sequence[dict[str, Any]],
    *,
    grant: dict[str, Any],
    now: datetime,
    grant_id: int | None,
    code_id: int | None,
    rotated_from: int | None,
    session: tuple[str, str] | None,
    own_session: bool,
) -> int:
    """The writes without their audit entry: one statement on PostgreSQL, a transaction on SQLite."""
    if not database.is_sqlite and grant_id is None and rotated_from is None and tokens and own_session:
        statement = _grant_with_tokens(len(tokens), code_id is not None, session is not None)
        params = {**{f"grant_{name}": grant[name] for name in GRANT_FIELDS}, **_token_params(tokens)}
        if code_id is not None:
            params["code_id"] = code_id
        with database.autocommit() as conn:
            # one row per token inserted, each naming the new grant
            grant_ids = conn.execute(statement, params).scalars()
            return int(grant_ids.all()[0])
    one_statement = not database.is_sqlite and code_id is None and session is None
    if one_statement and grant_id is not None and rotated_from is not None:
        with database.autocommit() as conn:
            params = {"rotated_from": rotated_from, "now": now, **_token_params(tokens)}
            inserted = conn.execute(_rotation_with_tokens(len(tokens)), params).first()
        if inserted is None:  # only one request may rotate a refresh token; a second one is a reuse
            _revoke_family(database, grant_id, now)
            raise RefreshReusedError()
        return grant_id
    try:
        return _store_in_transaction(
            database,
            tokens,
            grant=grant,
            now=now,
            grant_id=grant_id,
            code_id=code_id,
            rotated_from=rotated_from,
            session=session,
        )
    except RefreshReusedError:
        # the transaction that found the reuse is rolled back: the family is revoked in a transaction of its own
        if grant_id is not None:
            _revoke_family(database, grant_id, now)
        raise


def _revoke_family(database: Database, grant_id: int, now: datetime) -> None:
    with database.session() as s:
        revoke_grant_rows(s, grant_id, "refresh token reused", now)


def _store_in_transaction(
    database: Database,
    tokens: Sequence[dict[str, Any]],
    *,
    grant: dict[str, Any],
    now: datetime,
    grant_id: int | None,
    code_id: int | None,
    rotated_from: int | None,
    session: tuple[str, str] | None,
) -> int:
    with database.session() as s:
        if grant_id is None:
            grant_id = int(s.execute(_INSERT_GRANT, grant).scalar_one())
            if code_id is not None:
                s.execute(_LINK_CODE, {"code_id": code_id, "linked_grant": grant_id})
        if session is not None:
            # the client takes part in the SSO session: it gets a logout token when the session ends
            s.execute(_JOIN_SESSION, {"sid": session[0], "client_id": session[1], "now": now})
        if rotated_from is not None:
            done = s.execute(_ROTATE, {"rotated_from": rotated_from, "now": now})
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise RefreshReusedError()  # the caller revokes the family once this transaction is rolled back
        if tokens:  # none for a code grant without a refresh token (its access token has no row)
            s.execute(_INSERT_TOKENS, [{"grant_id": grant_id, **token} for token in tokens])
        return grant_id
