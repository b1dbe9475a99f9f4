"""The password-policy control (draft-behera-ldap-password-policy) of bind and password-modify responses."""

from __future__ import annotations

import logging
import typing
from collections.abc import Sequence
from typing import Any

import ldap
from ldap.controls import KNOWN_RESPONSE_CONTROLS, DecodeControlTuples
from ldap.controls.ppolicy import PasswordPolicyControl

from directory.ldap_client.values import PolicyError

__all__ = ["QUALITY_REASONS", "RESPONSE_CONTROLS", "decoded_error_controls", "policy_control", "policy_error"]

log = logging.getLogger(__name__)

# in the order of the draft's error codes (section 6.2), which is the order PolicyError lists them in
_POLICY_ERRORS: tuple[PolicyError, ...] = typing.get_args(PolicyError)
QUALITY_REASONS = {
    "insufficient-password-quality": "the password is too simple",
    "password-too-short": "the password is too short",
    "password-too-young": "the password was changed too recently",
    "password-in-history": "the password was used recently",
}

NOTHING_TO_REPORT = b"\x30\x00"  # an empty SEQUENCE: no warning, no error


class _PolicyControl(PasswordPolicyControl):  # type: ignore[misc]  # python-ldap is untyped
    """python-ldap's password-policy control, without pyasn1 for the value every bind with nothing to report gets
    (slapd answers the request control on each bind): 0.4 µs where pyasn1 took 23 µs to decode those two bytes. Any
    other value is decoded by python-ldap's code, as before."""

    def decodeControlValue(self, encodedControlValue: bytes) -> None:  # noqa: N802, N803 (python-ldap's names)
        if encodedControlValue == NOTHING_TO_REPORT:
            return  # timeBeforeExpiration, graceAuthNsRemaining and error stay None
        super().decodeControlValue(encodedControlValue)


class _ResponseControls(dict[str, Any]):
    """The response controls python-ldap decodes for us: the password policy's by :class:`_PolicyControl`, every
    other by python-ldap's class for it (looked up when met: its modules register theirs as they are imported)."""

    def __missing__(self, control_type: str) -> Any:
        return KNOWN_RESPONSE_CONTROLS[control_type]


RESPONSE_CONTROLS = _ResponseControls({PasswordPolicyControl.controlType: _PolicyControl})


def policy_control(ctrls: Sequence[Any] | None) -> PasswordPolicyControl | None:
    for ctrl in ctrls or ():
        if isinstance(ctrl, PasswordPolicyControl):
            return ctrl
    return None


def decoded_error_controls(err: ldap.LDAPError) -> list[Any]:
    data = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    raw = data.get("ctrls") or []
    try:
        return list(DecodeControlTuples(raw, RESPONSE_CONTROLS))
    except Exception:  # a malformed control must not hide the error itself
        log.warning("undecodable response control from the LDAP server")
        return []


def policy_error(ctrl: PasswordPolicyControl | None) -> PolicyError | None:
    if ctrl is None or ctrl.error is None:
        return None
    code = int(ctrl.error)
    return _POLICY_ERRORS[code] if 0 <= code < len(_POLICY_ERRORS) else None
