"""The pages of security keys and passkeys (WebAuthn), on the blueprint of :mod:`idp.mfa.views`:
``/account/security/webauthn`` (register one) and ``/login/<iid>/security-key`` (the second step with one).

The ceremony's challenge stays in the signed session, bound to the official, its purpose and the time it was
issued, and is taken out by the answer (used once). The browser side is ``static/webauthn.js``: it feeds the
options to ``navigator.credentials`` and posts ``credential.toJSON()`` back in an ordinary form; a cancelled
ceremony is said on the page itself, and an answer that does not verify gets a page that says what to do.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance, require_csrf
from idp.login.flow import ACCOUNT, interaction_view, pending_authentication, request_ip, step_completed
from idp.mfa import get_mfa_service
from idp.mfa.security_keys import (
    CEREMONY_SECONDS,
    AssertionOutcome,
    AssertionStatus,
    SecurityKeys,
    get_security_keys,
)
from idp.mfa.steps import WEBAUTHN_STEP
from idp.mfa.views import FLASH, _page, _recent, _sign_in_again, _sign_in_first, bp
from idp.mfa.webauthn import Ceremony, WebAuthnRefusedError
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT_HARDWARE, acr_rank
from idp.oidc.browser import current_sso_session, error_page

__all__ = ["acr_of_assertion", "amr_of_assertion", "keep_challenge", "security_keys", "take_challenge"]

CEREMONY_KEY = "antin_webauthn"


def security_keys() -> SecurityKeys:
    return get_security_keys(get_instance())


def _slot(purpose: str) -> str:
    """One ceremony per kind at a time (registration, second step, passkey), so that one page does not spoil
    another's: the login page's passkey challenge stays while the security page registers a key."""
    return f"{CEREMONY_KEY}:{purpose.split(maxsplit=1)[0]}"


def keep_challenge(ceremony: Ceremony, *, purpose: str, subject: str) -> None:
    session[_slot(purpose)] = {
        "purpose": purpose,
        "subject": subject,
        "challenge": base64.urlsafe_b64encode(ceremony.challenge).decode(),
        "at": int(get_instance().clock.now().timestamp()),
    }


def take_challenge(*, purpose: str, subject: str) -> bytes | None:
    """The challenge this browser was given for ``purpose``, once; None when absent, another's or too old."""
    kept = session.pop(_slot(purpose), None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose or kept.get("subject") != subject:
        return None
    if int(kept.get("at", 0)) + CEREMONY_SECONDS < get_instance().clock.now().timestamp():
        return None
    return base64.urlsafe_b64decode(str(kept.get("challenge", "")))


def acr_of_assertion(outcome: AssertionOutcome) -> str:
    """Phishing-resistant when the key verified the user (the issue's rule), hardware when its model is on the
    allow-list and it is kept on one device; a mere touch is a second factor."""
    if not outcome.user_verified:
        return ACR_MFA
    return ACR_PHISHING_RESISTANT_HARDWARE if outcome.hardware else ACR_PHISHING_RESISTANT


def amr_of_assertion(*, user_verified: bool, synced: bool) -> tuple[str, ...]:
    """RFC 8176: a key in hardware (``hwk``), or a synced passkey (``swk``: its private key left the device);
    the user's presence (``user``), and ``pin`` when the authenticator verified the user (a PIN or a biometric:
    WebAuthn does not say which)."""
    return ("swk" if synced else "hwk", "user", *(("pin",) if user_verified else ()), "mfa")


# -- registering a key ------------------------------------------------------------------------------------------


def _registration_page(sso_subject: str, login: str, status: int = 200, **context: Any) -> BaseResponse:
    ceremony = security_keys().begin_registration(sso_subject, login=login, display_name=login)
    keep_challenge(ceremony, purpose="register", subject=sso_subject)
    context.setdefault("name", _("Security key"))
    return _page("antin/mfa_webauthn.html", status, options=ceremony.options_json, **context)


@bp.route("/account/security/webauthn", methods=["GET", "POST"])
def enrol_webauthn() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first()
    if request.method == "GET":
        if not _recent(sso):
            return _sign_in_again()
        return _registration_page(sso.subject, sso.login)
    require_csrf()  # the challenge was given after the recency check, to this official, minutes ago
    name = request.form.get("name", "").strip() or _("Security key")
    challenge = take_challenge(purpose="register", subject=sso.subject)
    if challenge is None:
        error = _("This page was open too long. Try again with your security key.")
        return _registration_page(sso.subject, sso.login, 400, name=name, error=error)
    answer = request.form.get("credential", "")
    if not answer:
        error = _("The security key was not used. Try again, and touch it or unlock it when the browser asks.")
        return _registration_page(sso.subject, sso.login, 400, name=name, error=error)
    try:
        security_keys().finish_registration(sso.subject, answer, challenge, name=name, ip=request_ip())
    except WebAuthnRefusedError:
        error = _("The security key's answer could not be accepted. Try again, on this page, with your key.")
        return _registration_page(sso.subject, sso.login, 400, name=name, error=error)
    service = get_mfa_service(get_instance())
    if service.recovery_codes_left(sso.subject) == 0:
        codes = service.regenerate_recovery_codes(sso.subject, ip=request_ip())
        return _page("antin/mfa_recovery_codes.html", codes=codes, first=True)
    session[FLASH] = _("The security key has been added.")
    return redirect(url_for("mfa.security"), code=303)


# -- the second step with a key ---------------------------------------------------------------------------------


@bp.route("/login/<iid>/security-key", methods=["GET", "POST"])
def security_key_step(iid: str) -> BaseResponse:
    pending = pending_authentication()
    view = interaction_view(iid)
    if pending is None or pending.iid != iid or (iid != ACCOUNT and view is None):
        return error_page(
            _("This sign-in has expired"),
            _("Please go back to the application and start signing in again."),
            code="interaction expired",
        )
    subject = pending.result.subject
    keys = security_keys()
    # the app is offered instead only when it can still help (not in a step-up from a session at mfa)
    has_totp = acr_rank(pending.result.acr) < acr_rank(ACR_MFA) and get_mfa_service(get_instance()).has_totp(subject)

    def step_page(status: int = 200, error: str | None = None) -> BaseResponse:
        ceremony = keys.begin_assertion(subject)
        keep_challenge(ceremony, purpose=f"login {iid}", subject=subject)
        return _page(
            "antin/mfa_webauthn_step.html",
            status,
            iid=iid,
            view=view,
            options=ceremony.options_json,
            has_totp=has_totp,
            error=error,
        )

    if request.method == "GET":
        return step_page()
    require_csrf()
    challenge = take_challenge(purpose=f"login {iid}", subject=subject)
    answer = request.form.get("credential", "")
    if challenge is None:
        return step_page(400, _("This page was open too long. Use your security key again."))
    if not answer:
        return step_page(400, _("The security key was not used. Try again, and touch it or unlock it when asked."))
    outcome = keys.verify_assertion(subject, answer, challenge, ip=request_ip())
    if outcome.status is AssertionStatus.ACCEPTED:
        acr = acr_of_assertion(outcome)
        amr = amr_of_assertion(user_verified=outcome.user_verified, synced=outcome.backup_eligible)
        return step_completed(WEBAUTHN_STEP, acr=acr, amr=amr)
    messages = {
        AssertionStatus.UNKNOWN_CREDENTIAL: _(
            "This security key or passkey is not registered for your account. Use one you added on your security page."
        ),
        AssertionStatus.CLONED: _(
            "This security key was refused: its counter went backwards, as a copied key's would. Use another key,"
            " and tell your administrator."
        ),
        AssertionStatus.REFUSED: _("The security key's answer could not be accepted. Try again on this page."),
    }
    return step_page(401, messages[outcome.status])
