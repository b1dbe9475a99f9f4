"""Party applications' signing requests through /api/signing/requests: created by a client, signed by the
officials in order under sole control (a software authenticator, as the portal's sign page does), downloaded
and validated by pyHanko; scope and client isolation; cancel; webhooks signed, verified by a receiver, retried."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from directory.models import Person
from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from signing.documents.service import document_service
from signing.requests.cli import webhook_secret
from signing.requests.webhooks import WebhookQueue, WebhookSecrets, webhook_queue
from signing.samples import sample_pdf
from tests.components import free_port
from tests.signing.conftest import OFFICE, PROVINCE, Platform
from tests.signing.independent import ades_verdicts
from tests.signing.test_sole_control import answer, enrol

URL = "/api/signing/requests"


@pytest.fixture(scope="module")
def api(platform: Platform) -> FlaskClient:
    # officials of this module only: enrolling their security keys changes no other test's password sign-in
    for uid, name in (("thu", "Vũ Thị Thu"), ("son", "Ngô Văn Sơn"), ("tam", "Lý Văn Tâm")):
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(
                uid, "mật-khẩu-r", full_name=name, position="Chuyên viên", unit=OFFICE, unit_path=(OFFICE, PROVINCE)
            )
    clients = get_provider(platform.instance).clients
    for client_id in ("ung-dung", "khac"):
        if clients.get(client_id) is None:
            clients.add(
                ClientSpec(
                    name=f"Ứng dụng {client_id}",
                    client_id=client_id,
                    grant_types=("client_credentials",),
                    scopes=("signing:request",),
                )
            )
    return platform.app.test_client()


@pytest.fixture(scope="module")
def queue(platform: Platform) -> WebhookQueue:
    q = webhook_queue(platform.instance)
    q.background = False  # drained by hand, so that the retry is seen in order
    return q


def bearer(platform: Platform, client_id: str = "ung-dung", scope: str = "signing:request") -> dict[str, str]:
    token = platform.access_token(sub=client_id, client_id=client_id, scope=scope, acr=None)
    return {"Authorization": f"Bearer {token}"}


def person(platform: Platform, uid: str) -> Person:
    found = platform.directory.find_by_login(uid)
    assert found is not None
    return found


def create(api: FlaskClient, platform: Platform, signers: Any, **fields: Any) -> Any:
    data = {
        "file": (io.BytesIO(fields.pop("pdf", sample_pdf(pages=1, size=30_000, title="To trinh"))), "to-trinh.pdf"),
        "title": "Tờ trình 12",
        "signers": json.dumps(signers),
        **fields,
    }
    return api.post(URL, data=data, headers=fields.pop("headers", bearer(platform)), content_type="multipart/form-data")


def sign_in_browser(platform: Platform, uid: str, document_id: str) -> None:
    documents = document_service(platform.instance)
    official = person(platform, uid)
    key = enrol(platform.instance, official.entry_uuid, origin=platform.base_url)
    auth_id, options, _ = documents.begin_signing(official, document_id)
    documents.sign(
        official, document_id, authorisation_id=auth_id, credential=answer(key, options), reason="Ký", location="HT"
    )


class Receiver:
    """A Party application's webhook endpoint: checks the signature and the time, answers 500 the first time."""

    def __init__(self, secret: str, *, fail_first: bool = True) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.seen: list[tuple[str, dict[str, Any], bool]] = []  # (event id, body, signature good)
        self.port = free_port()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        fields = dict(part.split("=", 1) for part in request.headers["Antin-Signature"].split(","))
        expected = hmac.new(self.secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(fields["t"])) < 300  # replay-safe: an old timestamp is refused
        good = hmac.compare_digest(expected, fields["v1"]) and fresh
        self.seen.append((request.headers["Antin-Event-Id"], json.loads(body), good))
        return Response("", status=500 if self.fail_first and len(self.seen) == 1 else 204)(environ, start_response)

    def serve(self) -> Iterator[None]:
        server = make_server("localhost", self.port, self)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield
        server.shutdown()
        thread.join(timeout=5)


