"""A sign-in's hot statements as SQL text on the PostgreSQL driver (:class:`antin.kernel.driver.Driver`): the
interaction stored, read, finished and taken back by the resume; the SSO session started and read by its cookie;
the authorization code stored.

Each is the single statement :mod:`idp.oidc.interaction`, :mod:`idp.oidc.sessions` and :mod:`idp.oidc.codes`
build with SQLAlchemy Core for SQLite, written out once here so that a sign-in pays psycopg's cost per statement
and not SQLAlchemy's as well (~0.15–0.3 ms of CPU a statement: docs/benchmarks.md, "A sign-in's CPU, request by
request"). The checks stay where they were: these functions only read and write rows. JSON columns are written
as SQLAlchemy's ``JSON`` type writes them; the connections run in UTC, so times come back as SQLAlchemy's
``UtcDateTime`` returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from antin.kernel.audit.carried import CarriedEntry, Written, audit_parts
from antin.kernel.driver import Driver, json_param

__all__ = [
    "finish_interaction",
    "insert_code",
    "insert_code_taking_interaction",
    "insert_interaction",
    "insert_session_and_code_taking_interaction",
    "insert_sso_session",
    "insert_sso_session_audited",
    "interaction",
    "sso_session_by_cookie",
    "take_finished_interaction",
]

_INTERACTION_COLUMNS = (
    "id, browser_digest, client_id, params, expires_at, subject, auth_time, acr, amr, consented_scopes, finished_at"
)
INSERT_INTERACTION = (
    "INSERT INTO oidc_interaction (id, browser_digest, client_id, params, created_at, expires_at)"
    " VALUES (%(id)s, %(browser_digest)s, %(client_id)s, %(params)s, %(now)s, %(expires_at)s)"
)
SWEEP_INTERACTIONS = "DELETE FROM oidc_interaction WHERE expires_at < %(now)s"
INTERACTION = f"SELECT {_INTERACTION_COLUMNS} FROM oidc_interaction WHERE id = %(id)s"  # noqa: S608 (constant)
FINISH_INTERACTION = (
    "UPDATE oidc_interaction SET subject = %(subject)s, auth_time = %(auth_time)s, acr = %(acr)s, amr = %(amr)s,"
    " consented_scopes = %(consented_scopes)s, finished_at = %(now)s WHERE id = %(id)s"
)
# the resume's read and the interaction's single use in one statement: two resumes of one interaction cannot both
# take it
TAKE_FINISHED_INTERACTION = (
    "DELETE FROM oidc_interaction WHERE id = %(id)s AND browser_digest = %(browser_digest)s"  # noqa: S608 (constant)
    " AND expires_at >= %(now)s AND finished_at IS NOT NULL"
    f" RETURNING {_INTERACTION_COLUMNS}"
)
_SESSION_FIELDS = (
    "sid",
    "cookie_digest",
    "subject",
    "login",
    "auth_time",
    "acr",
    "amr",
    "created_at",
    "last_seen_at",
    "expires_at",
    "user_agent",
    "ip",
)
INSERT_SSO_SESSION = (
    f"INSERT INTO oidc_sso_session ({', '.join(_SESSION_FIELDS)})"  # noqa: S608 (constant)
    f" VALUES ({', '.join(f'%({name})s' for name in _SESSION_FIELDS)})"
)
_SESSION_TYPES = {
    "auth_time": "timestamptz",
    "created_at": "timestamptz",
    "last_seen_at": "timestamptz",
    "expires_at": "timestamptz",
    "amr": "json",
}
_SESSION_VALUES = ", ".join(f"%({name})s::{_SESSION_TYPES.get(name, 'varchar')}" for name in _SESSION_FIELDS)
# the session and its audit entry (session:sso:start) in one statement (antin.kernel.audit.carried): both or
# neither; nothing at all when the writer's head had moved (the appender reads it and runs the statement again)
INSERT_SSO_SESSION_AUDITED = (
    f"WITH {audit_parts()}, started AS (INSERT INTO oidc_sso_session ({', '.join(_SESSION_FIELDS)})"  # noqa: S608
    f" SELECT {_SESSION_VALUES} FROM audit_moved RETURNING id) SELECT id FROM started"
)
# the same, with the password accepted (held by the sign-in: AuditLog.hold) written before the session's entry
INSERT_SSO_SESSION_AUDITED_AFTER_ONE = INSERT_SSO_SESSION_AUDITED.replace(audit_parts(), audit_parts(leading=1), 1)
# the session and the clients it has served, in one read (the list is what a logout notifies)
SSO_SESSION_BY_COOKIE = (
    "SELECT s.id, s.sid, s.subject, s.login, s.auth_time, s.acr, s.amr, s.created_at, s.last_seen_at,"
    " s.expires_at, s.ended_at, s.user_agent, s.ip,"
    " ARRAY(SELECT c.client_id FROM oidc_session_client c WHERE c.session_id = s.id ORDER BY c.id) AS client_ids"
    " FROM oidc_sso_session s WHERE s.cookie_digest = %(cookie_digest)s"
)

_CODE_FIELDS = (
    "digest",
    "client_id",
    "subject",
    "redirect_uri",
    "scope",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "auth_time",
    "acr",
    "amr",
    "sid",
    "claims",
    "resources",
    "dpop_jkt",
    "created_at",
    "expires_at",
)
_CODE_JSON = frozenset({"amr", "claims", "resources"})
_CODE_TYPES = {"auth_time": "timestamptz", "created_at": "timestamptz", "expires_at": "timestamptz"}
INSERT_CODE = (
    f"INSERT INTO oidc_authorization_code ({', '.join(_CODE_FIELDS)})"  # noqa: S608 (constant)
    f" VALUES ({', '.join(f'%({name})s' for name in _CODE_FIELDS)})"
)
# the password page that answers the client itself: the code is written only if this browser's interaction was
# still there to take, in the same statement (its single use, as the resume's DELETE … RETURNING is; typed, as
# a SELECT's parameters have no column to take their types from)
_CODE_VALUES = ", ".join(
    f"%({name})s::{'json' if name in _CODE_JSON else _CODE_TYPES.get(name, 'varchar')}" for name in _CODE_FIELDS
)
INSERT_CODE_TAKING_INTERACTION = (
    "WITH taken AS (DELETE FROM oidc_interaction WHERE id = %(interaction_id)s"  # noqa: S608 (constant)
    " AND browser_digest = %(browser_digest)s AND expires_at >= %(created_at)s RETURNING id)"
    f" INSERT INTO oidc_authorization_code ({', '.join(_CODE_FIELDS)})"
    f" SELECT {_CODE_VALUES} FROM taken RETURNING id"
)

# the password page that completes a new sign-in: the SSO session with its audit entry (and the password's, held
# before it), the interaction taken and the code, in one statement. The interaction is taken only when the session
# was written (nothing at all when the writer's head had moved: the statement runs again); the session is written
# even when the interaction was gone (another tab answered it first), as it was by a statement of its own
_SESSION_PART = (
    f"started AS (INSERT INTO oidc_sso_session ({', '.join(_SESSION_FIELDS)})"  # noqa: S608 (constant)
    f" SELECT {_SESSION_VALUES} FROM audit_moved RETURNING id)"
)
# the code's fields that are the new session's own (its official, when and how they signed in, the session's id):
# taken from the session's parameters, not sent twice. It keeps the statement's parameters at psycopg's limit for
# caching a statement's conversion (MAX_CACHED_STATEMENT_PARAMS, 50): over it, psycopg parsed the 2.6 kB statement
# again at every sign-in (a regex over its text: ~14 % of the password POST's Python in the profile)
_SHARED_WITH_SESSION = ("subject", "auth_time", "acr", "amr", "sid")
_CODE_VALUES_PREFIXED = ", ".join(
    f"%({name if name in _SHARED_WITH_SESSION else f'code_{name}'})s"
    f"::{'json' if name in _CODE_JSON else _CODE_TYPES.get(name, 'varchar')}"
    for name in _CODE_FIELDS
)
_TAKE_AND_CODE_PARTS = (
    "taken AS (DELETE FROM oidc_interaction WHERE id = %(interaction_id)s"  # noqa: S608 (constant)
    " AND browser_digest = %(browser_digest)s AND expires_at >= %(code_created_at)s"
    " AND EXISTS (SELECT 1 FROM started) RETURNING id),"
    f" coded AS (INSERT INTO oidc_authorization_code ({', '.join(_CODE_FIELDS)})"
    f" SELECT {_CODE_VALUES_PREFIXED} FROM taken RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM started) AS started, EXISTS (SELECT 1 FROM coded) AS coded"
)


def _session_and_code_sql(leading: int) -> str:
    return f"WITH {audit_parts(leading=leading)}, {_SESSION_PART}, {_TAKE_AND_CODE_PARTS}"


INSERT_SESSION_AND_CODE_TAKING_INTERACTION = _session_and_code_sql(0)
INSERT_SESSION_AND_CODE_TAKING_INTERACTION_AFTER_ONE = _session_and_code_sql(1)


def insert_interaction(driver: Driver, row: Mapping[str, Any], now: datetime, *, sweep: bool) -> None:
    """Store an interaction (``id``, ``browser_digest``, ``client_id``, ``params``, ``expires_at``); with ``sweep``
    the expired ones are deleted first, on the same connection."""
    params = {**row, "params": json_param(row["params"]), "now": now}
    with driver.connection() as conn:
        if sweep:
            driver.execute_on(conn, SWEEP_INTERACTIONS, {"now": now})
        driver.execute_on(conn, INSERT_INTERACTION, params)


def interaction(driver: Driver, iid: str) -> Any:
    """The interaction's row, or None."""
    return driver.first(INTERACTION, {"id": iid})


