"""The sign-in's pages are compiled when the app is built, not by each worker's first sign-ins; what they show is
unchanged (the passkey button, which MFA adds after the login is set up, included)."""

from __future__ import annotations

from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.idp.rp import Browser, RelyingParty


def test_the_sign_in_pages_are_compiled_at_start_and_show_what_they_showed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with live_provider(tmp_path / "op", make_directory()) as op:
        compiled = {name for _loader, name in op.app.jinja_env.cache}  # type: ignore[union-attr]
        assert {"antin/base.html", "antin/login.html", "antin/mfa_passkey_form.html", "antin/error.html"} <= compiled
        rp = RelyingParty.register(op)
        page = Browser(op.issuer).session.get(
            op.issuer + "/authorize", params=rp.auth_params(), allow_redirects=False, timeout=10
        )
        assert page.status_code == 200 and 'id="login-form"' in page.text and 'id="passkey-form"' in page.text
