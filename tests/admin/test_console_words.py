"""The console's words for machine values, without a server: a subject in either of asn1crypto's shapes (a comma
in a value makes it use "; "), the rights a refusal names, a detail of each kind; Vietnamese and English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from admin.console.readable import detail_fields, lacking_right, subject_fields
from antin.kernel import i18n


@pytest.fixture(params=["vi", "en"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    app = Flask(__name__)
    i18n.init_app(app)
    with app.test_request_context(f"/?lang={request.param}"):
        yield str(request.param)


def test_a_subject_is_split_into_translated_fields(language: str) -> None:
    name, organisation, country = {
        "vi": ("Tên", "Tổ chức", "Quốc gia"),
        "en": ("Common name", "Organisation", "Country"),
    }[language]
    plain = "Common Name: Ấn Tín Root CA, Organization: Ban Cơ yếu, Country: VN"
    assert subject_fields(plain) == [(name, "Ấn Tín Root CA"), (organisation, "Ban Cơ yếu"), (country, "VN")]
    commas = "Common Name: Văn phòng, Tỉnh ủy Bắc Ninh; Country: VN"  # a comma inside: asn1crypto uses "; "
    assert subject_fields(commas) == [(name, "Văn phòng, Tỉnh ủy Bắc Ninh"), (country, "VN")]
    assert subject_fields("CN=raw,O=elsewhere") == [("", "CN=raw,O=elsewhere")]  # another shape: shown whole
    assert subject_fields("") == []


def test_a_refusal_names_the_right_in_words(language: str) -> None:
    expected = {
        "vi": ("xem nhật ký kiểm tra trên toàn hệ thống", "tạo và sửa thông tin cán bộ hoặc tạo và đổi tên đơn vị"),
        "en": ("read the audit log on the whole platform", "create and edit officials or create and rename units"),
    }[language]
    assert lacking_right("audit:read on *") == expected[0]
    assert lacking_right("officials:write or units:write") == expected[1]
    assert lacking_right("something:new") == "something:new"  # a right not yet worded: its key


def test_details_are_labelled_fields_in_their_order(language: str) -> None:
    fields = detail_fields(
        {"role": "auditor", "scopes": ["openid", "party"], "dpop": True, "until": "2026-12-05T20:36:00+00:00"},
        {"role": {"auditor": "kiểm tra viên"}},  # the page's role names
    )
    role, scopes, yes = {"vi": ("vai trò", "phạm vi (scope)", "có"), "en": ("role", "scopes", "yes")}[language]
    assert fields == [
        (role, "kiểm tra viên"),
        (scopes, "openid, party"),
        ("dpop", yes),  # a key with no label yet: shown as it is
        ({"vi": "đến", "en": "until"}[language], "06/12/2026 03:36"),  # Vietnam's time
    ]