def finish_interaction(driver: Driver, iid: str, outcome: Mapping[str, Any], now: datetime) -> None:
    """Record the outcome (``subject``, ``auth_time``, ``acr``, ``amr``, ``consented_scopes``) and the end."""
    params = {
        **outcome,
        "amr": json_param(outcome["amr"]),
        "consented_scopes": json_param(outcome["consented_scopes"]),
        "id": iid,
        "now": now,
    }
    driver.execute(FINISH_INTERACTION, params)


def take_finished_interaction(driver: Driver, iid: str, browser_digest: str, now: datetime) -> Any:
    """The finished, unexpired interaction of this browser, deleted as it is read; None when there is none."""
    return driver.first(TAKE_FINISHED_INTERACTION, {"id": iid, "browser_digest": browser_digest, "now": now})


def insert_sso_session(driver: Driver, row: Mapping[str, Any]) -> None:
    """Store a new SSO session (every column of ``_SESSION_FIELDS``)."""
    driver.execute(INSERT_SSO_SESSION, {**row, "amr": json_param(row["amr"])})


def insert_sso_session_audited(driver: Driver, row: Mapping[str, Any], entry: CarriedEntry) -> Written:
    """:func:`insert_sso_session` with its audit ``entry``, in one statement: both or nothing."""
    params = {**row, "amr": json_param(row["amr"]), **entry.params}
    if entry.leading == 0:
        sql = INSERT_SSO_SESSION_AUDITED
    elif entry.leading == 1:
        sql = INSERT_SSO_SESSION_AUDITED_AFTER_ONE
    else:  # not met in a sign-in; built when needed
        sql = INSERT_SSO_SESSION_AUDITED.replace(audit_parts(), audit_parts(leading=entry.leading), 1)
    return Written.ENTRY if driver.first(sql, params) is not None else Written.NOTHING


