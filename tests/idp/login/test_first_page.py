"""The password page of a new sign-in from its kept rendering (idp/login/first_page.py): byte for byte the page the
template gives, in each language, for any application name, under a site root, with and without the passkey button;
each browser's page carries its own CSRF token, interaction and passkey challenge, never another's; the template
renders the page once per language and application, not once per sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask, g, render_template, session, template_rendered, url_for

from idp.login.first_page import PASSKEY_GLOBAL, FirstPages
from idp.oidc.interaction import InteractionView
from tests.idp.conftest import PASSWORD, make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty, forms_of


@pytest.fixture
def op(tmp_path) -> Iterator[LiveProvider]:  # type: ignore[no-untyped-def]
    with live_provider(tmp_path / "op", make_directory()) as live:
        yield live


class _Ceremony:
    def __init__(self, iid: str) -> None:
        self.action = f"/login/{iid}/passkey?x=1&y=2"
        self.options = '{"challenge": "c<h>&\'1", "rpId": "localhost"}'


def _view(iid: str, client_name: str, **prompt: Any) -> InteractionView:
    return InteractionView.new(
        iid, "client-1", {"_client_name": client_name, "_scopes": ["openid"], "_prompt": {"login": True, **prompt}}
    )


def _template_page(view: InteractionView) -> str:
    return render_template(
        "antin/login.html",
        iid=view.id,
        view=view,
        login_value="",
        page_url=url_for("login.interaction", iid=view.id),
    )


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("script_root", ["", "/idp"])
@pytest.mark.parametrize("passkeys", [True, False])
def test_the_kept_page_is_the_templates_page_byte_for_byte(
    op: LiveProvider, locale: str, script_root: str, passkeys: bool
) -> None:
    app: Flask = op.app
    if not passkeys:
        app.jinja_env.globals.pop(PASSKEY_GLOBAL, None)
    else:
        app.jinja_env.globals[PASSKEY_GLOBAL] = _Ceremony
    pages = FirstPages()
    names = ["Hồ sơ công việc", "Tên <b>\"lạ\"</b> & 'khác'", "Hồ sơ công việc"]
    for n, name in enumerate(names):
        iid = f"iid-{n}_Abc"
        with app.test_request_context("/authorize", base_url=f"http://localhost{script_root}"):
            g.ui_locale = locale
            view = _view(iid, name)
            kept = pages.body(view)
            token = session["_csrf"]
            assert kept is not None
            assert kept == _template_page(view)
            assert session["_csrf"] == token  # the template found the token the kept page had put in the session
            assert f'action="{script_root}/login/{iid}"' in kept and token in kept
            assert ('id="passkey-form"' in kept) is passkeys and (f'lang="{locale}"' in kept)
    assert len(pages._kept) == 2  # two names in one language under one root: two renderings


def test_a_page_that_can_differ_otherwise_is_rendered_by_the_template(op: LiveProvider) -> None:
    with op.app.test_request_context("/authorize"):
        pages = FirstPages()
        assert pages.body(_view("iid-1", "App", login_hint="an.nguyen")) is None  # the hint fills the form
        assert pages.body(_view("iid.with/slash", "App")) is None
        op.app.jinja_env.auto_reload = True  # development: templates may change under the process
        try:
            assert pages.body(_view("iid-2", "App")) is None
        finally:
            op.app.jinja_env.auto_reload = False


@contextmanager
def _renders(app: Flask) -> Iterator[list[str]]:
    names: list[str] = []

    def seen(_sender: Any, template: Any, **_extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(seen, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(seen, app)


def _first_page(browser: Browser, rp: RelyingParty, **params: str) -> requests.Response:
    page = browser.session.get(
        rp.op.issuer + "/authorize", params=rp.auth_params(**params), allow_redirects=False, timeout=10
    )
    assert page.status_code == 200 and 'id="login-form"' in page.text
    return page


def test_each_browser_gets_its_own_token_interaction_and_challenge(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    first, second = Browser(op.issuer), Browser(op.issuer)
    with _renders(op.app) as rendered:
        page_1 = _first_page(first, rp)
        page_2 = _first_page(second, rp)
        page_3 = _first_page(second, rp)  # the same browser again: its token, a new interaction
    assert rendered.count("antin/login.html") == 1  # once for this application and language, not per sign-in
    form_1, form_2, form_3 = (forms_of(p.text) for p in (page_1, page_2, page_3))
    token_1 = form_1["login-form"]["inputs"]["csrf_token"]
    token_2 = form_2["login-form"]["inputs"]["csrf_token"]
    assert token_1 != token_2 and token_1 not in page_2.text and token_2 not in page_1.text
    assert form_3["login-form"]["inputs"]["csrf_token"] == token_2
    actions = {f["login-form"]["action"] for f in (form_1, form_2, form_3)}
    assert len(actions) == 3
    options = {f["passkey-form"]["action"] for f in (form_1, form_2, form_3)}
    assert len(options) == 3  # each interaction's own passkey address
    assert len({p.text.split('data-options="')[1].split('"')[0] for p in (page_1, page_2, page_3)}) == 3
    # another browser's token is refused; each browser's own form signs it in
    stolen = {**form_2["login-form"]["inputs"], "csrf_token": token_1, "username": "an.nguyen", "password": PASSWORD}
    refused = second.session.post(
        urljoin(page_2.url, form_2["login-form"]["action"]), data=stolen, allow_redirects=False, timeout=10
    )
    assert refused.status_code == 400
    for browser, page in ((first, page_1), (second, page_3)):
        done = browser.login(page, "an.nguyen", PASSWORD)
        assert done.location is not None and "code=" in done.location


def test_another_language_or_application_is_rendered_once_each(op: LiveProvider) -> None:
    rp_1 = RelyingParty.register(op, name="Hồ sơ công việc")
    rp_2 = RelyingParty.register(op, name="Văn bản điện tử")
    with _renders(op.app) as rendered:
        vi = _first_page(Browser(op.issuer), rp_1)
        en = _first_page(Browser(op.issuer), rp_1, ui_locales="en")
        other = _first_page(Browser(op.issuer), rp_2)
        again = [_first_page(Browser(op.issuer), rp, **p) for rp, p in ((rp_1, {}), (rp_1, {"ui_locales": "en"}))]
    assert rendered.count("antin/login.html") == 3
    assert 'lang="vi"' in vi.text and 'lang="en"' in en.text and "Hồ sơ công việc" in vi.text
    assert "Văn bản điện tử" in other.text and "Văn bản điện tử" not in vi.text
    assert 'lang="vi"' in again[0].text and 'lang="en"' in again[1].text
    hinted = _first_page(Browser(op.issuer), rp_1, login_hint="an.nguyen")
    assert 'value="an.nguyen"' in hinted.text
