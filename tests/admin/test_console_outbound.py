"""The console refuses a back-channel logout URI whose host resolves into the platform's own network, and says so
in the administrator's language, and the API answers a problem (the name is not a literal address, so only the
resolution shows it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import AdminPlatform, console_browser
from tests.admin.test_console_clients import CB, fields_of, form_post
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

INWARD = "https://intranet.bacninh.example/backchannel"  # resolves to a private address (below)


@pytest.fixture
def inward_name(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host == "intranet.bacninh.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.8.0.12", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def with_backchannel(name: str, uri: str) -> list[tuple[str, str]]:
    return [(k, uri if k == "backchannel_logout_uri" else v) for k, v in fields_of(name, "BNH", CB)]


def test_an_inward_backchannel_uri_is_refused_with_a_clear_message(
    admin_platform: AdminPlatform, inward_name: None
) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")  # the whole platform's: not the province's rule
    refused = form_post(admin_platform, browser, "/admin/clients/new", with_backchannel("Nội bộ", INWARD))
    assert refused.status_code == 400 and 'id="form-problem"' in refused.text
    assert "Nền tảng không gửi yêu cầu tới địa chỉ này" in refused.text
    assert "10.8.0.12" in refused.text  # the service's own words: where the name leads
    assert not [c for c in admin_platform.provider.clients.list() if c.name == "Nội bộ"]


def test_the_refusal_in_chromium(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    inward_name: None,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    browser, _home = console_browser(admin_platform, "dungpt")
    for language in ("vi", "en"):
        context = chromium.new_context(locale="vi-VN", viewport={"width": 1100, "height": 1000})
        cookies = [(c.name, c.value or "") for c in browser.session.cookies]
        cookies.append(("antin_lang", language))
        context.add_cookies([{"name": n, "value": v, "url": admin_platform.base_url} for n, v in cookies])
        page = context.new_page()
        page.goto(admin_platform.base_url + "/admin/clients/new")
        page.fill("[name=name]", "Nội bộ")
        page.fill("[name=unit]", "BNH")
        page.fill("[name=redirect_uris]", CB)
        page.fill("[name=backchannel_logout_uri]", INWARD)
        page.locator("#save").click()
        page.wait_for_selector("#form-problem")
        problem = page.locator("#form-problem").inner_text()
        expected = (
            "Nền tảng không gửi yêu cầu tới địa chỉ này"
            if language == "vi"
            else "The platform does not send requests to this address"
        )
        assert expected in problem, problem
        assert page.locator("[name=backchannel_logout_uri]").input_value() == INWARD  # what was typed stays
        page.screenshot(path=str(shots / f"console-outbound-refused-{language}.png"), full_page=True)
        context.close()


def test_the_api_answers_a_problem(admin_platform: AdminPlatform, inward_name: None) -> None:
    answer = admin_platform.call(
        "POST",
        "/api/admin/clients",
        "dungpt",
        json={"client_name": "Nội bộ", "redirect_uris": [CB], "backchannel_logout_uri": INWARD},
    )
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"].endswith("invalid-client-metadata"), problem
    assert "10.8.0.12" in problem["detail"] and "ANTIN_SERVER_OUTBOUND_ALLOW" in problem["detail"]
