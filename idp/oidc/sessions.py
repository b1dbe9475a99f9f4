"""Server-side SSO sessions: one per signed-in browser, with idle and absolute limits.

The browser holds a random cookie value; the database holds its digest, the public ``sid`` (put in ID tokens
and logout tokens), who signed in, when and how, and which clients received tokens in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import joinedload

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.audit.carried import CarriedEntry, Written
from antin.kernel.database import Database, utcnow
from idp.oidc import login_driver
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.models import BackchannelDelivery, SessionClient, SsoSession
from idp.oidc.random_secrets import digest, new_secret

__all__ = ["PurgeCount", "SessionService", "SessionView", "StartingSession"]

# last_seen_at is written at most this often, so that every page view is not a database write
TOUCH_EVERY = timedelta(seconds=60)
PURGE_BATCH = 5_000  # rows deleted per transaction: a purge of a million never holds one long lock


@dataclass(frozen=True)
class PurgeCount:
    sessions: int
    deliveries: int


@dataclass(frozen=True)
class SessionView:
    sid: str
    subject: str
    login: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str
    client_ids: tuple[str, ...]
    ended: bool = False

    @property
    def result(self) -> AuthenticationResult:
        return AuthenticationResult(self.subject, self.auth_time, self.acr, self.amr, self.login)

    @classmethod
    def from_row(cls, row: SsoSession) -> SessionView:
        return cls(
            sid=row.sid,
            subject=row.subject,
            login=row.login,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=tuple(row.amr),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip=row.ip,
            client_ids=tuple(c.client_id for c in row.clients),
            ended=row.ended_at is not None,
        )


class StartingSession:
    """A new SSO session made but not written yet (:meth:`SessionService.prepare`): its cookie value, the session,
    its row and its audit entry. Written by :meth:`SessionService.write`, or carried by the statement that writes
    the sign-in's code (:meth:`idp.oidc.codes.AuthorizationCodes.create_taking_interaction`): one statement less."""

    def __init__(self, cookie: str, view: SessionView, row: dict[str, Any], entry: dict[str, Any], audit: AuditLog):
        self.cookie = cookie
        self.view = view
        self.row = row
        self.entry = entry  # the keywords of its session:sso:start entry
        self.audit = audit
        self.written = False


