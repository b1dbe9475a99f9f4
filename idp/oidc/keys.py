"""Signing keys: ES256 and RS256 keys kept in the database, the JWKS, signing and verifying our own JWTs.

Private keys are stored as PEM encrypted with a password derived (HKDF) from the instance secret. Rotation
retires the signing keys and creates new ones; a retired key stays in the JWKS until every token it signed
has expired (plus the configured overlap). ``alg`` is always pinned: only ES256 and RS256 are produced or
accepted, never ``none`` nor HMAC.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from antin.kernel.database import Database, utcnow
from idp.oidc.compact_jws import PublicKey, Signer, verified
from idp.oidc.errors import InvalidJwtError, SigningKeysUnreadableError, WrongTokenTypeError
from idp.oidc.models import SigningKey
from idp.oidc.token_types import TokenType, check_token_type

__all__ = ["SIGNING_ALGS", "InvalidJwtError", "KeyInfo", "SigningKeys", "SigningKeysUnreadableError"]

SigningAlg = Literal["ES256", "RS256"]
SIGNING_ALGS: tuple[SigningAlg, ...] = ("RS256", "ES256")
CACHE_SECONDS = 30.0
# A token naming a key this process has not seen makes it read the keys again at most this often: another
# worker or instance may already sign with keys made by `antin keys rotate` (and forged kids cost little).
UNKNOWN_KID_REREAD_SECONDS = 1.0
# The JWKS a worker serves is read again after this long: a relying party that fetches it because a token names a
# new key (another worker signs with it after `antin keys rotate`) must find that key, not this worker's cache.
# A read of unchanged keys is one SELECT and decrypts nothing.
JWKS_MAX_AGE_SECONDS = 1.0


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    created_at: datetime
    retired_at: datetime | None
    unpublish_at: datetime | None

    @classmethod
    def from_row(cls, row: SigningKey) -> KeyInfo:
        return cls(row.kid, row.alg, row.created_at, row.retired_at, row.unpublish_at)

    @property
    def state(self) -> str:
        return "retired" if self.retired_at else "active"


def _pem_password(secret_key: str) -> str:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"antin oidc signing keys v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


def _generate(alg: SigningAlg) -> ECKey | RSAKey:
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"}, auto_kid=True)
    return RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)


class SigningKeys:
    """The instance's signing keys. Reads are cached briefly per process; the database is the truth."""

    def __init__(
        self, database: Database, secret_key: str, *, retire_after_seconds: int, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = database
        self._clock = clock
        self._password = _pem_password(secret_key)
        self._retire_after = timedelta(seconds=retire_after_seconds)
        self._lock = threading.Lock()
        self._cached_at = 0.0
        self._reread_at = 0.0
        self._signing: dict[str, ECKey | RSAKey] = {}
        self._published: dict[str, ECKey | RSAKey] = {}
        # the same keys as the cryptography objects that sign and check our own tokens (idp.oidc.compact_jws)
        self._signers: dict[str, Signer] = {}
        self._public: dict[str, PublicKey] = {}
        self._fingerprint: tuple[tuple[str, bool], ...] | None = None
        self._jwks_json = b""

    # -- lifecycle -----------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create an ES256 and an RS256 key unless active ones exist."""
        with self._db.session() as s:
            active = set(s.scalars(select(SigningKey.alg).where(SigningKey.retired_at.is_(None))))
            for alg in SIGNING_ALGS:
                if alg not in active:
                    s.add(self._new_row(alg))
        self._cached_at = 0.0

    def rotate(self) -> list[KeyInfo]:
        """Retire the signing keys and create new ones; retired keys stay published for the overlap."""
        now = self._clock()
        with self._db.session() as s:
            for row in s.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
                row.retired_at = now
                row.unpublish_at = now + self._retire_after
            for alg in SIGNING_ALGS:
                s.add(self._new_row(alg))
        self._cached_at = 0.0
        return self.list()

    def list(self) -> list[KeyInfo]:
        with self._db.session() as s:
            rows = s.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
            return [KeyInfo.from_row(r) for r in rows]

    def _new_row(self, alg: SigningAlg) -> SigningKey:
        key = _generate(alg)
        kid = key.kid
        assert kid is not None
        return SigningKey(
            kid=kid,
            alg=alg,
            private_pem=key.as_pem(private=True, password=self._password),
            public_jwk=key.as_dict(private=False),
        )

    # -- reading ---------------------------------------------------------------------------------------

    def _refresh(self, max_age: float = CACHE_SECONDS) -> None:
        if time.monotonic() - self._cached_at < max_age:
            return
        with self._lock:
            if time.monotonic() - self._cached_at < max_age:
                return
            now = self._clock()
            signing: dict[str, ECKey | RSAKey] = {}
            published: dict[str, ECKey | RSAKey] = {}
            with self._db.session() as s:
                rows = s.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
            if not any(r.retired_at is None for r in rows):
                self.ensure()
                with self._db.session() as s:
                    rows = s.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
            shown = [r for r in rows if r.unpublish_at is None or r.unpublish_at > now]
            fingerprint = tuple((r.kid, r.retired_at is None) for r in shown)
            if fingerprint == self._fingerprint:  # nothing changed: no private key decrypted again
                self._cached_at = time.monotonic()
                return
            for row in shown:
                cls = ECKey if row.alg == "ES256" else RSAKey
                # the JWKS needs only the public halves: retired keys are never decrypted
                published[row.kid] = cls.import_key(row.public_jwk)
                if row.retired_at is None:
                    params: dict[str, Any] = {"kid": row.kid, "alg": row.alg, "use": "sig"}
                    try:
                        key = cls.import_key(row.private_pem, parameters=params, password=self._password)  # type: ignore[arg-type]
                    except (ValueError, TypeError) as err:
                        raise SigningKeysUnreadableError(row.kid) from err
                    signing[row.alg] = key  # the newest active key of each alg wins
            document = {"keys": [key.as_dict(private=False) for key in published.values()]}
            body = json.dumps(document, separators=(",", ":")).encode()
            self._signers = {alg: Signer(str(key.kid), alg, key.private_key) for alg, key in signing.items()}
            self._public = {
                kid: PublicKey(str(key.as_dict().get("alg")), key.public_key) for kid, key in published.items()
            }
            self._signing, self._published = signing, published
            self._jwks_json = body
            self._fingerprint = fingerprint
            self._cached_at = time.monotonic()

    def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.jwks_json())
        return document

    def jwks_json(self) -> bytes:
        """The JWKS as JSON bytes, built once per change of the published keys (the same object until then)."""
        self._refresh(JWKS_MAX_AGE_SECONDS)
        return self._jwks_json

    def signing_key(self, alg: str) -> ECKey | RSAKey:
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported signing alg {alg!r}")
        self._refresh()
        return self._signing[alg]

    # -- JWTs ------------------------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any], *, alg: str, typ: str = "JWT") -> str:
        """``claims`` signed with the active key of ``alg``: the bytes joserfc's ``jwt.encode`` makes (header
        ``typ``, ``alg``, ``kid``), without its per-token setup (:mod:`idp.oidc.compact_jws`)."""
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported signing alg {alg!r}")
        self._refresh()
        return self._signers[alg].sign(claims, typ)

    def verify(self, token: str, *, algs: tuple[str, ...] = SIGNING_ALGS) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check one of our JWTs' signature (claims are the caller's to check); return (header, claims)."""
        self._refresh()
        # a well-formed token of one of our published keys, checked with the key object kept ready; every other
        # token, right or wrong, is read by joserfc below, which says what is wrong with it
        checked = verified(token, self._public, algs)
        if checked is not None:
            return checked
        try:
            header = _unverified_header(token)
            alg, kid = header.get("alg"), header.get("kid")
            if alg not in algs or alg not in SIGNING_ALGS:
                raise InvalidJwtError(f"alg {alg!r} refused")
            key = self._published.get(kid) if isinstance(kid, str) else None
            if key is None and isinstance(kid, str) and self._reread_for_unknown_kid():
                key = self._published.get(kid)
            if key is None or key.as_dict().get("alg") != alg:
                raise InvalidJwtError("unknown key")
            decoded = jwt.decode(token, KeySet([key]), algorithms=[alg])
        except (JoseError, ValueError) as err:
            raise InvalidJwtError(str(err)) from err
        return dict(decoded.header), dict(decoded.claims)

    def published_keys(self) -> Mapping[str, PublicKey]:
        """The keys tokens are checked against now, by kid: a new object whenever they change (so a cache of
        checked tokens can tell whether its entries were checked under them: :mod:`idp.oidc.verified_tokens`)."""
        self._refresh()
        return self._public

    def _reread_for_unknown_kid(self) -> bool:
        """Read the keys again now unless this process did so within UNKNOWN_KID_REREAD_SECONDS."""
        with self._lock:
            if time.monotonic() - self._reread_at < UNKNOWN_KID_REREAD_SECONDS:
                return False
            self._reread_at = time.monotonic()
            self._cached_at = 0.0
        self._refresh()
        return True

    def verify_as(
        self, token: str, expected: TokenType, *, algs: tuple[str, ...] = SIGNING_ALGS
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """:meth:`verify`, and refuse a token of ours of another type than ``expected`` (InvalidJwtError)."""
        header, claims = self.verify(token, algs=algs)
        try:
            check_token_type(expected, header, claims)
        except WrongTokenTypeError as err:
            raise InvalidJwtError(str(err)) from err
        return header, claims


def _unverified_header(token: str) -> dict[str, Any]:
    import json

    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidJwtError("not a compact JWS")
    padded = parts[0] + "=" * (-len(parts[0]) % 4)
    try:
        header = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError as err:
        raise InvalidJwtError("bad header") from err
    if not isinstance(header, dict):
        raise InvalidJwtError("bad header")
    return header
