"""Passwordless sign-in with a passkey (a discoverable WebAuthn credential, the user verified by the
authenticator): the "sign in with a passkey" button and conditional UI on the login page, and
``/login/<iid>/passkey``, which takes the answer and begins the login's steps as the password would.

The login page gets its ceremony from the template global ``passkey_ceremony(iid)`` this module registers, so
that :mod:`idp.login` knows nothing of WebAuthn. A passkey sign-in has ``acr``
``urn:antin:acr:phishing-resistant`` and ``amr`` ``hwk``/``swk``, ``user``, ``pin``, ``mfa`` (possession and a
PIN or biometric: two factors, and no password).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance, require_csrf
from directory.models import AccountStatus
from idp.login.flow import ACCOUNT, begin_steps, first_factor_other_than_password, interaction_view, request_ip
from idp.mfa.security_key_views import acr_of_assertion, amr_of_assertion, keep_challenge, security_keys, take_challenge
from idp.mfa.security_keys import AssertionStatus
from idp.mfa.views import _page, bp
from idp.oidc.browser import current_provider, error_page
from idp.oidc.interaction import AuthenticationResult

__all__ = ["PASSKEY_STEP", "PasskeyCeremony", "init_passkeys"]

PASSKEY_STEP = "passkey"  # the first factor's name among the login's steps, like "password"


@dataclass(frozen=True)
class PasskeyCeremony:
    action: str
    options: str


def passkey_ceremony(iid: str) -> PasskeyCeremony:
    """A passkey ceremony for the login page of ``iid``: its challenge kept for ``/login/<iid>/passkey``."""
    ceremony = security_keys().begin_passkey()
    keep_challenge(ceremony, purpose=f"passkey {iid}", subject="")
    return PasskeyCeremony(url_for("mfa.passkey_sign_in", iid=iid), ceremony.options_json)


def init_passkeys(app: Flask) -> None:
    app.jinja_env.globals["passkey_ceremony"] = passkey_ceremony


def _expired() -> BaseResponse:
    return error_page(
        _("This sign-in has expired"),
        _("Please go back to the application and start signing in again."),
        code="interaction expired",
    )


@bp.route("/login/<iid>/passkey", methods=["GET", "POST"])
def passkey_sign_in(iid: str) -> BaseResponse:
    view = interaction_view(iid)
    if iid != ACCOUNT and view is None:
        return _expired()

    def passkey_page(status: int = 200, error: str | None = None) -> BaseResponse:
        return _page("antin/mfa_passkey.html", status, iid=iid, view=view, error=error)

    if request.method == "GET":
        return passkey_page()
    require_csrf()
    challenge = take_challenge(purpose=f"passkey {iid}", subject="")
    answer = request.form.get("credential", "")
    if challenge is None:
        return passkey_page(400, _("This page was open too long. Use your passkey again."))
    if not answer:
        return passkey_page(400, _("The passkey was not used. Try again, and unlock it when the browser asks."))
    subject, outcome = security_keys().verify_passkey(answer, challenge, ip=request_ip())
    if outcome.status is not AssertionStatus.ACCEPTED or subject is None:
        messages = {
            AssertionStatus.UNKNOWN_CREDENTIAL: _(
                "This passkey is not registered with Ấn Tín. Sign in with your password, then add it on your"
                " security page."
            ),
            AssertionStatus.CLONED: _(
                "This passkey was refused: its counter went backwards, as a copied key's would. Sign in with your"
                " password, and tell your administrator."
            ),
        }
        message = messages.get(
            outcome.status,
            _("The passkey's answer could not be accepted. It must ask for your PIN or fingerprint; try again."),
        )
        return passkey_page(401, message)
    person = current_provider().directory.find_by_uuid(subject)
    if person is None or person.status is not AccountStatus.ACTIVE or person.locked:
        return error_page(
            _("This account cannot sign in"),
            _("It is locked or disabled. Contact your unit's administrator."),
            status=403,
        )
    if view is not None and view.prompt.expected_subject and view.prompt.expected_subject != person.entry_uuid:
        return passkey_page(400, _("The application expected another account. Use the passkey of that account."))
    result = AuthenticationResult(
        subject=person.entry_uuid,
        auth_time=get_instance().clock.now(),
        acr=acr_of_assertion(outcome),  # user verification was required: phishing-resistant at least
        amr=amr_of_assertion(user_verified=True, synced=outcome.backup_eligible),
        login=person.uid,
    )
    return first_factor_other_than_password(person, begin_steps(iid, view, person, result, first=PASSKEY_STEP))
