"""Unit tests of the signing API's token checks that need no server: the revocation cache and the challenges."""

from __future__ import annotations

from signing.auth import RevocationCache, TokenError


class Lookups:
    """The provider's revocation lookup, counting calls; ``revoked`` holds the jtis it calls revoked."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.revoked: set[str] = set()

    def __call__(self, jti: str) -> bool:
        self.calls.append(jti)
        return jti in self.revoked


def test_a_live_answer_is_kept_for_the_window_only() -> None:
    now = [1000.0]
    lookup = Lookups()
    cache = RevocationCache(lookup, live_seconds=5.0, clock=lambda: now[0])
    assert cache.revoked("a", expires_in=600) is False
    lookup.revoked.add("a")  # revoked at the provider
    now[0] += 4.9
    assert cache.revoked("a", expires_in=600) is False  # within the window: the old answer
    now[0] += 0.2
    assert cache.revoked("a", expires_in=600) is True  # past it: asked again
    assert lookup.calls == ["a", "a"]


def test_a_revoked_answer_is_kept_until_the_token_expires() -> None:
    now = [1000.0]
    lookup = Lookups()
    lookup.revoked.add("b")
    cache = RevocationCache(lookup, live_seconds=5.0, clock=lambda: now[0])
    assert cache.revoked("b", expires_in=300) is True
    now[0] += 299
    assert cache.revoked("b", expires_in=1) is True
    assert lookup.calls == ["b"]


def test_a_zero_window_asks_every_time() -> None:
    lookup = Lookups()
    cache = RevocationCache(lookup, live_seconds=0.0, clock=lambda: 1000.0)
    for _ in range(3):
        assert cache.revoked("c", expires_in=600) is False
    assert lookup.calls == ["c", "c", "c"]


def test_answers_past_their_time_are_dropped() -> None:
    """One answer per access token seen: without dropping the old ones a worker kept every token of the hour."""
    now = [1000.0]
    lookup = Lookups()
    lookup.revoked.add("revoked")
    cache = RevocationCache(lookup, live_seconds=5.0, clock=lambda: now[0])
    assert cache.revoked("revoked", expires_in=7200) is True
    for minute in range(60):
        for n in range(20):
            cache.revoked(f"token-{minute}-{n}", expires_in=600)
        now[0] += 60
    assert len(cache._answers) <= 21  # the last minute's tokens, at most, and the revoked one
    assert cache.revoked("revoked", expires_in=1) is True  # still known: kept until the token expires
    assert lookup.calls.count("revoked") == 1


def test_challenges_name_the_scheme_and_the_proof_algorithms() -> None:
    missing = TokenError("invalid_request", "an access token is required (Bearer or DPoP)")
    missing.dpop_algs = ("ES256", "RS256")
    assert missing.www_authenticate.startswith('Bearer error="invalid_request"')
    assert missing.www_authenticate.endswith(', DPoP algs="ES256 RS256"')
    bad_proof = TokenError("invalid_dpop_proof", "DPoP proof replayed", scheme="DPoP")
    bad_proof.dpop_algs = ("ES256",)
    assert bad_proof.www_authenticate == (
        'DPoP error="invalid_dpop_proof", error_description="DPoP proof replayed", algs="ES256"'
    )
