"""DPoP proofs (RFC 9449): checking a proof and the key thumbprint that binds a token to it.

Only asymmetric algorithms are accepted (``none`` and HMAC are refused); each proof's ``jti`` is usable once. When the
server hands out nonces (:mod:`idp.oidc.dpop_nonce`), a proof without the current one is refused with
``use_dpop_nonce`` and the nonce to use (RFC 9449 §8).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from idp.oidc.dpop_nonce import DPoPNonces
from idp.oidc.errors import InvalidDPoPProofError, UseDPoPNonceError, WrongTokenTypeError
from idp.oidc.token_types import TokenType, check_token_type

__all__ = [
    "DPOP_ALGS",
    "JKT_PATTERN",
    "InvalidDPoPProofError",
    "UseDPoPNonceError",
    "access_token_hash",
    "verify_dpop_proof",
]

DPOP_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
# proofs older or newer than this are refused (clock skew included)
MAX_AGE_SECONDS = 120
# a JWK SHA-256 thumbprint (RFC 7638), base64url without padding: what dpop_jkt and cnf.jkt carry
JKT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def access_token_hash(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode("ascii")).digest()).rstrip(b"=").decode()


def _b64json(part: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except ValueError as err:
        raise InvalidDPoPProofError("malformed DPoP proof") from err
    if not isinstance(value, dict):
        raise InvalidDPoPProofError("malformed DPoP proof")
    return value


def _strip(uri: str) -> str:
    return uri.split("#", 1)[0].split("?", 1)[0]


def verify_dpop_proof(
    proof: str,
    *,
    method: str,
    url: str,
    remember_jti: Callable[[str, int], bool],
    access_token: str | None = None,
    nonces: DPoPNonces | None = None,
    now: float | None = None,
) -> str:
    """Check a DPoP proof for this request; return the JWK thumbprint (``jkt``) of its key.

    ``remember_jti(jti, ttl)`` records a jti and returns False when it was already seen. With ``nonces``, the proof
    must carry a current server nonce (:class:`UseDPoPNonceError` otherwise).
    """
    parts = proof.split(".")
    if len(parts) != 3:
        raise InvalidDPoPProofError("malformed DPoP proof")
    header = _b64json(parts[0])
    try:
        # before the signature: a token of another type is refused without a key import
        check_token_type(TokenType.DPOP_PROOF, header, _b64json(parts[1]))
    except WrongTokenTypeError as err:
        # not the reason itself: it quotes the proof's typ, and an error description is plain ASCII (RFC 6749 §5.2)
        raise InvalidDPoPProofError("not a DPoP proof: wrong typ, or claims of another token type") from err
    alg = header.get("alg")
    if alg not in DPOP_ALGS:
        raise InvalidDPoPProofError("alg refused")
    jwk_dict = header.get("jwk")
    if not isinstance(jwk_dict, dict):
        raise InvalidDPoPProofError("jwk missing")
    if any(member in jwk_dict for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise InvalidDPoPProofError("jwk must be a public key")
    key_types: dict[str, Any] = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}
    key_cls = key_types.get(str(jwk_dict.get("kty")))
    if key_cls is None:
        raise InvalidDPoPProofError("unsupported key type")
    try:
        key = key_cls.import_key(jwk_dict)
        token = jwt.decode(proof, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError, KeyError) as err:  # KeyError: joserfc, for an unknown OKP curve
        raise InvalidDPoPProofError("bad DPoP proof signature") from err
    claims = token.claims
    current = time.time() if now is None else now
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or abs(current - iat) > MAX_AGE_SECONDS:
        raise InvalidDPoPProofError("DPoP proof too old or from the future")
    if claims.get("htm") != method:
        raise InvalidDPoPProofError("htm does not match")
    if not isinstance(claims.get("htu"), str) or _strip(claims["htu"]) != _strip(url):
        raise InvalidDPoPProofError("htu does not match")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 128:
        raise InvalidDPoPProofError("jti missing")
    # a token that is not ASCII has no ath (RFC 9449 §4.2 hashes its ASCII bytes): no proof can match it
    if access_token is not None and (
        not access_token.isascii() or claims.get("ath") != access_token_hash(access_token)
    ):
        raise InvalidDPoPProofError("ath does not match the access token")
    if nonces is not None and not nonces.accepts(claims.get("nonce")):
        # before the jti is recorded: the client retries at once with a new proof, and nothing is stored
        raise UseDPoPNonceError(nonces.current())
    if not remember_jti(jti, 2 * MAX_AGE_SECONDS):
        raise InvalidDPoPProofError("DPoP proof replayed")
    return str(key.thumbprint())
