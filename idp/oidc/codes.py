"""Authorization codes: stored as digests, redeemed once; a replayed code revokes the grant it produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from antin.kernel.audit import AuditEvent
from antin.kernel.audit.carried import CarriedEntry, Written
from antin.kernel.database import Database, table_of
from idp.oidc import login_driver
from idp.oidc.grants import epoch
from idp.oidc.models import AuthorizationCode, Interaction
from idp.oidc.random_secrets import digest, new_secret
from idp.oidc.revocation import revoke_grant_rows
from idp.oidc.sessions import StartingSession
from idp.oidc.token_driver import claim_code

__all__ = ["AuthorizationCodes", "CodeRequest", "CodeView"]

_CODES = table_of(AuthorizationCode)
# built once rather than the ORM's unit of work: this runs for every code redeemed
_CLAIM_CODE = (
    update(_CODES)
    .where(
        _CODES.c.digest == bindparam("code_digest"),
        _CODES.c.client_id == bindparam("code_client"),
        _CODES.c.used_at.is_(None),
    )
    .values(used_at=bindparam("used_at_now", type_=_CODES.c.used_at.type))
    .returning(*_CODES.c)
)


@dataclass(frozen=True)
class CodeRequest:
    """Everything an authorization code carries to the token endpoint."""

    client_id: str
    subject: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]
    sid: str | None
    claims: dict[str, Any] | None
    resources: tuple[str, ...]
    dpop_jkt: str | None = None  # RFC 9449 §10: the code is redeemed only with a DPoP proof of this key

    @classmethod
    def from_row(cls, row: Any) -> CodeRequest:
        """From an ``oidc_authorization_code`` row (an ORM object or a Core row: the same column names)."""
        return cls(
            client_id=row.client_id,
            subject=row.subject,
            redirect_uri=row.redirect_uri,
            scope=row.scope,
            nonce=row.nonce,
            code_challenge=row.code_challenge,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=tuple(row.amr),
            sid=row.sid,
            claims=row.claims,
            resources=tuple(row.resources),
            dpop_jkt=row.dpop_jkt,
        )


@dataclass(frozen=True)
class CodeView:
    """An authorization code as authlib's grant and PKCE extension read it."""

    id: int
    request: CodeRequest
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str:
        return self.request.redirect_uri

    def get_scope(self) -> str:
        return self.request.scope

    def get_nonce(self) -> str | None:
        return self.request.nonce

    def get_auth_time(self) -> int:
        return epoch(self.request.auth_time)


class AuthorizationCodes:
    def __init__(self, database: Database, *, ttl_seconds: int, clock: Callable[[], datetime]) -> None:
        self._db = database
        self.ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock

    def create(self, req: CodeRequest) -> str:
        code, row = self._new(req)
        if self._db.driver is not None:  # PostgreSQL: on psycopg directly (idp/oidc/login_driver.py)
            login_driver.insert_code(self._db.driver, row)
            return code
        with self._db.one_write() as conn:
            conn.execute(insert(AuthorizationCode).values(row))
        return code

    def create_taking_interaction(
        self, req: CodeRequest, iid: str, browser_token: str, *, starting: StartingSession | None = None
    ) -> str | None:
        """A code, written only if this browser's unexpired interaction ``iid`` is there to take (it is deleted with
        it, atomically: one code per interaction). None, and nothing written, when another request took it first.
        ``starting``: the sign-in's new SSO session, not yet written (only on PostgreSQL's driver:
        :attr:`SessionService.carries_start`); the same statement writes it and its audit entry, whether or not the
        interaction was there, as its own statement did."""
        code, row = self._new(req)
        driver = self._db.driver
        if driver is not None and starting is not None and not starting.written:
            taking = digest(browser_token)

            def write(entry: CarriedEntry) -> tuple[bool, Written]:
                return login_driver.insert_session_and_code_taking_interaction(
                    driver, starting.row, row, iid, taking, entry
                )

            coded = starting.audit.record_in(write, AuditEvent.SESSION_START, carries_held=True, **starting.entry)
            starting.written = True
            return code if coded else None
        if starting is not None and not starting.written:
            raise ValueError("a new session is carried by the code's statement only on PostgreSQL's driver")
        if self._db.driver is not None:  # PostgreSQL: one statement (idp/oidc/login_driver.py)
            taken = login_driver.insert_code_taking_interaction(self._db.driver, row, iid, digest(browser_token))
            return code if taken else None
        with self._db.transaction() as conn:
            took = conn.execute(
                delete(Interaction).where(
                    Interaction.id == iid,
                    Interaction.browser_digest == digest(browser_token),
                    Interaction.expires_at >= row["created_at"],
                )
            )
            if took.rowcount != 1:
                return None
            conn.execute(insert(AuthorizationCode).values(row))
        return code

    def _new(self, req: CodeRequest) -> tuple[str, dict[str, Any]]:
        """A new code and its row."""
        code = new_secret()
        now = self._clock()
        row = {
            "digest": digest(code),
            "client_id": req.client_id,
            "subject": req.subject,
            "redirect_uri": req.redirect_uri,
            "scope": req.scope,
            "nonce": req.nonce,
            "code_challenge": req.code_challenge,
            "code_challenge_method": "S256",
            "auth_time": req.auth_time,
            "acr": req.acr,
            "amr": list(req.amr),
            "sid": req.sid,
            "claims": req.claims,
            "resources": list(req.resources),
            "dpop_jkt": req.dpop_jkt,
            "created_at": now,
            "expires_at": now + self.ttl,
        }
        return code, row

    def redeem(self, code: str, client_id: str) -> tuple[CodeView | None, str]:
        """Claim a code for its one use. Returns (code, "") or (None, why); a replay revokes its grant."""
        now = self._clock()
        # the usual case in one statement: claim an unused code of this client
        row: Any
        driver = self._db.driver  # on PostgreSQL without SQLAlchemy (idp.oidc.token_driver)
        if driver is not None:
            row = claim_code(driver, digest(code), client_id, now)
        else:
            with self._db.one_write() as conn:
                row = conn.execute(
                    _CLAIM_CODE, {"code_digest": digest(code), "code_client": client_id, "used_at_now": now}
                ).first()
        if row is None:  # why not: read it, and revoke what a replayed code was redeemed for
            with self._db.session() as s:
                known = s.scalar(select(AuthorizationCode).where(AuthorizationCode.digest == digest(code)))
                if known is None:
                    return None, "unknown code"
                if known.client_id != client_id:
                    return None, "code issued to another client"
                if known.grant_id is not None:
                    revoke_grant_rows(s, known.grant_id, "code replayed", self._clock())
                return None, "code replayed"
        if row.expires_at <= now:
            return None, "code expired"
        return CodeView(row.id, CodeRequest.from_row(row), row.code_challenge, row.code_challenge_method), ""
