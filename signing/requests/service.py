"""A Party application's signing requests: create one (a document whose sender is the client), read its status,
its current file, cancel it; and the events its webhooks carry.

Reached with :func:`request_service`. Only the client that created a request sees it: any other gets "not found".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import select

from antin.kernel.instance import Instance
from antin.kernel.outbound import registration_problem
from directory.errors import InvalidInputError, NotFoundError
from directory.instance import directory_service
from directory.models import Person
from signing.documents.errors import UploadRefusedError
from signing.documents.groups import Planned, is_leaders_name, leaders_named
from signing.documents.models import Document, DocumentStep, DocumentVersion, RecipientKind, StepKind, StepStatus
from signing.documents.records_office import MAX_RECIPIENTS, Issuing, Recipient, records_office_of_unit
from signing.documents.service import Sender, document_service
from signing.errors import InvalidRequestError
from signing.models import aware
from signing.requests.errors import RequestFinishedError, RequestNotFoundError, UnprocessableRequestError
from signing.requests.models import SigningRequest
from signing.requests.webhooks import webhook_queue
from signing.service import signing_service

__all__ = ["MAX_SIGNERS", "RequestService", "StepAsked", "request_service"]

EXTENSION_KEY = "antin.signing.requests"
MAX_SIGNERS = 20


@dataclass(frozen=True)
class StepAsked:
    """A review or signature an application asks for: an official's login or a leaders' group (``lanh-dao-bnh``),
    and its own deadline (none: the request's)."""

    name: str
    deadline: datetime | None = None


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


class RequestService:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.documents = document_service(instance)
        self.webhooks = webhook_queue(instance)
        self.documents.listeners.append(self.on_document_event)

    # -- create ----------------------------------------------------------------------------------------

    def check_callback(self, client_id: str, url: str | None) -> None:
        if not url:
            return
        parts = urlsplit(url)
        local_http = parts.scheme == "http" and not self.instance.settings.production
        if not (parts.scheme == "https" or local_http) or not parts.hostname or len(url) > 2000:
            raise InvalidRequestError("callback_url", "must be an https URL")
        if why := registration_problem(url, self.webhooks.outbound):
            raise InvalidRequestError("callback_url", f"the platform does not call this address: {why}")
        if self.webhooks.secrets.get(client_id) is None:
            raise UnprocessableRequestError(
                "callback_url",
                f"the client has no webhook secret (antin clients webhook-secret {client_id})",
            )

    def signers(self, logins: Sequence[str], field: str = "signers") -> list[Person]:
        """The active officials with these logins, in order (``field`` names the list in errors)."""
        if not logins and field == "signers":
            raise InvalidRequestError("signers", "name at least one official's login")
        if len(logins) > MAX_SIGNERS:
            raise InvalidRequestError(field, f"at most {MAX_SIGNERS} {field}")
        if len(set(logins)) != len(logins):
            raise InvalidRequestError(field, "each official acts once: a login is named twice")
        directory = signing_service(self.instance).directory
        people = []
        for login in logins:
            person = directory.find_by_login(login) if isinstance(login, str) and login.strip() else None
            if person is None or not person.active:
                raise UnprocessableRequestError(field, f"no active official with the login {login!r}")
            people.append(person)
        return people

    def steps(self, asked: Sequence[StepAsked], field: str = "signers") -> list[Planned]:
        """The steps asked, in order: each an active official (by login) or a unit's leaders' group, with its
        deadline."""
        if not asked and field == "signers":
            raise InvalidRequestError("signers", "name at least one official's login or a leaders' group")
        if len(asked) > MAX_SIGNERS:
            raise InvalidRequestError(field, f"at most {MAX_SIGNERS} {field}")
        if len({a.name.lower() for a in asked}) != len(asked):
            raise InvalidRequestError(field, "each official or group acts once: a name is given twice")
        planned = []
        for step in asked:
            if is_leaders_name(self.instance, step.name):
                try:
                    group = leaders_named(self.instance, step.name)
                except UploadRefusedError as refused:
                    raise UnprocessableRequestError(field, refused.detail) from None
                planned.append(Planned(group, step.deadline))
            else:
                planned.append(Planned(self.signers([step.name], field)[0], step.deadline))
        return planned

    def issuing(self, seal_unit: str | None, unit_codes: Sequence[str], logins: Sequence[str]) -> Issuing | None:
        """The records office that seals and issues, with ``seal_unit``: that unit's (or the nearest above it that
        has one), issuing to the units and officials named; none without it."""
        if not seal_unit:
            if unit_codes or logins:
                raise InvalidRequestError("seal_unit", "recipients are for a request the records office issues")
            return None
        try:
            group, unit = records_office_of_unit(self.instance, seal_unit)
        except UploadRefusedError as refused:
            raise UnprocessableRequestError("seal_unit", refused.detail) from None
        if len(unit_codes) + len(logins) > MAX_RECIPIENTS or len(set(unit_codes)) != len(unit_codes):
            raise InvalidRequestError("recipient_units", f"at most {MAX_RECIPIENTS} recipients, each once")
        directory = directory_service(self.instance)
        recipients = []
        for code in unit_codes:
            try:
                found = directory.get_unit(code)
            except (NotFoundError, InvalidInputError):
                raise UnprocessableRequestError("recipient_units", f"no unit {code!r}") from None
            recipients.append(Recipient(RecipientKind.UNIT, found.code, found.name))
        for person in self.signers(logins, "recipient_officials"):
            recipients.append(Recipient(RecipientKind.OFFICIAL, person.entry_uuid, person.full_name))
        if not recipients:
            raise InvalidRequestError("recipient_units", "name the units or officials the document is issued to")
        return Issuing(group, unit, tuple(recipients))

    def create(
        self,
        client_id: str,
        client_name: str,
        stream: IO[bytes],
        *,
        file_name: str,
        title: str,
        number: str,
        signers: Sequence[StepAsked],
        callback_url: str | None,
        deadline: datetime | None,
        reviewers: Sequence[StepAsked] = (),
        seal_unit: str | None = None,
        recipient_units: Sequence[str] = (),
        recipient_officials: Sequence[str] = (),
        ip: str | None = None,
    ) -> dict[str, Any]:
        people = self.steps(signers)
        reviewing = self.steps(reviewers, "reviewers")
        self.check_callback(client_id, callback_url)
        issuing = self.issuing(seal_unit, recipient_units, recipient_officials)
        document_id = self.documents.create(
            stream,
            file_name=file_name,
            title=title,
            number=number,
            sender=Sender(f"client:{client_id}", client_name[:200], "", f"client:{client_id}"),
            signers=people,
            reviewers=reviewing,
            deadline=deadline,
            issuing=issuing,
            ip=ip,
        )
        with self.instance.database.session() as s:
            s.add(
                SigningRequest(
                    document_id=document_id,
                    client_id=client_id,
                    callback_url=callback_url or None,
                    deadline=deadline,
                    created_at=self.instance.clock.now(),
                )
            )
        return self.status(client_id, document_id)

    # -- read ------------------------------------------------------------------------------------------

    def _load(
        self, client_id: str | None, request_id: str
    ) -> tuple[SigningRequest, Document, list[DocumentStep], DocumentVersion]:
        with self.instance.database.reading() as s:
            row = s.get(SigningRequest, request_id) if len(request_id) <= 32 else None
            if row is None or (client_id is not None and row.client_id != client_id):
                raise RequestNotFoundError(f"no signing request {request_id}")
            document = s.get(Document, request_id)
            steps = list(
                s.scalars(
                    select(DocumentStep).where(DocumentStep.document_id == request_id).order_by(DocumentStep.position)
                )
            )
            current = s.scalars(
                select(DocumentVersion)
                .where(DocumentVersion.document_id == request_id)
                .order_by(DocumentVersion.number.desc())
            ).first()
            assert document is not None and current is not None
            s.expunge_all()
        return row, document, steps, current

    def _acted_by(self, step: DocumentStep) -> str | None:
        """The login of who acted on the step: its official, or the member of its group who did."""
        if not step.acted_by:
            return None
        if not step.assignee_group:
            return step.assignee_login
        person = directory_service(self.instance).find_by_uuid(step.acted_by)
        return person.uid if person is not None else None

    def status(self, client_id: str | None, request_id: str) -> dict[str, Any]:
        """The request as its client sees it (``client_id`` None: whoever's, for the webhooks)."""
        row, document, steps, current = self._load(client_id, request_id)
        shown = [_step(st) | {"acted_by": self._acted_by(st)} for st in steps]
        active = next((s for s in shown if s["status"] in (StepStatus.ACTIVE, StepStatus.SIGNING)), None)
        return {
            "id": document.id,
            "title": document.title,
            "number": document.number,
            "file_name": document.file_name,
            "pages": document.pages,
            "status": document.status,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(document.updated_at),
            "deadline": _iso(row.deadline),
            "round": max((st.round for st in steps), default=1),
            "callback_url": row.callback_url,
            "current_step": active,
            "steps": shown,
            "document": {
                "version": current.number,
                "sha256": current.sha256,
                "bytes": current.size,
                "signatures": sum(
                    1 for st in steps if st.status == StepStatus.DONE and st.kind in (StepKind.SIGN, StepKind.SEAL)
                ),
                "url": f"/api/signing/requests/{document.id}/document",
            },
        }

    def file(self, client_id: str, request_id: str) -> tuple[Path, str]:
        """The current file (signed by everyone once the request is done) and a name for it."""
        _row, document, _steps, current = self._load(client_id, request_id)
        name = Path(document.file_name).stem + ("-signed" if current.number > 1 else "") + ".pdf"
        return self.documents.root / document.id / f"v{current.number}.pdf", name

    # -- cancel ----------------------------------------------------------------------------------------

    def cancel(self, client_id: str, request_id: str, *, ip: str | None = None) -> dict[str, Any]:
        self._load(client_id, request_id)
        if not self.documents.cancel(request_id, actor=f"client:{client_id}", ip=ip):
            state = self.status(client_id, request_id)["status"]
            if state == "in_progress":  # an official's signature is being made this very moment
                raise RequestFinishedError("an official is signing it now: ask again in a moment")
            raise RequestFinishedError(f"the request is {state} already")
        return self.status(client_id, request_id)

    # -- re-send ---------------------------------------------------------------------------------------

    def resend(
        self,
        client_id: str,
        request_id: str,
        stream: IO[bytes] | None,
        *,
        file_name: str,
        note: str,
        deadline: datetime | None,
        ip: str | None = None,
    ) -> dict[str, Any]:
        """Send a rejected request again (a corrected file, or the same with a note): a new round of its steps."""
        from signing.documents.errors import ResendRefusedError
        from signing.documents.resend import resend_as
        from signing.documents.service import DocumentView

        _row, document, steps, current = self._load(client_id, request_id)
        view = DocumentView(document, tuple(steps), (current,), None)
        try:
            resend_as(
                self.documents,
                view,
                actor=f"client:{client_id}",
                actor_id=f"client:{client_id}",
                stream=stream,
                file_name=file_name,
                note=note,
                deadline=deadline,
                ip=ip,
            )
        except ResendRefusedError as err:
            if err.reason == "not-rejected":
                raise RequestFinishedError(
                    f"only a rejected request is re-sent; this one is {document.status}"
                ) from None
            raise InvalidRequestError("note", err.detail) from None
        if deadline is not None:
            with self.instance.database.session() as s:
                row = s.get(SigningRequest, request_id)
                if row is not None:
                    row.deadline = deadline
        return self.status(client_id, request_id)

    # -- events ----------------------------------------------------------------------------------------

    def on_document_event(self, document_id: str, event: str, step: DocumentStep | None) -> None:
        with self.instance.database.reading() as s:
            row = s.get(SigningRequest, document_id)
            if row is None or not row.callback_url:
                return  # an official's own document, or a request with no callback
            client_id, url = row.client_id, row.callback_url
        event_id = "evt_" + secrets.token_urlsafe(18)
        body: dict[str, Any] = {
            "id": event_id,
            "type": event,
            "created": _iso(self.instance.clock.now()),
            "request": self.status(None, document_id),
        }
        if step is not None:
            body["step"] = {"position": step.position, "kind": step.kind, "signer": step.assignee_login}
            if step.kind == StepKind.REVIEW:
                body["step"] |= {"decision": _decision(step), "comment": step.comment or None}
        self.webhooks.enqueue(client_id, url, event_id, json.dumps(body, ensure_ascii=False))


def _decision(step: DocumentStep) -> str | None:
    """A review's outcome: ``approved``, ``rejected``, or None while it is not decided."""
    return {StepStatus.DONE: "approved", StepStatus.REJECTED: "rejected"}.get(StepStatus(step.status))


def _step(step: DocumentStep) -> dict[str, Any]:
    shown = {
        "position": step.position,
        "kind": step.kind,
        "signer": step.assignee_login,  # the official whose step it is (a reviewer's too); "" for a group's
        "group": step.assignee_group,  # a unit's leaders, its records office: any member working in `unit` acts
        "unit": step.assignee_unit,
        "name": step.assignee_name,
        "status": step.status,
        "deadline": _iso(step.deadline),
        "round": step.round,
        "acted_at": _iso(step.acted_at),
        "reason": step.reason or None,
        "comment": step.comment or None,
    }
    if step.kind == StepKind.REVIEW:
        shown["decision"] = _decision(step)
    return shown


def request_service(instance: Instance) -> RequestService:
    return instance.service(EXTENSION_KEY, RequestService)
