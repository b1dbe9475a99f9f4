"""The boundary between the protocol and the login interaction.

The authorization endpoint validates a request, stores it as an :class:`Interaction` and sends the browser to
the interaction (``idp.login``). The interaction authenticates the official (password today; MFA steps plug in
there) and asks for consent when needed, then calls :meth:`InteractionStore.finish` with an
:class:`AuthenticationResult` and sends the browser back to ``/authorize/resume/<id>``. The protocol never sees
passwords; the interaction never sees codes or tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update

from antin.kernel.database import Database, table_of, utcnow
from idp.oidc import login_driver
from idp.oidc.models import Interaction
from idp.oidc.random_secrets import digest

__all__ = ["AuthenticationResult", "InteractionStore", "InteractionView", "Prompt"]


@dataclass(frozen=True)
class AuthenticationResult:
    """What the interaction hands back: who signed in, when, and how strongly."""

    subject: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]
    login: str = ""


@dataclass(frozen=True)
class Prompt:
    """What the interaction must do for this request."""

    login: bool  # authenticate (again)
    consent: bool  # ask the official to allow the client's scopes
    login_hint: str | None = None
    required_acr: str | None = None  # the level the login aims for (required, or wanted in acr_values)
    expected_subject: str | None = None  # from id_token_hint: only this official may sign in
    step_up: bool = False  # the SSO session's official needs only a stronger factor, not the password again
    minimum_acr: str | None = None  # the level below which the client is refused (required, not merely wanted)


@dataclass(frozen=True)
class InteractionView:
    id: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    prompt: Prompt
    ui_locales: tuple[str, ...]
    params: dict[str, Any] = field(repr=False)
    result: AuthenticationResult | None
    consented_scopes: tuple[str, ...] | None
    finished: bool

    @classmethod
    def from_row(cls, row: Interaction) -> InteractionView:
        result = None
        if row.subject and row.auth_time and row.acr is not None:
            result = AuthenticationResult(row.subject, row.auth_time, row.acr, tuple(row.amr or ()))
        consented = tuple(row.consented_scopes) if row.consented_scopes is not None else None
        return cls._of(row.id, row.client_id, row.params, result, consented, finished=row.finished_at is not None)

    @classmethod
    def new(cls, iid: str, client_id: str, params: dict[str, Any]) -> InteractionView:
        """The view of an interaction just stored by :meth:`InteractionStore.create`, without reading it back."""
        return cls._of(iid, client_id, params, None, None, finished=False)

    @classmethod
    def _of(
        cls,
        iid: str,
        client_id: str,
        p: dict[str, Any],
        result: AuthenticationResult | None,
        consented_scopes: tuple[str, ...] | None,
        *,
        finished: bool,
    ) -> InteractionView:
        prompt = p.get("_prompt", {})
        return cls(
            id=iid,
            client_id=client_id,
            client_name=p.get("_client_name", client_id),
            scopes=tuple(p.get("_scopes", ())),
            prompt=Prompt(
                login=bool(prompt.get("login")),
                consent=bool(prompt.get("consent")),
                login_hint=prompt.get("login_hint"),
                required_acr=prompt.get("required_acr"),
                expected_subject=prompt.get("expected_subject"),
                step_up=bool(prompt.get("step_up")),
                minimum_acr=prompt.get("minimum_acr"),
            ),
            ui_locales=tuple(str(p.get("ui_locales") or "").split()),
            params=p,
            result=result,
            consented_scopes=consented_scopes,
            finished=finished,
        )


SWEEP_ONE_IN = 20  # expired interactions are deleted by about one creation in this many


class InteractionStore:
    def __init__(self, database: Database, *, ttl_seconds: int, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)

    def create(self, client_id: str, params: dict[str, Any], browser_token: str) -> str:
        """Store a validated request; ``browser_token`` (kept in the browser's session cookie) binds it."""
        iid = secrets.token_urlsafe(24)
        now = self._clock()
        sweep = secrets.randbelow(SWEEP_ONE_IN) == 0  # housekeeping now and then; get() ignores expired rows anyway
        if self._db.driver is not None:  # PostgreSQL: the statements on psycopg directly (idp/oidc/login_driver.py)
            row = {
                "id": iid,
                "browser_digest": digest(browser_token),
                "client_id": client_id,
                "params": params,
                "expires_at": now + self._ttl,
            }
            login_driver.insert_interaction(self._db.driver, row, now, sweep=sweep)
            return iid
        with self._db.one_write() as conn:  # two statements that need not be atomic together
            if sweep:
                conn.execute(delete(Interaction).where(Interaction.expires_at < now))
            conn.execute(
                insert(Interaction).values(
                    id=iid,
                    browser_digest=digest(browser_token),
                    client_id=client_id,
                    params=params,
                    expires_at=now + self._ttl,
                )
            )
        return iid

    def get(self, iid: str, browser_token: str | None) -> InteractionView | None:
        """The interaction, if it exists, has not expired, and belongs to this browser."""
        if not browser_token:
            return None
        if self._db.driver is not None:
            found = login_driver.interaction(self._db.driver, iid)
            return self._view_of(found, browser_token)
        with self._db.reading() as s:
            return self._view_of(s.get(Interaction, iid), browser_token)

    def _view_of(self, row: Interaction | None, browser_token: str) -> InteractionView | None:
        """The view of a row (an entity, or the driver's row of the same columns) of this browser, unexpired."""
        if row is None or row.expires_at < self._clock() or row.browser_digest != digest(browser_token):
            return None
        return InteractionView.from_row(row)

    def take_finished(self, iid: str, browser_token: str | None) -> InteractionView | None:
        """The finished interaction of this browser, for its one use: read and deleted in one statement, so that two
        resumes of it cannot both take it. None when it is not there, not this browser's, expired or unfinished
        (:meth:`get` then tells which)."""
        if not browser_token:
            return None
        now = self._clock()
        if self._db.driver is not None:
            found = login_driver.take_finished_interaction(self._db.driver, iid, digest(browser_token), now)
            return None if found is None else InteractionView.from_row(found)
        t = table_of(Interaction)
        taken = (
            delete(t)
            .where(
                t.c.id == iid,
                t.c.browser_digest == digest(browser_token),
                t.c.expires_at >= now,
                t.c.finished_at.is_not(None),
            )
            .returning(*t.c)
        )
        with self._db.one_write() as conn:
            row = conn.execute(taken).first()
        return None if row is None else InteractionView.from_row(row)  # type: ignore[arg-type]  # same columns

    def forget(self, iid: str) -> None:
        """Delete an interaction answered without a code (a refusal from the password page itself)."""
        with self._db.one_write() as conn:
            conn.execute(delete(Interaction).where(Interaction.id == iid))

    def finish(
        self, iid: str, result: AuthenticationResult | None, *, consented_scopes: tuple[str, ...] | None = None
    ) -> None:
        """Record the outcome; ``result=None`` means the official refused (access_denied)."""
        # a refusal wipes what the interaction had proven so far: resume must answer access_denied
        outcome = {
            "subject": result.subject if result else None,
            "auth_time": result.auth_time if result else None,
            "acr": result.acr if result else None,
            "amr": list(result.amr) if result else None,
            "consented_scopes": list(consented_scopes) if consented_scopes is not None else None,
        }
        if self._db.driver is not None:
            login_driver.finish_interaction(self._db.driver, iid, outcome, self._clock())
            return
        with self._db.one_write() as conn:
            conn.execute(update(Interaction).where(Interaction.id == iid).values(**outcome, finished_at=self._clock()))

    def set_result(self, iid: str, result: AuthenticationResult) -> None:
        """Record a successful authentication before consent (the interaction goes on)."""
        with self._db.session() as s:
            row = s.get(Interaction, iid)
            if row is not None:
                row.subject = result.subject
                row.auth_time = result.auth_time
                row.acr = result.acr
                row.amr = list(result.amr)

    def raise_minimum(self, iid: str, acr: str) -> None:
        """Record a level the official's policy requires beside the client's: the resume refuses below it."""
        with self._db.session() as s:
            row = s.get(Interaction, iid)
            if row is not None:
                params = dict(row.params)
                params["_prompt"] = {**params.get("_prompt", {}), "minimum_acr": acr}
                row.params = params
