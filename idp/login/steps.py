"""The authentication steps after the password, and where MFA plugs in.

The password step always runs first. Then each registered :class:`AuthenticationStep` is asked, in order,
whether it must run for this official and this request (``required``); the first that must is shown (the
browser goes to its ``endpoint``, called with ``iid``). A step is a page of its own package (the MFA issue's
``idp/mfa/``: TOTP, WebAuthn and recovery-code steps, an enrolment step), registered by that package's
``init_app`` with :func:`register_step` beside its own blueprint. Its page talks to the login only through
:mod:`idp.login.flow`: :func:`~idp.login.flow.pending_authentication` (who is signing in, what is proven so
far), :func:`~idp.login.flow.interaction_view` (the application asking, in the client's language) and
:func:`~idp.login.flow.request_ip` (for the audit log and throttling wrong codes); when the official passes it
returns :func:`~idp.login.flow.step_completed` with the stronger ``acr``/``amr``. Nothing in the protocol code
changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from directory.models import Person
from idp.oidc.interaction import AuthenticationResult

__all__ = ["AuthenticationStep", "StepContext", "next_step", "register_step", "registered_steps", "unregister_step"]


@dataclass(frozen=True)
class StepContext:
    person: Person
    result: AuthenticationResult  # what has been proven so far
    required_acr: str | None  # what the client or the request demands
    client_id: str | None


class AuthenticationStep(Protocol):
    # read-only members, so that a frozen dataclass is a step too
    @property
    def name(self) -> str:
        """Recorded in the pending sign-in once passed; unique among the registered steps."""
        ...

    @property
    def endpoint(self) -> str:
        """Flask endpoint the browser is sent to, called with iid=<interaction id or "-">."""
        ...

    def required(self, ctx: StepContext) -> bool: ...


_STEPS: list[AuthenticationStep] = []


def register_step(step: AuthenticationStep) -> None:
    if any(s.name == step.name for s in _STEPS):
        return
    _STEPS.append(step)


def unregister_step(name: str) -> None:
    _STEPS[:] = [s for s in _STEPS if s.name != name]


def registered_steps() -> tuple[AuthenticationStep, ...]:
    return tuple(_STEPS)


def next_step(ctx: StepContext, done: tuple[str, ...]) -> AuthenticationStep | None:
    for step in _STEPS:
        if step.name not in done and step.required(ctx):
            return step
    return None
