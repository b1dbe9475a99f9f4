"""Check the tokens the providers issue as a relying party would: signatures against the JWKS, then claims.

Written on ``cryptography`` alone so that the driver's cost per check is small and the same for both
providers; ``alg`` is pinned to RS256/ES256 (``none`` and HMAC are refused, as any careful RP does).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["Jwks", "TokenError", "b64url_decode", "verify_jwt"]

ALGORITHMS = ("RS256", "ES256")


class TokenError(Exception):
    """A token failed a check: its message says which."""


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


@dataclass(frozen=True)
class _Key:
    kid: str | None
    kty: str
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class Jwks:
    """The public keys of a JWKS document, by ``kid``."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.keys: list[_Key] = []
        for jwk in document.get("keys", []):
            if jwk.get("use", "sig") != "sig":
                continue
            if jwk.get("kty") == "RSA":
                public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey = rsa.RSAPublicNumbers(
                    _int(jwk["e"]), _int(jwk["n"])
                ).public_key()
            elif jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                public = ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
            else:
                continue
            self.keys.append(_Key(jwk.get("kid"), jwk["kty"], public))
        if not self.keys:
            raise TokenError("the JWKS has no RS256 or ES256 signing key")

    def key_for(self, kid: str | None, alg: str) -> _Key:
        kty = "RSA" if alg.startswith("RS") else "EC"
        candidates = [k for k in self.keys if k.kty == kty and (kid is None or k.kid == kid)]
        if len(candidates) != 1:
            raise TokenError(f"no single {kty} key with kid {kid!r} in the JWKS")
        return candidates[0]


def _verify_signature(key: _Key, alg: str, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg == "RS256" and isinstance(key.public, rsa.RSAPublicKey):
            key.public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256" and isinstance(key.public, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                raise TokenError("an ES256 signature is 64 bytes")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            raise TokenError(f"alg {alg} does not match the key type")
    except InvalidSignature:
        raise TokenError("bad signature") from None


def verify_jwt(
    token: str,
    jwks: Jwks,
    *,
    issuer: str,
    audience: str | None = None,
    nonce: str | None = None,
    algorithms: Sequence[str] = ALGORITHMS,
    leeway: int = 30,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWS after checking signature, ``iss``, ``aud``, ``exp`` and ``nonce``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError as err:
        raise TokenError(f"malformed JWS: {err}") from None
    alg = header.get("alg")
    if alg not in algorithms:
        raise TokenError(f"alg {alg!r} is not accepted")
    key = jwks.key_for(header.get("kid"), alg)
    _verify_signature(key, alg, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    if claims.get("iss") != issuer:
        raise TokenError(f"iss {claims.get('iss')!r} is not {issuer!r}")
    if audience is not None:
        aud = claims.get("aud")
        if not (aud == audience or (isinstance(aud, list) and audience in aud)):
            raise TokenError(f"aud {aud!r} does not include {audience!r}")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + leeway < now:
        raise TokenError("expired or no exp")
    if nonce is not None and claims.get("nonce") != nonce:
        raise TokenError("nonce does not match")
    return header, claims
