"""The password-policy control (draft-behera-ldap-password-policy) of bind and password-modify responses."""

from __future__ import annotations

import logging
import typing
from collections.abc import Sequence
from typing import Any

import ldap
from ldap.controls import DecodeControlTuples
from ldap.controls.ppolicy import PasswordPolicyControl

from directory.ldap_client.values import PolicyError

__all__ = ["QUALITY_REASONS", "decoded_error_controls", "policy_control", "policy_error"]

log = logging.getLogger(__name__)

# in the order of the draft's error codes (section 6.2), which is the order PolicyError lists them in
_POLICY_ERRORS: tuple[PolicyError, ...] = typing.get_args(PolicyError)
QUALITY_REASONS = {
    "insufficient-password-quality": "the password is too simple",
    "password-too-short": "the password is too short",
    "password-too-young": "the password was changed too recently",
    "password-in-history": "the password was used recently",
}


def policy_control(ctrls: Sequence[Any] | None) -> PasswordPolicyControl | None:
    for ctrl in ctrls or ():
        if isinstance(ctrl, PasswordPolicyControl):
            return ctrl
    return None


def decoded_error_controls(err: ldap.LDAPError) -> list[Any]:
    data = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    raw = data.get("ctrls") or []
    try:
        return list(DecodeControlTuples(raw))
    except Exception:  # a malformed control must not hide the error itself
        log.warning("undecodable response control from the LDAP server")
        return []


def policy_error(ctrl: PasswordPolicyControl | None) -> PolicyError | None:
    if ctrl is None or ctrl.error is None:
        return None
    code = int(ctrl.error)
    return _POLICY_ERRORS[code] if 0 <= code < len(_POLICY_ERRORS) else None