class SessionService:
    def __init__(
        self, database: Database, *, idle_minutes: int, absolute_hours: int, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = database
        self._clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.absolute = timedelta(hours=absolute_hours)

    def start(
        self, result: AuthenticationResult, *, user_agent: str = "", ip: str = "", audit: AuditLog | None = None
    ) -> tuple[str, SessionView]:
        """A new session; returns the cookie value (shown once) and the session. With ``audit``, its entry
        ``session:sso:start`` is appended too: on PostgreSQL's driver by the statement that inserts the session."""
        cookie, view, row = self._new(result, user_agent, ip)
        if audit is not None:
            self.write(StartingSession(cookie, view, row, self._entry(view, ip), audit))
            return cookie, view
        driver = self._db.driver
        if driver is not None:  # PostgreSQL: on psycopg directly (idp/oidc/login_driver.py)
            login_driver.insert_sso_session(driver, row)
        else:
            with self._db.one_write() as conn:  # one insert: no BEGIN and COMMIT on PostgreSQL (issue 13, item 5)
                conn.execute(insert(SsoSession).values(row))
        return cookie, view

    @property
    def carries_start(self) -> bool:
        """Whether a sign-in's code statement can write a new session too (PostgreSQL's driver): see
        :meth:`prepare`."""
        return self._db.driver is not None

    def prepare(self, result: AuthenticationResult, *, user_agent: str, ip: str, audit: AuditLog) -> StartingSession:
        """A new session, audited, not written yet: :meth:`write` writes it, or the statement that writes the
        sign-in's code carries it (:attr:`carries_start`)."""
        cookie, view, row = self._new(result, user_agent, ip)
        return StartingSession(cookie, view, row, self._entry(view, ip), audit)

    def write(self, starting: StartingSession) -> None:
        """Write a prepared session and its entry ``session:sso:start`` (on PostgreSQL's driver in one statement);
        nothing if it is written already."""
        if starting.written:
            return
        driver = self._db.driver
        if driver is not None:

            def write(entry: CarriedEntry) -> tuple[None, Written]:
                return None, login_driver.insert_sso_session_audited(driver, starting.row, entry)

            starting.audit.record_in(write, AuditEvent.SESSION_START, carries_held=True, **starting.entry)
        else:
            with self._db.one_write() as conn:
                conn.execute(insert(SsoSession).values(starting.row))
            starting.audit.record(AuditEvent.SESSION_START, **starting.entry)
        starting.written = True

    def _new(self, result: AuthenticationResult, user_agent: str, ip: str) -> tuple[str, SessionView, dict[str, Any]]:
        cookie = new_secret()
        now = self._clock()
        view = SessionView(
            sid=secrets.token_urlsafe(24),
            subject=result.subject,
            login=result.login,
            auth_time=result.auth_time,
            acr=result.acr,
            amr=tuple(result.amr),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.absolute,
            user_agent=user_agent[:300],
            ip=ip[:64],
            client_ids=(),  # a new session has none yet: no query to find that out
        )
        row = {
            "sid": view.sid,
            "cookie_digest": digest(cookie),
            "subject": view.subject,
            "login": view.login,
            "auth_time": view.auth_time,
            "acr": view.acr,
            "amr": list(view.amr),
            "created_at": now,
            "last_seen_at": now,
            "expires_at": view.expires_at,
            "user_agent": view.user_agent,
            "ip": view.ip,
        }
        return cookie, view, row

    @staticmethod
    def _entry(view: SessionView, ip: str) -> dict[str, Any]:
        details = {"sid": view.sid, "acr": view.acr, "amr": list(view.amr)}
        return {"actor": view.subject, "subject": view.subject, "ip": ip, "details": details}

    def current(self, cookie: str | None) -> SessionView | None:
        """The live session of this cookie (idle and absolute limits applied), touched."""
        if not cookie:
            return None
        now = self._clock()
        found = self._by_cookie(cookie)
        if found is None:
            return None
        session_id, view = found
        if view.expires_at <= now or view.last_seen_at + self.idle <= now:
            with self._db.one_write() as conn:
                conn.execute(
                    update(SsoSession)
                    .where(SsoSession.id == session_id, SsoSession.ended_at.is_(None))
                    .values(ended_at=now)
                )
            return None
        if now - view.last_seen_at >= TOUCH_EVERY:
            with self._db.one_write() as conn:
                conn.execute(update(SsoSession).where(SsoSession.id == session_id).values(last_seen_at=now))
            view = replace(view, last_seen_at=now)
        return view

    def _by_cookie(self, cookie: str) -> tuple[int, SessionView] | None:
        """The session of this cookie that has not been ended (its row id and view), its clients with it."""
        if self._db.driver is not None:  # PostgreSQL: one statement on psycopg directly
            found = login_driver.sso_session_by_cookie(self._db.driver, digest(cookie))
            if found is None or found.ended_at is not None:
                return None
            view = SessionView(
                sid=found.sid,
                subject=found.subject,
                login=found.login,
                auth_time=found.auth_time,
                acr=found.acr,
                amr=tuple(found.amr),
                created_at=found.created_at,
                last_seen_at=found.last_seen_at,
                expires_at=found.expires_at,
                user_agent=found.user_agent,
                ip=found.ip,
                client_ids=tuple(found.client_ids),
                ended=False,
            )
            return int(found.id), view
        # a read without a transaction (no BEGIN and COMMIT: issue 13, item 5); the rare writes are one statement each
        with self._db.reading() as s:
            # from_row lists its clients: loaded with it in one joined SELECT (selectinload took a second one);
            # unique() reads every joined row, so that the list is whole
            row = (
                s.execute(
                    select(SsoSession)
                    .options(joinedload(SsoSession.clients))
                    .where(SsoSession.cookie_digest == digest(cookie))
                )
                .unique()
                .scalar_one_or_none()
            )
            if row is None or row.ended_at is not None:
                return None
            return row.id, SessionView.from_row(row)

    def reauthenticated(self, sid: str, result: AuthenticationResult) -> None:
        """The same official signed in again in this session (prompt=login, max_age, step-up)."""
        with self._db.session() as s:
            row = s.scalar(select(SsoSession).where(SsoSession.sid == sid))
            if row is not None:
                row.auth_time = result.auth_time
                row.acr = result.acr
                row.amr = list(result.amr)
                row.last_seen_at = self._clock()

    def alive(self, sid: str) -> bool:
        """The session has not been ended and has not reached its absolute limit (refresh tokens follow it)."""
        with self._db.reading() as s:
            row = s.scalar(select(SsoSession).where(SsoSession.sid == sid))
            return row is not None and row.ended_at is None and row.expires_at > self._clock()

    def end(self, sid: str) -> SessionView | None:
        """End one session; returns it (with its clients) if it was live."""
        with self._db.session() as s:
            row = s.scalar(select(SsoSession).where(SsoSession.sid == sid))
            if row is None or row.ended_at is not None:
                return None
            row.ended_at = self._clock()
            return SessionView.from_row(row)

    def live_for(self, subject: str) -> list[SessionView]:
        now = self._clock()
        with self._db.session() as s:
            rows = s.scalars(
                select(SsoSession)
                .where(SsoSession.subject == subject, SsoSession.ended_at.is_(None), SsoSession.expires_at > now)
                .order_by(SsoSession.created_at.desc())
            ).all()
            return [SessionView.from_row(r) for r in rows if r.last_seen_at + self.idle > now]

    def purge(self, older_than: timedelta) -> PurgeCount:
        """Delete sessions over for longer than ``older_than`` (ended, or past their absolute limit) with their
        clients, and logout deliveries delivered or abandoned as long ago.

        A session only idle is kept until its absolute limit: its applications' refresh tokens live until then.
        Nothing reads a purged session: ``current`` and ``alive`` refuse a missing session as an ended one, and a
        refresh token of a missing session is refused as one of an ended session. The audit log keeps the
        sign-ins and logouts.
        """
        cutoff = self._clock() - older_than
        over = or_(SsoSession.ended_at < cutoff, SsoSession.expires_at < cutoff)
        sessions = 0
        while True:
            with self._db.session() as s:
                ids = s.scalars(select(SsoSession.id).where(over).limit(PURGE_BATCH)).all()
                if not ids:
                    break
                s.execute(delete(SessionClient).where(SessionClient.session_id.in_(ids)))
                s.execute(delete(SsoSession).where(SsoSession.id.in_(ids)))
                sessions += len(ids)
        with self._db.session() as s:
            done = s.execute(
                delete(BackchannelDelivery).where(
                    or_(BackchannelDelivery.delivered_at < cutoff, BackchannelDelivery.abandoned_at < cutoff)
                )
            )
            deliveries: int = done.rowcount  # type: ignore[attr-defined]
        return PurgeCount(sessions, deliveries)