def test_a_request_is_signed_by_the_officials_in_order_and_downloaded(
    platform: Platform, api: FlaskClient, queue: WebhookQueue
) -> None:
    created = create(
        api,
        platform,
        ["thu", "son"],
        number="12/TTr",
        deadline=(platform.instance.clock.now() + timedelta(days=30)).isoformat(),
    )
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    assert created.headers["Location"] == f"{URL}/{request_id}"
    status = created.get_json()
    assert status["status"] == "in_progress" and status["current_step"]["signer"] == "thu"
    assert [s["status"] for s in status["steps"]] == ["active", "waiting"]

    # each official finds it in their inbox in turn, sent by the application
    documents = document_service(platform.instance)
    thu, son = person(platform, "thu"), person(platform, "son")
    assert request_id in [d.id for d in documents.inbox(thu, "awaiting").items]
    assert request_id not in [d.id for d in documents.inbox(son, "awaiting").items]
    assert documents.view(thu, request_id).document.created_by_name == "Ứng dụng ung-dung"
    sign_in_browser(platform, "thu", request_id)
    assert api.get(f"{URL}/{request_id}", headers=bearer(platform)).get_json()["current_step"]["signer"] == "son"
    sign_in_browser(platform, "son", request_id)

    status = api.get(f"{URL}/{request_id}", headers=bearer(platform)).get_json()
    assert status["status"] == "done" and status["current_step"] is None
    assert [s["status"] for s in status["steps"]] == ["done", "done"] and all(s["acted_at"] for s in status["steps"])
    download = api.get(f"{URL}/{request_id}/document", headers=bearer(platform))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == status["document"]["sha256"]
    material = platform.revocation()
    verdicts = ades_verdicts(download.data, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert len(verdicts) >= 2 and all(v.status == "PASSED" for v in verdicts), verdicts


def test_scope_and_client_isolation(platform: Platform, api: FlaskClient) -> None:
    request_id = create(api, platform, ["thu"]).get_json()["id"]
    # another client: as if it did not exist
    other = api.get(f"{URL}/{request_id}", headers=bearer(platform, "khac"))
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert api.post(f"{URL}/{request_id}/cancel", headers=bearer(platform, "khac")).status_code == 404
    assert api.get(f"{URL}/{request_id}/document", headers=bearer(platform, "khac")).status_code == 404
    # a token without signing:request
    refused = api.get(f"{URL}/{request_id}", headers=bearer(platform, scope="signing:sign"))
    assert refused.status_code == 403 and "signing:request" in refused.get_json()["detail"]
    assert api.get(f"{URL}/{request_id}").status_code == 401


def test_bad_requests_are_problems(platform: Platform, api: FlaskClient) -> None:
    unknown = create(api, platform, ["thu", "nobody"])
    assert unknown.status_code == 422 and "nobody" in unknown.get_json()["detail"]
    assert create(api, platform, []).status_code == 400
    assert create(api, platform, ["thu"], deadline="next week").status_code == 400
    assert create(api, platform, ["thu"], deadline="2020-01-01T00:00:00+07:00").status_code == 400
    assert create(api, platform, ["thu", "thu"]).status_code == 400
    suspended = create(api, platform, ["em"])
    assert suspended.status_code == 422 and "em" in suspended.get_json()["detail"]
    not_pdf = create(api, platform, ["thu"], pdf=b"GIF89a")
    assert not_pdf.status_code == 422 and "not-pdf" in not_pdf.get_json()["detail"]
    assert create(api, platform, ["thu"], callback_url="ftp://x").status_code == 400
    big = b"%PDF-1.7\n" + b"0" * document_service(platform.instance).max_bytes
    too_large = create(api, platform, ["thu"], pdf=big)
    assert too_large.status_code == 413 and too_large.mimetype == "application/problem+json"
    no_secret = create(
        api, platform, ["thu"], callback_url="https://app.example/hook", headers=bearer(platform, "khac")
    )
    assert no_secret.status_code == 422 and "webhook-secret" in no_secret.get_json()["detail"]


def test_cancel_takes_it_out_of_the_inbox(platform: Platform, api: FlaskClient) -> None:
    request_id = create(api, platform, ["son"]).get_json()["id"]
    son = person(platform, "son")
    documents = document_service(platform.instance)
    assert request_id in [d.id for d in documents.inbox(son, "awaiting").items]
    cancelled = api.post(f"{URL}/{request_id}/cancel", headers=bearer(platform))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert request_id not in [d.id for d in documents.inbox(son, "awaiting").items]
    assert documents.view(son, request_id).my_step is None
    assert "signing:document:cancel" in [e.event for e in documents.history(documents.view(son, request_id))]
    again = api.post(f"{URL}/{request_id}/cancel", headers=bearer(platform))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_webhooks_are_signed_and_retried(platform: Platform, api: FlaskClient, queue: WebhookQueue) -> None:
    # the operator gives the client its webhook secret, shown once
    shown = CliRunner().invoke(webhook_secret, ["ung-dung", "--json"], obj=platform.instance)
    assert shown.exit_code == 0, shown.output
    secret = json.loads(shown.output)["webhook_secret"]
    assert WebhookSecrets(platform.instance).get("ung-dung") == secret
    unknown = CliRunner().invoke(webhook_secret, ["nobody"], obj=platform.instance)
    assert unknown.exit_code == 1 and "no active client" in unknown.output
    receiver = Receiver(secret)
    serving = receiver.serve()
    next(serving)
    try:
        hook = f"http://localhost:{receiver.port}/hook"
        request_id = create(api, platform, ["tam"], callback_url=hook).get_json()["id"]
        sign_in_browser(platform, "tam", request_id)
        now = platform.instance.clock.now()
        assert queue.drain(now) == 1  # two events: the receiver answered 500 to the first, 204 to the second
        assert queue.drain(now) == 0  # the first is not due again yet
        assert queue.drain(now + timedelta(minutes=1)) == 1  # the retry, after its backoff
        assert queue.drain(now + timedelta(hours=1)) == 0  # nothing left
    finally:
        next(serving, None)
    assert all(good for _id, _body, good in receiver.seen)
    ids = [event_id for event_id, _body, _good in receiver.seen]
    assert len(ids) == 3 and ids[0] == ids[2] != ids[1]  # the same event again: receivers de-duplicate by its id
    kinds = {body["type"] for _id, body, _good in receiver.seen}
    assert kinds == {"step.completed", "request.finished"}
    finished = next(body for _id, body, _good in receiver.seen if body["type"] == "request.finished")
    assert finished["request"]["id"] == request_id and finished["request"]["status"] == "done"


def test_the_openapi_document_describes_the_requests(platform: Platform, api: FlaskClient) -> None:
    doc = api.get("/api/openapi.json").get_json()
    create_op = doc["paths"]["/api/signing/requests"]["post"]
    assert create_op["security"] == [{"bearer": ["signing:request"]}]
    form = create_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["properties"]) == {
        *("file", "title", "number", "signers", "reviewers", "callback_url", "deadline"),
        *("seal_unit", "recipient_units", "recipient_officials"),
    }
    for path in ("/api/signing/requests/{id}", "/api/signing/requests/{id}/document"):
        assert "get" in doc["paths"][path]
    assert "409" in doc["paths"]["/api/signing/requests/{id}/cancel"]["post"]["responses"]
    assert "SigningRequest" in doc["components"]["schemas"]