def sso_session_by_cookie(driver: Driver, cookie_digest: str) -> Any:
    """The SSO session with this cookie's digest and its clients' ids (``client_ids``), or None."""
    return driver.first(SSO_SESSION_BY_COOKIE, {"cookie_digest": cookie_digest})


def insert_code(driver: Driver, row: Mapping[str, Any]) -> None:
    """Store an authorization code (every column of ``_CODE_FIELDS``)."""
    driver.execute(
        INSERT_CODE, {name: json_param(row[name]) if name in _CODE_JSON else row[name] for name in _CODE_FIELDS}
    )


def insert_code_taking_interaction(driver: Driver, row: Mapping[str, Any], iid: str, browser_digest: str) -> bool:
    """Store an authorization code and take (delete) this browser's unexpired interaction ``iid`` in one statement;
    False, and nothing written, when the interaction was not there to take."""
    params = {name: json_param(row[name]) if name in _CODE_JSON else row[name] for name in _CODE_FIELDS}
    params.update(interaction_id=iid, browser_digest=browser_digest)
    return driver.first(INSERT_CODE_TAKING_INTERACTION, params) is not None


def insert_session_and_code_taking_interaction(
    driver: Driver,
    session_row: Mapping[str, Any],
    code_row: Mapping[str, Any],
    iid: str,
    browser_digest: str,
    entry: CarriedEntry,
) -> tuple[bool, Written]:
    """:func:`insert_sso_session_audited` and :func:`insert_code_taking_interaction` in one statement: whether the
    code was written (the interaction was there to take), and what of the audit entry."""
    for name in _SHARED_WITH_SESSION:  # one sign-in's code and session: written from the session's values
        if list(code_row[name]) != list(session_row[name]) if name == "amr" else code_row[name] != session_row[name]:
            raise ValueError(f"the code's {name} is not its new session's")
    params: dict[str, Any] = {**session_row, "amr": json_param(session_row["amr"]), **entry.params}
    params.update(
        {
            f"code_{name}": json_param(code_row[name]) if name in _CODE_JSON else code_row[name]
            for name in _CODE_FIELDS
            if name not in _SHARED_WITH_SESSION
        }
    )
    params.update(interaction_id=iid, browser_digest=browser_digest)
    if entry.leading == 0:
        sql = INSERT_SESSION_AND_CODE_TAKING_INTERACTION
    elif entry.leading == 1:
        sql = INSERT_SESSION_AND_CODE_TAKING_INTERACTION_AFTER_ONE
    else:  # not met in a sign-in; built when needed
        sql = _session_and_code_sql(entry.leading)
    row = driver.first(sql, params)
    if row is None or not row.started:
        return False, Written.NOTHING
    return bool(row.coded), Written.ENTRY
