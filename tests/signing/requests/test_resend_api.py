"""Re-sending a rejected signing request through ``POST /api/signing/requests/{id}/resend``: a corrected PDF (a new
version) or the same with a note; the status shows the new round with the rejected one kept; a signed
``request.resent`` webhook; refusals as problems (not rejected 409, no note 400, not a PDF 422, another client 404)."""

from __future__ import annotations

import hashlib
import io
import json

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signing.documents.service import document_service
from signing.requests.webhooks import WebhookQueue, WebhookSecrets
from signing.samples import sample_pdf
from tests.signing.conftest import Platform
from tests.signing.requests.test_requests import URL, Receiver, api, bearer, create, person, queue

__all__ = ["api", "queue"]  # the fixtures, shared with the requests' tests


def resend(
    api: FlaskClient, platform: Platform, request_id: str, client: str = "ung-dung", **data: object
) -> TestResponse:
    return api.post(
        f"{URL}/{request_id}/resend",
        data=data,
        headers=bearer(platform, client),
        content_type="multipart/form-data",
    )


def test_a_rejected_request_is_sent_again_with_a_corrected_file(
    platform: Platform, api: FlaskClient, queue: WebhookQueue
) -> None:
    secret = WebhookSecrets(platform.instance).rotate("ung-dung")
    receiver = Receiver(secret, fail_first=False)
    serving = receiver.serve()
    next(serving)
    documents = document_service(platform.instance)
    corrected = sample_pdf(pages=2, size=25_000, title="To trinh sua")
    try:
        hook = f"http://localhost:{receiver.port}/hook"
        created = create(api, platform, ["thu"], reviewers=json.dumps(["son"]), callback_url=hook).get_json()
        request_id = created["id"]
        early = resend(api, platform, request_id, note="chưa bị từ chối")
        assert early.status_code == 409 and early.content_type == "application/problem+json"
        documents.review(person(platform, "son"), request_id, False, "Sai số liệu.")

        assert resend(api, platform, request_id).status_code == 400  # no file, no note
        assert resend(api, platform, request_id, client="khac", note="x").status_code == 404
        not_pdf = resend(api, platform, request_id, file=(io.BytesIO(b"GIF89a"), "x.pdf"))
        assert not_pdf.status_code == 422

        answer = resend(
            api,
            platform,
            request_id,
            file=(io.BytesIO(corrected), "to-trinh-sua.pdf"),
            note="Đã sửa số liệu.",
            deadline="2099-12-31T17:00:00+07:00",
        )
        assert answer.status_code == 200
        status = answer.get_json()
        assert status["status"] == "in_progress" and status["round"] == 2
        assert status["deadline"] == "2099-12-31T10:00:00+00:00"
        assert [(s["round"], s["kind"], s["status"], s.get("decision")) for s in status["steps"]] == [
            (1, "review", "rejected", "rejected"),
            (1, "sign", "skipped", None),
            (2, "review", "active", None),
            (2, "sign", "waiting", None),
        ]
        assert status["steps"][0]["comment"] == "Sai số liệu."
        assert status["current_step"]["signer"] == "son" and status["current_step"]["round"] == 2
        assert status["document"]["version"] == 2
        assert status["document"]["sha256"] == hashlib.sha256(corrected).hexdigest()
        downloaded = api.get(f"{URL}/{request_id}/document", headers=bearer(platform))
        assert downloaded.data == corrected
        assert resend(api, platform, request_id, note="lần nữa").status_code == 409
        assert queue.drain(platform.instance.clock.now()) == 2
    finally:
        next(serving, None)
    assert all(good for _id, _body, good in receiver.seen)
    assert [body["type"] for _id, body, _good in receiver.seen] == ["request.rejected", "request.resent"]
    resent = receiver.seen[1][1]
    assert resent["step"] == {"position": 3, "kind": "review", "signer": "son", "decision": None, "comment": None}
    assert resent["request"]["round"] == 2


def test_the_openapi_document_describes_the_resend(platform: Platform, api: FlaskClient) -> None:
    doc = api.get("/api/openapi.json").get_json()
    operation = doc["paths"]["/api/signing/requests/{id}/resend"]["post"]
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["properties"]) == {"file", "note", "deadline"}
    assert {"200", "400", "404", "409", "422"} <= set(operation["responses"])