def test_the_background_drainer_delivers_without_being_asked(
    platform: Platform, api: FlaskClient, queue: WebhookQueue
) -> None:
    secret = WebhookSecrets(platform.instance).rotate("ung-dung")
    receiver = Receiver(secret, fail_first=False)
    serving = receiver.serve()
    next(serving)
    queue.background = True
    try:
        hook = f"http://localhost:{receiver.port}/hook"
        request_id = create(api, platform, ["thu"], callback_url=hook).get_json()["id"]
        assert api.post(f"{URL}/{request_id}/cancel", headers=bearer(platform)).status_code == 200
        for _ in range(100):  # the drainer thread is woken by the new delivery
            if receiver.seen:
                break
            time.sleep(0.1)
    finally:
        queue.background = False
        next(serving, None)
    assert [(body["type"], good) for _id, body, good in receiver.seen] == [("request.cancelled", True)]
    assert receiver.seen[0][1]["request"]["status"] == "cancelled"


def test_reviewers_come_first_and_a_rejection_is_a_signed_webhook(
    platform: Platform, api: FlaskClient, queue: WebhookQueue
) -> None:
    secret = WebhookSecrets(platform.instance).rotate("ung-dung")
    receiver = Receiver(secret, fail_first=False)
    serving = receiver.serve()
    next(serving)
    documents = document_service(platform.instance)
    try:
        hook = f"http://localhost:{receiver.port}/hook"
        approved = create(api, platform, ["thu"], reviewers=json.dumps(["son"]), callback_url=hook).get_json()
        assert [(s["kind"], s["signer"], s["status"], s.get("decision")) for s in approved["steps"]] == [
            ("review", "son", "active", None),
            ("sign", "thu", "waiting", None),
        ]
        assert "decision" not in approved["steps"][1]  # a signature step has no decision
        documents.review(person(platform, "son"), approved["id"], True, "Nhất trí.")
        status = api.get(f"{URL}/{approved['id']}", headers=bearer(platform)).get_json()
        first = status["steps"][0]
        assert (first["status"], first["decision"], first["comment"]) == ("done", "approved", "Nhất trí.")
        assert first["acted_at"] is not None
        assert status["current_step"]["signer"] == "thu" and status["document"]["signatures"] == 0

        rejected = create(api, platform, ["thu"], reviewers="tam,son", callback_url=hook).get_json()
        documents.review(person(platform, "tam"), rejected["id"], False, "Thiếu căn cứ pháp lý.")
        status = api.get(f"{URL}/{rejected['id']}", headers=bearer(platform)).get_json()
        assert status["status"] == "rejected" and status["current_step"] is None
        assert [(s["status"], s.get("decision")) for s in status["steps"]] == [
            ("rejected", "rejected"),
            ("skipped", None),
            ("skipped", None),
        ]
        assert queue.drain(platform.instance.clock.now()) == 2
    finally:
        next(serving, None)
    assert all(good for _id, _body, good in receiver.seen)  # HMAC over the timestamped body, checked
    events = [(body["type"], body["request"]["id"]) for _id, body, _good in receiver.seen]
    assert events == [("step.completed", approved["id"]), ("request.rejected", rejected["id"])]
    rejection = receiver.seen[1][1]
    assert rejection["step"] == {
        "position": 1,
        "kind": "review",
        "signer": "tam",
        "decision": "rejected",
        "comment": "Thiếu căn cứ pháp lý.",
    }
    assert rejection["request"]["status"] == "rejected"
    # reviewers named wrongly are refused like signers
    assert create(api, platform, ["thu"], reviewers=json.dumps(["nobody"])).status_code == 422
    assert create(api, platform, ["thu"], reviewers=json.dumps(["son", "son"])).status_code == 400
    assert create(api, platform, ["thu"], reviewers=json.dumps({"son": 1})).status_code == 400


