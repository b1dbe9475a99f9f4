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

A step registered with ``last=True`` (MFA's enrolment) is asked only after every other step: it is for what
they could not give. A :data:`LevelPolicy` registered with :func:`register_level_policy` adds the level an
official must reach whatever the client asks (MFA's policies by directory group); the login refuses the client
with ``unmet_authentication_requirements`` when the steps end below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from directory.models import Person
from idp.oidc.acr import acr_rank
from idp.oidc.interaction import AuthenticationResult

__all__ = [
    "AuthenticationStep",
    "LevelPolicy",
    "PasswordListener",
    "PasswordSignIn",
    "StepContext",
    "next_step",
    "official_minimum",
    "password_accepted",
    "register_level_policy",
    "register_password_listener",
    "register_step",
    "registered_steps",
    "unregister_level_policy",
    "unregister_step",
]

LevelPolicy = Callable[[Person], str | None]
"""The level an official must reach at any sign-in (None: no demand of its own)."""


@dataclass(frozen=True)
class PasswordSignIn:
    """A right password, as listeners registered with :func:`register_password_listener` hear of it."""

    person: Person
    known_browser: bool  # the browser had signed in as this official before (the provider's device cookie)
    ip: str
    user_agent: str


PasswordListener = Callable[[PasswordSignIn], None]


@dataclass(frozen=True)
class StepContext:
    person: Person
    result: AuthenticationResult  # what has been proven so far
    required_acr: str | None  # the level the sign-in aims for (what the client or the request wants)
    client_id: str | None
    minimum_acr: str | None = None  # below it the client is refused: its own, the request's, the official's policy
    # what the steps read while deciding, kept for the next step asked with this context: the steps of one package
    # share one read (MFA's security key and TOTP steps both need the official's factors: one SQL statement)
    reads: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


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
_LAST_STEPS: list[AuthenticationStep] = []
_POLICIES: list[LevelPolicy] = []


def register_step(step: AuthenticationStep, *, last: bool = False) -> None:
    if any(s.name == step.name for s in registered_steps()):
        return
    (_LAST_STEPS if last else _STEPS).append(step)


def unregister_step(name: str) -> None:
    _STEPS[:] = [s for s in _STEPS if s.name != name]
    _LAST_STEPS[:] = [s for s in _LAST_STEPS if s.name != name]


def registered_steps() -> tuple[AuthenticationStep, ...]:
    return (*_STEPS, *_LAST_STEPS)


def next_step(ctx: StepContext, done: tuple[str, ...]) -> AuthenticationStep | None:
    for step in registered_steps():
        if step.name not in done and step.required(ctx):
            return step
    return None


def register_level_policy(policy: LevelPolicy) -> None:
    if policy not in _POLICIES:
        _POLICIES.append(policy)


def unregister_level_policy(policy: LevelPolicy) -> None:
    _POLICIES[:] = [p for p in _POLICIES if p is not policy]


def official_minimum(person: Person, client_minimum: str | None) -> str | None:
    """The strongest of the client's (or request's) minimum and every registered policy's level for ``person``."""
    levels = [level for level in (client_minimum, *(policy(person) for policy in _POLICIES)) if level]
    return max(levels, key=acr_rank) if levels else None


_LISTENERS: list[PasswordListener] = []


def register_password_listener(listener: PasswordListener) -> None:
    """``listener`` hears of every right password (MFA's e-mail about a new browser); it must return at once."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def password_accepted(event: PasswordSignIn) -> None:
    for listener in _LISTENERS:
        listener(event)
