"""Our own JWTs signed and checked with the key objects kept ready: joserfc's own bytes without its per-token setup.

Every access token is signed when issued and checked again at each introspection. joserfc, for each token, builds
an algorithm registry, checks the header against it, finds the key by guessing and re-reads its parameters: about
20 µs of Python around a 25 µs ES256 signature, and about 35 µs around a 60 µs verification (docs/benchmarks.md,
"The token path's remaining cost"). Here the header segment of each key and token type is encoded once, and the
signature is made or checked with the key's ``cryptography`` object directly.

The bytes are joserfc's: the header ``{"typ", "alg", "kid"}`` in that order with ASCII escapes, the claims in
compact UTF-8 JSON (``exp``/``iat``/``nbf`` given as datetimes turned into seconds), ES256's signature as ``r || s``
of 32 bytes each (RFC 7518 §3.4). A token is checked here only when its header holds nothing but ``alg``, ``kid``
and ``typ`` (each a string) and names one of our published keys: anything else is left to joserfc (``None``),
which then accepts or refuses it as before. The algorithm is the key's own, never the token's choice.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

__all__ = ["PublicKey", "Signer", "verified"]

_ES256 = ec.ECDSA(SHA256())
_PKCS1 = padding.PKCS1v15()
_SHA256 = SHA256()
_HEADER_NAMES = frozenset({"alg", "kid", "typ"})
_TIME_CLAIMS = ("exp", "iat", "nbf")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(segment: str) -> bytes:
    """As joserfc decodes a segment (padding added, the URL-safe alphabet)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class Signer:
    """One active signing key: signs JWTs with it (ES256 or RS256)."""

    def __init__(self, kid: str, alg: str, private_key: Any) -> None:
        if alg == "ES256" and not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise ValueError("an ES256 signer needs an EC private key")
        if alg == "RS256" and not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("an RS256 signer needs an RSA private key")
        if alg not in ("ES256", "RS256"):
            raise ValueError(f"unsupported signing alg {alg!r}")
        self.kid, self.alg = kid, alg
        self._key = private_key
        self._headers: dict[str, bytes] = {}  # typ → the header segment and its dot

    def sign(self, claims: Mapping[str, Any], typ: str) -> str:
        """The compact JWS of ``claims`` with header ``{"typ": typ, "alg": …, "kid": …}``."""
        header = self._headers.get(typ)
        if header is None:
            fields = {"typ": typ, "alg": self.alg, "kid": self.kid}  # joserfc's order: its default typ first
            header = _b64(json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")) + b"."
            self._headers = {**self._headers, typ: header}
        if any(isinstance(claims.get(name), datetime.datetime) for name in _TIME_CLAIMS):
            claims = {
                k: calendar.timegm(v.utctimetuple()) if k in _TIME_CLAIMS and isinstance(v, datetime.datetime) else v
                for k, v in claims.items()
            }
        payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        signing_input = header + _b64(payload)
        if self.alg == "ES256":
            r, s = decode_dss_signature(self._key.sign(signing_input, _ES256))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            signature = self._key.sign(signing_input, _PKCS1, _SHA256)
        return (signing_input + b"." + _b64(signature)).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """One published key, as a token naming it is checked: its own algorithm and its ``cryptography`` key."""

    alg: str
    key: Any

    def check(self, signing_input: bytes, signature: bytes) -> bool:
        try:
            if self.alg == "ES256":
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                self.key.verify(der, signing_input, _ES256)
            elif self.alg == "RS256":
                self.key.verify(signature, signing_input, _PKCS1, _SHA256)
            else:
                return False
        except InvalidSignature:
            return False
        return True


def verified(
    token: str, published: Mapping[str, PublicKey], algs: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(header, claims)`` of a token signed by one of ``published`` with its own algorithm, one of ``algs``;
    None for any other token, whatever is wrong with it: joserfc then reads it and says what (see the module)."""
    segments = token.split(".")
    if len(segments) != 3:
        return None
    header_segment, payload_segment, signature_segment = segments
    try:
        header = json.loads(_unb64(header_segment))
        if not isinstance(header, dict) or not header.keys() <= _HEADER_NAMES:
            return None
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ", "")
        if not (isinstance(alg, str) and isinstance(kid, str) and isinstance(typ, str)):
            return None
        key = published.get(kid)
        if key is None or alg != key.alg or alg not in algs:
            return None
        if not key.check(f"{header_segment}.{payload_segment}".encode("ascii"), _unb64(signature_segment)):
            return None
        claims = json.loads(_unb64(payload_segment))
    except ValueError:  # not base64, not ASCII, not JSON (binascii.Error, UnicodeError, JSONDecodeError)
        return None
    return (header, claims) if isinstance(claims, dict) else None