def test_the_records_office_seals_and_issues_a_request(platform: Platform, api: FlaskClient) -> None:
    # without a records office: recipients alone, or a unit nobody serves, are refused
    assert create(api, platform, ["thu"], recipient_units='["HT-TC"]').status_code == 400
    assert create(api, platform, ["thu"], seal_unit="HT-VP").status_code == 400  # and to whom?
    unknown = create(api, platform, ["thu"], seal_unit="XX-9", recipient_units='["HT-TC"]')
    assert unknown.status_code == 422 and unknown.get_json()["detail"].startswith("seal_unit")
    nobody = create(api, platform, ["thu"], seal_unit="HT-VP", recipient_units='["HT-ZZ"]')
    assert nobody.status_code == 422 and "HT-ZZ" in nobody.get_json()["detail"]

    created = create(
        api, platform, ["thu"], seal_unit="HT-VP", recipient_units='["HT-TC"]', recipient_officials='["son"]'
    )
    assert created.status_code == 201, created.get_json()
    status = created.get_json()
    request_id = status["id"]
    # HT-VP has no records office of its own: Hà Tĩnh's (van-thu-ht) seals and issues
    assert [(s["kind"], s["signer"], s["group"], s["status"]) for s in status["steps"]] == [
        ("sign", "thu", None, "active"),
        ("seal", "", "van-thu-ht", "waiting"),
        ("issue", "", "van-thu-ht", "waiting"),
    ]
    sign_in_browser(platform, "thu", request_id)
    documents = document_service(platform.instance)
    binh, son = person(platform, "binh"), person(platform, "son")
    key = enrol(platform.instance, binh.entry_uuid, origin=platform.base_url)
    auth_id, options, _ = documents.begin_signing(binh, request_id)
    today = platform.instance.clock.now().date()
    documents.sign(
        binh,
        request_id,
        authorisation_id=auth_id,
        credential=answer(key, options),
        reason="",
        location="HT",
        number="3/CV-API",
        issued_on=today,
    )
    assert request_id not in [d.id for d in documents.inbox(son, "received").items]
    documents.issue(binh, request_id)
    status = api.get(f"{URL}/{request_id}", headers=bearer(platform)).get_json()
    assert status["status"] == "done" and status["number"] == "3/CV-API"
    assert status["document"]["signatures"] == 2  # the official's and the seal (the issue signs nothing)
    assert request_id in [d.id for d in documents.inbox(son, "received").items]
    download = api.get(f"{URL}/{request_id}/document", headers=bearer(platform))
    material = platform.revocation()
    verdicts = ades_verdicts(download.data, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert len(verdicts) >= 2 and all(v.status == "PASSED" for v in verdicts), verdicts
