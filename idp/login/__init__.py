"""The login interaction: password sign-in, password change, consent, and the official's account page.

It is separate from the protocol: :mod:`idp.oidc` hands it an interaction and takes back an
:class:`idp.oidc.interaction.AuthenticationResult` (subject, auth_time, acr, amr).

Where things are: :mod:`idp.login.views` (the pages, blueprint ``bp``), :mod:`idp.login.service` (checking a
password, through the throttle of :mod:`idp.throttle`), :mod:`idp.login.flow` (the state between the password,
the extra steps and the hand-back to the protocol) and :mod:`idp.login.steps` (where MFA steps plug in: a step
package registers its steps and its own blueprint, and reads and ends the sign-in through ``flow``).
"""

from __future__ import annotations

from flask import Flask

from antin.kernel.instance import Instance
from idp.login.service import LoginService, build_login_service

__all__ = ["EXTENSION_KEY", "get_login_service", "init_app"]

EXTENSION_KEY = "antin.login"
# the pages of a sign-in, compiled when the app is built rather than by each worker's first sign-ins (Jinja keeps
# a compiled template for the life of the process)
SIGN_IN_TEMPLATES = ("antin/base.html", "antin/login.html", "antin/mfa_passkey_form.html", "antin/error.html")


def get_login_service(instance: Instance) -> LoginService:
    """The instance's login service, built on first use."""
    return instance.service(EXTENSION_KEY, build_login_service)


def init_app(app: Flask) -> None:
    from idp.login.first_page import FIRST_PAGES_KEY, FirstPages
    from idp.login.views import bp, first_login_page
    from idp.oidc.browser import register_login_page
    from idp.oidc.ui import init_ui

    init_ui(app)
    app.register_blueprint(bp)
    register_login_page(app, first_login_page)
    app.extensions[FIRST_PAGES_KEY] = FirstPages()
    for name in SIGN_IN_TEMPLATES:
        app.jinja_env.get_template(name)
