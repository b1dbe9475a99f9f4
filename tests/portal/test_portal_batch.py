"""Batch signing in the portal over real HTTP: the inbox offers a checkbox only on documents waiting for the
official's own signature; one confirmation page lists each chosen document (title, number, SHA-256 of its bytes,
where the box goes); one assertion of a software authenticator over the list signs them all, each file checked by
pyHanko's AdES validation. A document someone else acted on meanwhile is refused alone; a reused assertion, one
begun for a single document or for another batch signs nothing; too many documents at once are refused, and an
official without a security key is sent to register one."""

from __future__ import annotations

import hashlib
import html
import json
import re

import pytest
import requests

from antin.kernel.audit.events import AuditEvent
from signing.documents.models import DocumentVersion
from signing.documents.service import document_service
from signing.documents.signatures import document_subject
from tests.idp.rp import Browser
from tests.portal.test_portal_pages import csrf
from tests.portal.test_portal_records import HERE, key_of, signed_in, upload
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts
from tests.signing.test_sole_control import answer

PASSWORD = "mật-khẩu-văn-thư"  # signed_in's password
OFFICIALS = (("lo-soan", "Hà Văn Soạn"), ("lo-ky", "Đinh Thị Ký"))


@pytest.fixture(scope="module")
def browsers(platform: Platform) -> dict[str, Browser]:
    for uid, name in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(uid, PASSWORD, full_name=name, position="Chuyên viên", **HERE)  # type: ignore[arg-type]
    browsers = {uid: signed_in(platform, uid) for uid, _ in OFFICIALS}
    browsers["lo-ky/vi"] = signed_in(platform, "lo-ky", "vi")
    key_of(platform, "lo-ky")  # after the sign-ins: a key makes the next sign-in ask for it
    return browsers


def drafted(browser: Browser, platform: Platform, title: str, **fields: str) -> str:
    created = upload(browser, platform, title, **fields)
    assert created.status_code == 303, created.text
    return str(created.headers["Location"]).rsplit("/", 1)[-1]


def confirmation(browser: Browser, platform: Platform, ids: list[str]) -> requests.Response:
    return browser.session.get(platform.base_url + "/documents/batch", params={"document": ids}, timeout=30)


def answered(platform: Platform, page: requests.Response, **override: str) -> dict[str, object]:
    """The form the confirmation page posts once the security key has answered its options."""
    options = re.search(r'data-options="([^"]+)"', page.text)
    authorisation = re.search(r'name="authorisation" value="([^"]+)"', page.text)
    assert options is not None and authorisation is not None
    credential = answer(key_of(platform, "lo-ky"), json.loads(html.unescape(options.group(1))))
    return {
        "csrf_token": csrf(page),
        "authorisation": authorisation.group(1),
        "credential": json.dumps(credential),
        "document": re.findall(r'name="document" value="([^"]+)"', page.text),
        "sha256": re.findall(r'name="sha256" value="([^"]+)"', page.text),
        "reason": "Đồng ý",
        "location": "Hà Tĩnh",
        **override,
    }


def post(browser: Browser, platform: Platform, form: dict[str, object]) -> requests.Response:
    return browser.session.post(platform.base_url + "/documents/batch", data=form, timeout=180)


def outcomes(page: requests.Response) -> dict[str, str]:
    return dict(re.findall(r'data-document="([^"]+)" data-outcome="([^"]+)"', page.text))


