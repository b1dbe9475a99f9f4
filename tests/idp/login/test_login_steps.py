"""The MFA extension point: a step registered after the password raises acr/amr, with no protocol change."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Blueprint, request
from flask_babel import get_locale
from werkzeug.wrappers import Response

from antin.kernel.web import csrf_token
from idp.login.flow import interaction_view, pending_authentication, step_completed
from idp.login.steps import StepContext, register_step, unregister_step
from idp.oidc.acr import ACR_MFA, acr_rank
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty


@dataclass(frozen=True)
class PinStep:
    """A stand-in second factor: the PIN 2468, asked when the request needs more than a password."""

    name: str = "pin"
    endpoint: str = "pin_step.ask"

    def required(self, ctx: StepContext) -> bool:
        return acr_rank(ctx.required_acr) > acr_rank(ctx.result.acr)


@pytest.fixture
def pin_step(op: LiveProvider) -> Iterator[None]:
    bp = Blueprint("pin_step", __name__)

    @bp.route("/login/<iid>/pin", methods=["GET", "POST"])
    def ask(iid: str) -> Response:
        pending = pending_authentication()
        assert pending is not None and pending.iid == iid
        if request.method == "POST" and request.form.get("pin") == "2468":
            return step_completed("pin", acr=ACR_MFA, amr=("otp",))
        interaction_view(iid)  # what a real step reads to name the application; its page takes the client's language
        return Response(
            f'<form id="pin-form" method="post" action="/login/{iid}/pin" lang="{get_locale()}">'
            f'<input name="csrf_token" value="{csrf_token()}">'
            '<input name="pin"></form>',
            mimetype="text/html",
        )

    op.app.register_blueprint(bp)
    register_step(PinStep())
    yield
    unregister_step("pin")


def test_a_registered_step_raises_the_level(op: LiveProvider, pin_step: None) -> None:
    rp = RelyingParty.register(op, required_acr=ACR_MFA)
    browser = Browser(op.issuer)
    page = rp.authorize(browser).page
    assert page is not None
    pin_page = browser.login(page, "an.nguyen", "correct horse").page
    assert pin_page is not None and 'id="pin-form"' in pin_page.text
    wrong = browser.submit(pin_page, "pin-form", {"pin": "0000"})
    assert wrong.page is not None and 'id="pin-form"' in wrong.page.text
    params = browser.submit(pin_page, "pin-form", {"pin": "2468"}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp"]


def test_without_the_step_the_required_level_is_refused(tmp_path: Path) -> None:
    # enrolment inside the login off: nothing can raise the level, so the client hears it
    with live_provider(tmp_path, make_directory(), mfa__enrol_in_login=False) as op:
        rp = RelyingParty.register(op, required_acr=ACR_MFA)
        browser = Browser(op.issuer)
        page = rp.authorize(browser).page
        assert page is not None
        outcome = browser.login(page, "an.nguyen", "correct horse")
        assert outcome.params["error"] == "unmet_authentication_requirements"


@pytest.mark.parametrize(("ui_locales", "lang"), [("en", "en"), ("vi", "vi")])
def test_a_step_page_speaks_the_clients_ui_locales(
    op: LiveProvider, pin_step: None, ui_locales: str, lang: str
) -> None:
    rp = RelyingParty.register(op, required_acr=ACR_MFA)
    browser = Browser(op.issuer)
    page = rp.authorize(browser, ui_locales=ui_locales).page
    assert page is not None
    pin_page = browser.login(page, "an.nguyen", "correct horse").page
    assert pin_page is not None and f'lang="{lang}"' in pin_page.text
