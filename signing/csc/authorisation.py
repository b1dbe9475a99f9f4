"""CSC credential authorisation (``oauth2/authorize`` with scope ``credential``, then ``oauth2/token``).

The client sends the official's browser to ``oauth2/authorize`` with the credential and the hashes it will sign.
The page shows them and asks the official's security key or passkey for a WebAuthn assertion with user
verification whose challenge commits to the hashes (:mod:`signing.sole_control`). The assertion of a key registered
to the credential's owner is the official's authentication and consent in one gesture; no SSO session is needed.
Then the browser goes back to the client's registered redirect URI with a code (single use, 60 s, PKCE S256 when
the client sent a challenge), which ``oauth2/token`` exchanges for the SAD: random, kept as a digest, single use,
short-lived (``signing.csc_sad_seconds``) and bound to the hashes, the credential, the official and the client.

Between the page and its answer the request travels signed (``itsdangerous``, the instance secret), so nothing
is stored until the assertion verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from idp.oidc import client_secret_matches, registered_client
from signing.csc.credentials import MULTISIGN, SHA256_OID, credential_by_id
from signing.csc.errors import CscError
from signing.errors import SoleControlRefused
from signing.models import CscGrant, aware
from signing.service import SigningService
from signing.settings import SigningSettings
from signing.sole_control import SoleControl

__all__ = ["AuthorisationPage", "CredentialAuthorisation", "decode_hashes"]

CODE_SECONDS = 60


def decode_hashes(values: object, *, separator: str | None = None) -> tuple[bytes, ...]:
    """Base64 (or base64url) SHA-256 hashes, from a JSON array or a comma-separated parameter."""
    if isinstance(values, str) and separator:
        values = [v for v in values.split(separator) if v]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise CscError("invalid_request", "Missing (or invalid type) array parameter hash")
    if len(values) > MULTISIGN:
        raise CscError("invalid_request", f"At most {MULTISIGN} hashes")
    try:
        decoded = tuple(base64.b64decode(v.replace("-", "+").replace("_", "/") + "=" * (-len(v) % 4)) for v in values)
    except (binascii.Error, ValueError):
        raise CscError("invalid_request", "Invalid Base64 hash string parameter") from None
    if any(len(d) != 32 for d in decoded):
        raise CscError("invalid_request", "Invalid hash length: SHA-256 hashes only")
    return decoded


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class AuthorisationPage:
    """What the page shows and carries: the WebAuthn options and the signed request to post back."""

    client_name: str
    official_name: str
    credential_id: str
    hashes: tuple[bytes, ...]
    description: str
    options: dict[str, Any]
    pending: str


class CredentialAuthorisation:
    def __init__(self, instance: Instance, service: SigningService, sole: SoleControl) -> None:
        self.instance = instance
        self.service = service
        self.sole = sole
        self.serializer = URLSafeTimedSerializer(instance.secret_key, salt="antin.csc.authorize")
        self.settings = instance.settings.section(SigningSettings)

    # -- oauth2/authorize --------------------------------------------------------------------------------

    def begin(self, params: Mapping[str, str]) -> AuthorisationPage:
        """Check the request and start the official's WebAuthn approval of its hashes."""
        client_id = params.get("client_id", "")
        client = registered_client(self.instance, client_id) if client_id else None
        if client is None:
            raise CscError("invalid_client", "Unknown client_id", redirectable=False)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise CscError("invalid_request", "redirect_uri is not registered for this client", redirectable=False)
        if params.get("response_type") != "code":
            raise CscError("unsupported_response_type", "response_type must be code")
        if params.get("scope") != "credential":
            raise CscError("invalid_scope", "Only the credential scope is served here")
        if params.get("hashAlgorithmOID", SHA256_OID) != SHA256_OID:
            raise CscError("invalid_request", "Invalid parameter hashAlgorithmOID: SHA-256 only")
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method", "S256")
        if challenge is not None and (method != "S256" or not 43 <= len(challenge) <= 128):
            raise CscError("invalid_request", "code_challenge must be an S256 PKCE challenge")
        if client.public and challenge is None:
            raise CscError("invalid_request", "A public client must send a PKCE code_challenge")
        hashes = decode_hashes(params.get("hashes") or params.get("hash") or "", separator=",")
        try:
            count = int(params.get("numSignatures", ""))
        except ValueError:
            raise CscError("invalid_request", "Missing (or invalid type) integer parameter numSignatures") from None
        if count != len(hashes):
            raise CscError("invalid_request", "numSignatures must equal the number of hashes")
        credential = credential_by_id(self.service, params.get("credentialID"))
        try:
            authorisation_id, options = self.sole.begin(credential.owner.entry_uuid, hashes, purpose="csc")
        except SoleControlRefused as err:
            raise CscError(
                "access_denied",
                "The official has no security key or passkey registered: register one first",
                reason=err.reason,
                redirectable=False,
            ) from None
        pending = {
            "a": authorisation_id,
            "o": credential.owner.entry_uuid,
            "c": client.client_id,
            "r": redirect_uri,
            "s": params.get("state"),
            "k": credential.id,
            "h": [h.hex() for h in hashes],
            "p": challenge,
        }
        return AuthorisationPage(
            client.name,
            credential.owner.full_name,
            credential.id,
            hashes,
            params.get("description", "")[:200],
            options,
            self.serializer.dumps(pending),
        )

    def redirect_error(self, pending: str, err: CscError) -> str | None:
        """Where to send the browser with ``err`` (None: the request cannot be trusted, show a page)."""
        try:
            request = self.serializer.loads(pending, max_age=int(self.sole.window.total_seconds()) + 60)
        except BadSignature:
            return None
        return _with_query(
            request["r"], {"error": err.error, "error_description": err.description, "state": request["s"]}
        )

    def finish(self, pending: str, credential: Mapping[str, Any], *, ip: str = "") -> str:
        """Check the assertion; return the redirect URI with a code (or raise :class:`CscError`)."""
        try:
            request = self.serializer.loads(pending, max_age=int(self.sole.window.total_seconds()) + 60)
        except BadSignature:
            raise CscError("invalid_request", "The authorisation request expired", redirectable=False) from None
        hashes = [bytes.fromhex(h) for h in request["h"]]
        try:
            authorisation = self.sole.complete(request["a"], request["o"], credential, hashes, ip=ip)
        except SoleControlRefused as err:
            raise CscError("access_denied", "The official's approval was refused", reason=err.reason) from None
        code = secrets.token_urlsafe(32)
        now = self.instance.clock.now()
        with self.instance.database.session() as s:
            # the official's grants of yesterday and before serve nobody (the audit chain keeps them)
            s.execute(
                delete(CscGrant).where(
                    CscGrant.official == authorisation.official, CscGrant.created_at < now - timedelta(days=1)
                )
            )
            s.add(
                CscGrant(
                    authorisation_id=authorisation.id,
                    official=authorisation.official,
                    client_id=request["c"],
                    credential_id=request["k"],
                    hashes=" ".join(request["h"]),
                    redirect_uri=request["r"],
                    code_challenge=request["p"],
                    code_digest=_digest(code),
                    code_expires_at=now + timedelta(seconds=CODE_SECONDS),
                    created_at=now,
                )
            )
        self.instance.audit.record(
            AuditEvent.SIGNING_CSC_AUTHORISE,
            actor=authorisation.official,
            subject=authorisation.official,
            client_id=request["c"],
            ip=ip or None,
            details={"credential": request["k"], "authorisation": authorisation.id, "hashes": len(hashes)},
        )
        return _with_query(request["r"], {"code": code, "state": request["s"]})

    # -- oauth2/token --------------------------------------------------------------------------------------

    def exchange(self, form: Mapping[str, str], *, basic: tuple[str, str] | None = None) -> dict[str, Any]:
        """Exchange a code for the SAD (``access_token``); errors are ``invalid_grant`` / ``invalid_client``."""
        if form.get("grant_type") != "authorization_code":
            raise CscError("unsupported_grant_type", "grant_type must be authorization_code")
        client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret"))
        client = registered_client(self.instance, client_id) if client_id else None
        if client is None or (not client.public and not client_secret_matches(self.instance, client_id, secret or "")):
            raise CscError("invalid_client", "Client authentication failed", status=401)
        now = self.instance.clock.now()
        with self.instance.database.reading() as s:
            grant = s.scalars(select(CscGrant).where(CscGrant.code_digest == _digest(form.get("code", "")))).first()
        if grant is None or grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            raise CscError("invalid_grant", "Invalid authorization code", reason="unknown_code")
        if grant.code_challenge is not None and not _pkce_matches(grant.code_challenge, form.get("code_verifier")):
            raise CscError("invalid_grant", "Invalid code_verifier", reason="pkce")
        sad = secrets.token_urlsafe(32)
        seconds = self.settings.csc_sad_seconds
        with self.instance.database.transaction() as conn:  # one statement: a code is exchanged once
            claimed = conn.execute(
                update(CscGrant)
                .where(CscGrant.id == grant.id, CscGrant.exchanged_at.is_(None), CscGrant.code_expires_at > now)
                .values(exchanged_at=now, sad_digest=_digest(sad), sad_expires_at=now + timedelta(seconds=seconds))
            ).rowcount
        if claimed != 1:
            expired = aware(grant.code_expires_at) <= now
            raise CscError("invalid_grant", "Invalid authorization code", reason="expired" if expired else "reused")
        return {"access_token": sad, "token_type": "SAD", "expires_in": seconds, "SAD": sad}


def _pkce_matches(challenge: str, verifier: str | None) -> bool:
    if not verifier:
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _with_query(uri: str, values: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in values.items() if v is not None})
    return uri + ("&" if "?" in uri else "?") + query
