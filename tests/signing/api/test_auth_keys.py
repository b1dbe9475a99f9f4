"""Unit tests of the signing API's key-set cache (no server: the IdP's two documents are served by a counter).

A token naming a key the cached set lacks makes the set be fetched again at once; made-up key ids cost at most one
fetch a second, whatever they are; requests waiting on one fetch do not each fetch again."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from signing.auth import UNKNOWN_KID_REFETCH_SECONDS, AccessTokenVerifier, TokenError

ISSUER = "https://sso.antin.test"


class CountingIdp:
    """The IdP's discovery document and key set as the verifier fetches them, counting the key-set fetches."""

    def __init__(self, *keys: ECKey) -> None:
        self.keys = list(keys)
        self.jwks_fetches = 0

    def __call__(self, url: str) -> dict[str, Any]:
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks.json"}
        assert url == f"{ISSUER}/jwks.json"
        self.jwks_fetches += 1
        return {"keys": [key.as_dict(private=False) for key in self.keys]}


class NothingRevoked:
    """The provider's resource-server answers for tokens that are live and not DPoP-bound."""

    def access_token_revoked(self, jti: str) -> bool:
        return False

    def check_dpop_proof(self, proof: str, *, method: str, url: str, access_token: str) -> str:
        raise AssertionError("no DPoP here")

    def current_dpop_nonce(self) -> str | None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def new_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
    key.ensure_kid()
    return key


def token(key: ECKey, clock: Clock, kid: str | None = None) -> str:
    claims = {"iss": ISSUER, "aud": ISSUER, "sub": "s", "jti": f"j{clock.now}", "exp": int(clock.now) + 300}
    claims["scope"] = "signing:sign"
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid or key.kid}, claims, key, algorithms=["ES256"])


def verifier(idp: CountingIdp, clock: Clock) -> AccessTokenVerifier:
    return AccessTokenVerifier(ISSUER, ISSUER, checks=NothingRevoked(), dpop_algs=("ES256",), fetch=idp, clock=clock)


def test_a_token_signed_with_a_key_published_after_the_set_was_cached_is_accepted() -> None:
    clock, old = Clock(), new_key()
    idp = CountingIdp(old)
    api = verifier(idp, clock)
    assert api.verify(f"Bearer {token(old, clock)}", "signing:sign").subject == "s"
    rotated = new_key()
    idp.keys.append(rotated)  # `antin keys rotate` on another worker, which signs with the new key
    clock.now += UNKNOWN_KID_REFETCH_SECONDS  # not the minute it used to take
    assert api.verify(f"Bearer {token(rotated, clock)}", "signing:sign").subject == "s"
    assert idp.jwks_fetches == 2
    # known keys cost no fetch
    for _ in range(5):
        api.verify(f"Bearer {token(rotated, clock)}", "signing:sign")
        api.verify(f"Bearer {token(old, clock)}", "signing:sign")
    assert idp.jwks_fetches == 2


def test_a_flood_of_made_up_key_ids_makes_one_fetch_a_second_at_most() -> None:
    clock, key = Clock(), new_key()
    idp = CountingIdp(key)
    api = verifier(idp, clock)
    api.verify(f"Bearer {token(key, clock)}", "signing:sign")
    forger = new_key()
    for n in range(2_000):  # 2,000 tokens with distinct kids, over 10 seconds
        clock.now += 0.005
        with pytest.raises(TokenError) as refused:
            api.verify(f"Bearer {token(forger, clock, kid=f'forged-{n}')}", "signing:sign")
        assert refused.value.status == 401
    assert idp.jwks_fetches <= 1 + 11
    # the flood does not keep a real new key out for long: it is found within the second
    rotated = new_key()
    idp.keys.append(rotated)
    clock.now += UNKNOWN_KID_REFETCH_SECONDS
    assert api.verify(f"Bearer {token(rotated, clock)}", "signing:sign").subject == "s"


def test_requests_that_wait_on_one_fetch_do_not_each_fetch_again() -> None:
    clock, old = Clock(), new_key()
    idp = CountingIdp(old)
    api = verifier(idp, clock)
    api.verify(f"Bearer {token(old, clock)}", "signing:sign")
    rotated = new_key()
    idp.keys.append(rotated)
    clock.now += UNKNOWN_KID_REFETCH_SECONDS
    fresh = token(rotated, clock)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def check() -> None:
        start.wait()
        outcomes.append(api.verify(f"Bearer {fresh}", "signing:sign").subject)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["s"] * 8
    assert idp.jwks_fetches == 2


def test_an_idp_that_does_not_answer_is_asked_once_a_second_not_by_every_request() -> None:
    clock, key = Clock(), new_key()
    idp = CountingIdp(key)
    api = verifier(idp, clock)
    api.verify(f"Bearer {token(key, clock)}", "signing:sign")
    attempts = [0]

    def down(url: str) -> dict[str, Any]:
        attempts[0] += 1
        raise ValueError("connection refused")

    api.fetch = down
    for n in range(250):  # 2.5 seconds of requests naming keys it lacks
        clock.now += 0.01
        with pytest.raises(TokenError):
            api.verify(f"Bearer {token(key, clock, kid=f'unknown-{n}')}", "signing:sign")
    assert 2 <= attempts[0] <= 3
    assert api.verify(f"Bearer {token(key, clock)}", "signing:sign").subject == "s"  # the cached set still serves
