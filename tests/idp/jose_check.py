"""Independent JOSE for the tests, on `cryptography` alone: our provider's own JOSE stack (joserfc/authlib) is
never used to check what the provider produced."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: str) -> int:
    return int.from_bytes(b64d(value), "big")


class BadTokenError(Exception):
    pass


def verify_jws(
    token: str, jwks: dict[str, Any], *, allowed_algs: tuple[str, ...] = ("RS256", "ES256")
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against a JWK Set; returns (header, claims) or raises BadTokenError."""
    try:
        h64, p64, s64 = token.split(".")
    except ValueError:
        raise BadTokenError("not three parts") from None
    header = json.loads(b64d(h64))
    alg = header.get("alg")
    if alg not in allowed_algs:
        raise BadTokenError(f"alg {alg!r} not allowed")
    matches = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    if len(matches) != 1:
        raise BadTokenError("no key with this kid")
    jwk = matches[0]
    signing_input = f"{h64}.{p64}".encode()
    signature = b64d(s64)
    try:
        if alg == "RS256":
            if jwk["kty"] != "RSA":
                raise BadTokenError("key type mismatch")
            public = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
            public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            if jwk["kty"] != "EC" or jwk["crv"] != "P-256" or len(signature) != 64:
                raise BadTokenError("key type mismatch")
            public_ec = ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_ec.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadTokenError("bad signature") from None
    return header, json.loads(b64d(p64))


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return b64e(digest[:16])


class EcKey:
    """A P-256 key the tests sign with (DPoP proofs, client assertions)."""

    def __init__(self, kid: str | None = None) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private.public_key().public_numbers()
        self.kid = kid or uuid.uuid4().hex
        self.public_jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64e(numbers.x.to_bytes(32, "big")),
            "y": b64e(numbers.y.to_bytes(32, "big")),
        }

    def thumbprint(self) -> str:
        canonical = json.dumps(
            {k: self.public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
        )
        return b64e(hashlib.sha256(canonical.encode()).digest())

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        h64 = b64e(json.dumps(header).encode())
        p64 = b64e(json.dumps(claims).encode())
        der = self.private.sign(f"{h64}.{p64}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{h64}.{p64}.{b64e(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def dpop_proof(self, method: str, url: str, access_token: str | None = None, **extra: Any) -> str:
        claims: dict[str, Any] = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = b64e(hashlib.sha256(access_token.encode()).digest())
        claims.update(extra)
        return self.sign({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk}, claims)

    def client_assertion(self, client_id: str, audience: str, **extra: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        claims.update(extra)
        return self.sign({"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.public_jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64e(json.dumps(header).encode())}.{b64e(json.dumps(claims).encode())}."


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    import hmac

    h64 = b64e(json.dumps(header).encode())
    p64 = b64e(json.dumps(claims).encode())
    sig = hmac.new(key, f"{h64}.{p64}".encode(), hashlib.sha256).digest()
    return f"{h64}.{p64}.{b64e(sig)}"
