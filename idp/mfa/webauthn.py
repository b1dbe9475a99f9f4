"""WebAuthn ceremonies through py_webauthn: the one importer of ``webauthn`` (an import-linter contract).

Options go to the browser as JSON (``PublicKeyCredential.parseCreationOptionsFromJSON`` /
``parseRequestOptionsFromJSON`` read them), and the browser's ``credential.toJSON()`` comes back as text. Every
refusal of the library becomes a :class:`WebAuthnRefusedError` with the library's reason (for the log and the
audit trail, never for the page). The sign count is compared by the caller *after* the signature is verified,
so that a forged assertion cannot make a real key look cloned.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.mfa.errors import MfaError

__all__ = [
    "Assertion",
    "Ceremony",
    "KnownCredential",
    "NewCredential",
    "RelyingPartyIdentity",
    "WebAuthnRefusedError",
    "assertion_credential_id",
    "assertion_user_handle",
    "authentication_options",
    "b64url",
    "passkey_options",
    "registration_options",
    "relying_party",
    "verify_assertion",
    "verify_registration",
]

TIMEOUT_MS = 120_000


class WebAuthnRefusedError(MfaError):
    """A registration or an assertion that does not verify (the reason says why, for the audit log)."""


@dataclass(frozen=True)
class RelyingPartyIdentity:
    rp_id: str  # the issuer's host
    origin: str  # scheme://host[:port] of the issuer: the only origin accepted
    name: str


def relying_party(issuer: str, name: str) -> RelyingPartyIdentity:
    parts = urlsplit(issuer)
    return RelyingPartyIdentity(parts.hostname or "", f"{parts.scheme}://{parts.netloc}", name)


def b64url(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass(frozen=True)
class Ceremony:
    options_json: str  # for the browser
    challenge: bytes  # kept on the server side until the answer comes


@dataclass(frozen=True)
class KnownCredential:
    credential_id: bytes
    transports: tuple[str, ...]


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    public_key: bytes  # COSE
    sign_count: int
    aaguid: str
    transports: tuple[str, ...]
    backup_eligible: bool  # a multi-device credential (a synced passkey)
    backed_up: bool
    user_verified: bool


@dataclass(frozen=True)
class Assertion:
    credential_id: bytes
    sign_count: int
    user_verified: bool
    backed_up: bool


def _descriptors(credentials: list[KnownCredential]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=c.credential_id, transports=[AuthenticatorTransport(t) for t in c.transports if t in known] or None
        )
        for c in credentials
    ]


def registration_options(
    rp: RelyingPartyIdentity,
    *,
    user_id: bytes,
    user_name: str,
    display_name: str,
    exclude: list[KnownCredential],
    require_user_verification: bool = False,
) -> Ceremony:
    """A new credential: discoverable when the authenticator can (a passkey), "none" attestation; user
    verification required when the key is to give the phishing-resistant level at once."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_id,
        user_name=user_name,
        user_display_name=display_name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED
            if require_user_verification
            else UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(exclude),
    )
    return Ceremony(options_to_json(options), options.challenge)


def verify_registration(
    rp: RelyingPartyIdentity, response_json: str, challenge: bytes, *, require_user_verification: bool = False
) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=response_json,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=require_user_verification,
        )
        transports = json.loads(response_json).get("response", {}).get("transports") or []
    except (WebAuthnException, ValueError, TypeError, AttributeError, KeyError) as err:
        raise WebAuthnRefusedError(str(err) or type(err).__name__) from err
    return NewCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=tuple(str(t) for t in transports if isinstance(t, str))[:8],
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )


def authentication_options(
    rp: RelyingPartyIdentity,
    *,
    allow: list[KnownCredential],
    require_user_verification: bool = False,
    challenge: bytes | None = None,
) -> Ceremony:
    """An assertion of one of ``allow`` (none: a discoverable credential chosen on the authenticator, a passkey).

    ``challenge`` is random unless given: signing's sole control passes one that commits to the documents.
    """
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allow),
        user_verification=(
            UserVerificationRequirement.REQUIRED if require_user_verification else UserVerificationRequirement.PREFERRED
        ),
    )
    return Ceremony(options_to_json(options), options.challenge)


def passkey_options(rp: RelyingPartyIdentity) -> Ceremony:
    """``authentication_options(rp, allow=[], require_user_verification=True)``, as every new sign-in's page asks
    it: the same text, made from py_webauthn's for this RP with only the challenge new (64 random bytes, as
    py_webauthn draws them), without building and serialising its options each time."""
    challenge = secrets.token_bytes(64)
    before, after = _passkey_options_text(rp.rp_id)
    return Ceremony(before + bytes_to_base64url(challenge) + after, challenge)


@lru_cache(maxsize=8)
def _passkey_options_text(rp_id: str) -> tuple[str, str]:
    """py_webauthn's options text of a passkey sign-in for ``rp_id``, split around its challenge."""
    mark = bytes(range(64))
    text = options_to_json(
        generate_authentication_options(
            rp_id=rp_id,
            challenge=mark,
            timeout=TIMEOUT_MS,
            allow_credentials=[],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    )
    before, found, after = text.partition(bytes_to_base64url(mark))
    if not found or bytes_to_base64url(mark) in after:
        raise RuntimeError("py_webauthn's options do not carry the challenge once as base64url")
    return before, after


def assertion_credential_id(response_json: str) -> bytes:
    """Which credential answered (to find its public key before verifying)."""
    try:
        raw = json.loads(response_json)["rawId"]
        return base64url_to_bytes(raw)
    except (ValueError, TypeError, KeyError) as err:
        raise WebAuthnRefusedError("not a WebAuthn assertion") from err


def assertion_user_handle(response_json: str) -> bytes | None:
    """The user handle a discoverable credential answered with (the user id given at registration)."""
    try:
        handle = json.loads(response_json)["response"].get("userHandle")
        return base64url_to_bytes(handle) if handle else None
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise WebAuthnRefusedError("not a WebAuthn assertion") from err


def verify_assertion(
    rp: RelyingPartyIdentity,
    response_json: str,
    challenge: bytes,
    public_key: bytes,
    *,
    require_user_verification: bool = False,
) -> Assertion:
    """Verify the signature, challenge, origin and RP ID; the sign count is the caller's to compare."""
    try:
        verified = verify_authentication_response(
            credential=response_json,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,  # compared afterwards: a backward count is audited as a clone
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, TypeError, AttributeError, KeyError) as err:
        raise WebAuthnRefusedError(str(err) or type(err).__name__) from err
    return Assertion(
        verified.credential_id, verified.new_sign_count, verified.user_verified, verified.credential_backed_up
    )
