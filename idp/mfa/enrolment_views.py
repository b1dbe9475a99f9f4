"""Enrolment inside the login (``/login/<iid>/enrol``, the :class:`~idp.mfa.steps.EnrolmentStep`): an official
whose required level needs a factor they have not set up (a group's or the client's policy, or after ``antin mfa
reset``) adds an authenticator app or a security key there, keeps the recovery codes, and the login goes on.

The factor set up here is the one the sign-in is counted with: the app's first code is a one-time password of
the new secret (``otp``), the key's registration answer is the key's own signature over this ceremony's
challenge (``hwk``/``swk``, ``user``, and ``pin`` when it verified the user). Only a key is offered when the
level needed is phishing-resistant.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance, require_csrf
from idp.login.flow import ACCOUNT, interaction_view, pending_authentication, request_ip, step_completed
from idp.login.steps import official_minimum
from idp.mfa import get_mfa_service
from idp.mfa.errors import EnrolmentExpiredError
from idp.mfa.policy import reminder
from idp.mfa.security_key_views import (
    acr_of_assertion,
    amr_of_assertion,
    keep_challenge,
    security_keys,
    take_challenge,
)
from idp.mfa.security_keys import AssertionOutcome, AssertionStatus
from idp.mfa.settings import MfaSettings
from idp.mfa.steps import ENROL_STEP
from idp.mfa.views import AMR_SECOND_FACTOR, _page, bp
from idp.mfa.webauthn import WebAuthnRefusedError
from idp.oidc.acr import ACR_MFA, acr_rank, satisfies
from idp.oidc.browser import current_provider, error_page

__all__ = ["enrolment_step"]


def _expired() -> BaseResponse:
    return error_page(
        _("This sign-in has expired"),
        _("Please go back to the application and start signing in again."),
        code="interaction expired",
    )


@bp.route("/login/<iid>/enrol", methods=["GET", "POST"])
def enrolment_step(iid: str) -> BaseResponse:
    pending = pending_authentication()
    view = interaction_view(iid)
    if pending is None or pending.iid != iid or (iid != ACCOUNT and view is None):
        return _expired()
    subject, login = pending.result.subject, pending.result.login
    person = current_provider().directory.find_by_uuid(subject)
    if person is None:
        return _expired()
    instance = get_instance()
    settings = instance.settings.section(MfaSettings)
    required = official_minimum(person, view.prompt.minimum_acr if view else None)
    coming = reminder(settings, person, instance.clock.now())
    coming_level = coming[0] if coming else None
    # before [mfa] enrol_by, when nothing else is missing, the official may put it off
    deadline = coming[1] if coming else None
    postpone = coming_level is not None and deadline is not None and satisfies(pending.result.acr, required)
    later = deadline.strftime("%d/%m/%Y") if postpone and deadline is not None else None
    target = max((level for level in (required, coming_level) if level), key=acr_rank, default=ACR_MFA)
    offer_app = acr_rank(target) <= acr_rank(ACR_MFA)  # an app cannot give phishing resistance
    need_uv = not offer_app  # and a key gives it only when it verifies the user (PIN, biometric)
    service = get_mfa_service(instance)

    def enrolment_page(status: int = 200, *, error: str | None = None, totp_token: str | None = None) -> BaseResponse:
        context: dict[str, Any] = {"iid": iid, "view": view, "error": error, "offer_app": offer_app, "later": later}
        if offer_app:
            context["enrolment"] = (
                service.enrolment_again(subject, totp_token, account=login)
                if totp_token
                else service.begin_totp(subject, account=login)
            )
        ceremony = security_keys().begin_registration(
            subject, login=login, display_name=login, require_user_verification=need_uv
        )
        keep_challenge(ceremony, purpose="register", subject=subject)
        return _page("antin/mfa_enrol.html", status, options=ceremony.options_json, **context)

    if request.method == "GET":
        return enrolment_page()
    require_csrf()
    if request.form.get("method") == "later" and later is not None:
        service.audit.record(
            "mfa:enrolment:postpone", actor=subject, subject=subject, ip=request_ip(), details={"until": later}
        )
        return step_completed(ENROL_STEP, acr=pending.result.acr, amr=())
    if request.form.get("method") == "totp" and offer_app:
        token = request.form.get("enrolment", "")
        try:
            name = request.form.get("name", "").strip() or _("Authenticator app")
            factor = service.confirm_totp(subject, token, request.form.get("code", ""), name=name, ip=request_ip())
        except EnrolmentExpiredError:
            error = _("This page was open too long. Scan the new QR code and enter its first code.")
            return enrolment_page(400, error=error)
        if factor is None:
            error = _("Wrong code. Enter the code your app shows now for this new key.")
            return enrolment_page(400, error=error, totp_token=token)
        return _with_recovery_codes(step_completed(ENROL_STEP, acr=ACR_MFA, amr=AMR_SECOND_FACTOR), subject)
    challenge = take_challenge(purpose="register", subject=subject)
    answer = request.form.get("credential", "")
    if challenge is None:
        return enrolment_page(400, error=_("This page was open too long. Try again with your security key."))
    if not answer:
        error = _("The security key was not used. Try again, and touch it or unlock it when the browser asks.")
        return enrolment_page(400, error=error)
    keys = security_keys()
    try:
        name = request.form.get("name", "").strip() or _("Security key")
        key = keys.finish_registration(
            subject, answer, challenge, name=name, ip=request_ip(), require_user_verification=need_uv
        )
    except WebAuthnRefusedError:
        error = _("The security key's answer could not be accepted. Try again, on this page, with your key.")
        if need_uv:
            error = _("This application needs a key that checks your PIN or fingerprint. Use such a key or passkey.")
        return enrolment_page(400, error=error)
    outcome = AssertionOutcome(AssertionStatus.ACCEPTED, key.user_verified, key.backup_eligible, keys.is_hardware(key))
    acr = acr_of_assertion(outcome)
    amr = amr_of_assertion(user_verified=key.user_verified, synced=key.backup_eligible)
    return _with_recovery_codes(step_completed(ENROL_STEP, acr=acr, amr=amr), subject)


def _with_recovery_codes(next_hop: BaseResponse, subject: str) -> BaseResponse:
    """The first factor comes with ten recovery codes, shown once; then the login goes on where it was going."""
    service = get_mfa_service(get_instance())
    if service.recovery_codes_left(subject) > 0:
        return next_hop
    codes = service.regenerate_recovery_codes(subject, ip=request_ip())
    next_url = next_hop.headers.get("Location", "/")
    page = _page("antin/mfa_recovery_codes.html", codes=codes, first=True, next_url=next_url)
    for cookie in next_hop.headers.getlist("Set-Cookie"):  # the SSO session cookie, when the sign-in ended here
        page.headers.add("Set-Cookie", cookie)
    return page
