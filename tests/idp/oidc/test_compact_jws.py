"""Our JWTs signed and checked with the key objects kept ready (idp.oidc.compact_jws): joserfc's bytes, joserfc's
verdicts — every token is also read by joserfc, the independent library, against the published JWKS."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

import idp.oidc.keys as keys_module
from antin.kernel.database import Base, Database
from idp.oidc.keys import InvalidJwtError, SigningKeys

CLAIMS = {"iss": "https://idp.example", "sub": "Nguyễn", "exp": 1_900_000_000, "iat": 1_800_000_000, "amr": ["pwd"]}


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[SigningKeys]:
    import idp.oidc.models  # noqa: F401 - the tables

    database = Database(f"sqlite:///{tmp_path / 'keys.sqlite3'}")
    Base.metadata.create_all(database.engine)
    signing = SigningKeys(database, "s" * 40, retire_after_seconds=3600)
    signing.ensure()
    yield signing
    database.dispose()


def segments(token: str) -> tuple[dict[str, object], bytes]:
    header, payload, _signature = token.split(".")
    return json.loads(base64.urlsafe_b64decode(header + "==")), base64.urlsafe_b64decode(payload + "==")


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "logout+jwt"])
def test_a_token_is_joserfcs_bytes_and_joserfc_accepts_it(keys: SigningKeys, alg: str, typ: str) -> None:
    token = keys.sign(dict(CLAIMS), alg=alg, typ=typ)
    key = keys.signing_key(alg)
    theirs = jwt.encode({"alg": alg, "kid": key.kid, "typ": typ}, dict(CLAIMS), key, algorithms=[alg])
    # the same header and payload bytes (the signatures differ: ECDSA's is random, and both are checked below)
    assert token.split(".")[:2] == theirs.split(".")[:2]
    assert segments(token)[0] == {"typ": typ, "alg": alg, "kid": key.kid}
    decoded = jwt.decode(token, KeySet.import_key_set(json.loads(keys.jwks_json())), algorithms=[alg])
    assert decoded.claims == CLAIMS and decoded.header["kid"] == key.kid


def test_datetimes_in_the_time_claims_become_seconds_as_joserfc_makes_them(keys: SigningKeys) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    token = keys.sign({"sub": "x", "exp": when}, alg="ES256")
    assert json.loads(segments(token)[1]) == {"sub": "x", "exp": int(when.timestamp())}


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_tokens_joserfc_signed_are_accepted_and_a_changed_one_refused(keys: SigningKeys, alg: str) -> None:
    key = keys.signing_key(alg)
    token = jwt.encode({"alg": alg, "kid": key.kid}, dict(CLAIMS), key, algorithms=[alg])
    assert keys.verify(token) == ({"typ": "JWT", "alg": alg, "kid": key.kid}, CLAIMS)
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps({**CLAIMS, "sub": "admin"}).encode()).rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for wrong in (f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{flipped}", f"{header}.{payload}."):
        with pytest.raises(InvalidJwtError):
            keys.verify(wrong)


def test_the_key_decides_the_algorithm_never_the_token(keys: SigningKeys) -> None:
    """A token naming our EC key's kid but another algorithm, or an algorithm the caller does not accept, or
    headers we do not read, goes to joserfc's checks and is refused as before."""
    ec_key, rsa_key = keys.signing_key("ES256"), keys.signing_key("RS256")
    assert isinstance(ec_key, ECKey) and isinstance(rsa_key, RSAKey)
    # signed with the RSA key but naming the EC key's kid
    confused = jwt.encode({"alg": "RS256", "kid": ec_key.kid}, dict(CLAIMS), rsa_key, algorithms=["RS256"])
    with pytest.raises(InvalidJwtError, match="unknown key"):
        keys.verify(confused)
    good = keys.sign(dict(CLAIMS), alg="ES256")
    with pytest.raises(InvalidJwtError, match="refused"):
        keys.verify(good, algs=("RS256",))
    # an extra header (a JWK of the attacker's own) is not read here; joserfc's checks answer as before
    with_jwk = jwt.encode(
        {"alg": "ES256", "kid": ec_key.kid, "jwk": {"kty": "EC"}}, dict(CLAIMS), ec_key, algorithms=["ES256"]
    )
    assert keys.verify(with_jwk)[1] == CLAIMS  # still our key's signature: joserfc accepts it, as it did


def test_a_rotated_key_signs_at_once_and_the_old_ones_tokens_still_verify(
    keys: SigningKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keys.sign(dict(CLAIMS), alg="ES256")
    old_kid = segments(before)[0]["kid"]
    keys.rotate()
    after = keys.sign(dict(CLAIMS), alg="ES256")
    assert segments(after)[0]["kid"] != old_kid
    assert keys.verify(before)[1] == keys.verify(after)[1] == CLAIMS
    published = {key["kid"] for key in keys.jwks()["keys"]}
    assert {old_kid, segments(after)[0]["kid"]} <= published
    monkeypatch.setattr(keys_module, "UNKNOWN_KID_REREAD_SECONDS", 3600.0)
    with pytest.raises(InvalidJwtError, match="unknown key"):
        keys.verify(jwt.encode({"alg": "ES256", "kid": "nobody"}, dict(CLAIMS), ECKey.generate_key("P-256")))