def test_the_inbox_offers_only_my_signatures(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter, signer = browsers["lo-soan"], browsers["lo-ky"]
    to_sign = drafted(drafter, platform, "Công văn lô ký", signers="lo-ky")
    to_review = drafted(drafter, platform, "Tờ trình lô xem", reviewers="lo-ky", signers="lo-soan")
    inbox = signer.session.get(platform.base_url + "/documents", timeout=10).text
    assert f'id="choose-{to_sign}"' in inbox and 'id="batch-sign"' in inbox
    assert f'id="choose-{to_review}"' not in inbox  # a review is decided one by one
    in_vietnamese = browsers["lo-ky/vi"].session.get(platform.base_url + "/documents", timeout=10)
    assert "Ký các văn bản đã chọn" in in_vietnamese.text
    refused = confirmation(signer, platform, [to_review])
    assert refused.status_code == 409 and "Tờ trình lô xem" in refused.text


def test_one_assertion_signs_the_batch_but_a_document_acted_on_meanwhile(
    platform: Platform, browsers: dict[str, Browser]
) -> None:
    drafter, signer = browsers["lo-soan"], browsers["lo-ky"]
    ids = [drafted(drafter, platform, f"Quyết định lô {n}", signers="lo-ky") for n in range(3)]
    page = confirmation(signer, platform, ids)
    assert page.status_code == 200, page.text
    service = document_service(platform.instance)
    for document_id in ids:  # each one's title and the digest of exactly the bytes to be signed
        soan = platform.directory.find_by_login("lo-soan")
        assert soan is not None
        view = service.view(soan, document_id)
        digest = hashlib.sha256(service.file(view).read_bytes()).hexdigest()
        assert view.document.title in page.text and digest in page.text
    assert page.text.count('class="batch-placement"') == 3
    form = answered(platform, page)
    service.cancel(ids[1], actor="lo-soan")  # the drafter withdraws one while the signer confirms
    done = post(signer, platform, form)
    assert done.status_code == 200, done.text
    assert outcomes(done) == {ids[0]: "signed", ids[1]: "not-your-turn", ids[2]: "signed"}
    for document_id in (ids[0], ids[2]):
        signed = signer.session.get(f"{platform.base_url}/documents/{document_id}/file", timeout=30)
        assert signed.status_code == 200
        [verdict] = ades_verdicts(signed.content, [platform.root_der])
        assert verdict.status == "PASSED", verdict
        report = signer.session.get(f"{platform.base_url}/documents/{document_id}/report", timeout=60)
        assert report.status_code == 200 and "Đinh Thị Ký" in report.text
    again = post(signer, platform, form)  # the same assertion once more
    assert again.status_code == 403 and 'data-reason="reused"' in again.text


def test_foreign_assertions_and_too_many_sign_nothing(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter, signer = browsers["lo-soan"], browsers["lo-ky"]
    ids = [drafted(drafter, platform, f"Thông báo lô {n}", signers="lo-ky") for n in range(2)]
    single = signer.session.get(f"{platform.base_url}/documents/{ids[0]}/sign", timeout=30)
    batch = confirmation(signer, platform, ids)
    # the single document's authorisation, over the batch's documents
    form = answered(platform, single) | {"document": ids, "sha256": answered(platform, batch)["sha256"]}
    refused = post(signer, platform, form)
    assert refused.status_code == 403 and 'data-reason="wrong_document"' in refused.text
    # another batch's authorisation (the first document only), posted for both
    other = answered(platform, confirmation(signer, platform, ids[:1]))
    refused = post(signer, platform, other | {"document": ids, "sha256": form["sha256"]})
    assert refused.status_code == 403 and 'data-reason="wrong_document"' in refused.text
    # the page's list with a digest changed
    tampered = answered(platform, confirmation(signer, platform, ids))
    tampered["sha256"] = [*list(tampered["sha256"])[:1], "00" * 32]  # type: ignore[call-overload]
    refused = post(signer, platform, tampered)
    assert refused.status_code == 403 and 'data-reason="wrong_document"' in refused.text
    soan = platform.directory.find_by_login("lo-soan")
    assert soan is not None
    assert all(not document_service(platform.instance).view(soan, i).signed for i in ids)
    many = confirmation(signer, platform, [f"d{n}" for n in range(21)])
    assert many.status_code == 422 and "At most 20 documents" in many.text
    # an official without a security key is told to register one
    own = drafted(drafter, platform, "Báo cáo lô không khóa")  # no signers named: the drafter signs
    keyless = confirmation(drafter, platform, [own])
    assert keyless.status_code == 403 and 'id="register-key"' in keyless.text


def test_a_document_changed_since_the_page_was_shown_is_refused_alone(
    platform: Platform, browsers: dict[str, Browser]
) -> None:
    drafter, signer = browsers["lo-soan"], browsers["lo-ky"]
    ids = [drafted(drafter, platform, f"Kế hoạch lô {n}", signers="lo-ky") for n in range(2)]
    form = answered(platform, confirmation(signer, platform, ids))
    with platform.instance.database.session() as s:  # another file under the first one since the page was shown
        s.add(DocumentVersion(document_id=ids[0], number=2, sha256="ab" * 32, size=1, created_by="lo-soan"))
    done = post(signer, platform, form)
    assert done.status_code == 200 and outcomes(done) == {ids[0]: "changed", ids[1]: "signed"}
    assert "The document changed after you confirmed it" in done.text
    events = {
        d: [e.event for e in platform.instance.audit.entries(subject=document_subject(d), limit=20)] for d in ids
    }  # audited per document, as single signatures are
    assert events[ids[0]][0] == AuditEvent.SIGNING_DOCUMENT_REFUSE.value
    assert events[ids[1]][0] == AuditEvent.SIGNING_DOCUMENT_COMPLETE.value
