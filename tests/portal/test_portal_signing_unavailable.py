"""An official who signs while the HSM refuses the platform (issue 14, item 3): the portal answers a clear page, 503
with Retry-After, in Vietnamese ("try again in a few minutes"), and nothing is signed; once the HSM answers again,
the same official signs the same document. Before, the page was a 422 carrying the signing library's English
message. The HSM's refusal is played by the key store (the portal does not own the HSM; tests/signing/pki drives
the real token's refusals, scripts/signing_faults.py the whole platform's)."""

from __future__ import annotations

import pytest

from signing.errors import HsmPinError
from tests.idp.rp import Browser
from tests.portal.test_portal_records import HERE, PASSWORD, sign, signed_in, upload
from tests.signing.conftest import Platform

OFFICIALS = (("hs-soan", "Vũ Thị Soạn"), ("hs-ky", "Bạch Văn Ký"))


@pytest.fixture(scope="module")
def browsers(platform: Platform) -> dict[str, Browser]:
    for uid, name in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(uid, PASSWORD, full_name=name, position="Chuyên viên", **HERE)  # type: ignore[arg-type]
    return {"hs-soan": signed_in(platform, "hs-soan"), "hs-ky": signed_in(platform, "hs-ky", "vi")}


def test_signing_while_the_hsm_refuses_is_a_clear_503_page_and_works_once_it_answers(
    platform: Platform, browsers: dict[str, Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = upload(browsers["hs-soan"], platform, "Công văn khi HSM từ chối", signers="hs-ky")
    assert created.status_code == 303, created.text
    url = platform.base_url + str(created.headers["Location"])
    signer = browsers["hs-ky"]

    def refuse(*_args: object, **_kwargs: object) -> bool:
        raise HsmPinError("the PIN was refused", token_label="antin-test")

    with monkeypatch.context() as patched:
        patched.setattr(platform.service.keystore, "has_key", refuse)
        refused = sign(signer, platform, "hs-ky", url)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert 'id="refused"' in refused.text and 'data-reason="hsm-pin-incorrect"' in refused.text
    message = refused.text.split('id="refused"')[1].split("</p>")[0]
    assert "Dịch vụ ký số tạm thời chưa sẵn sàng" in message and "thử lại sau ít phút" in message
    assert "PIN" not in message and "HSM" not in message  # the operator's words stay in the operator's log
    assert 'href="' + url.removeprefix(platform.base_url) in refused.text  # back to the document
    assert signer.session.get(url + "/file", timeout=10).content.count(b"/ByteRange") == 0  # nothing signed

    done = sign(signer, platform, "hs-ky", url)  # the HSM answers again: the same official signs the same document
    assert done.status_code == 303, done.text
    assert signer.session.get(url + "/file", timeout=30).content.count(b"/ByteRange") >= 1  # signed (and time-stamped)
