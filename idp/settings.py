"""The identity provider's settings sections: ``[oidc]`` (``ANTIN_OIDC_*``) and the login ``[throttle]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from antin.kernel.settings import doc

__all__ = ["OidcSettings", "ThrottleSettings"]


@dataclass(frozen=True)
class OidcSettings:
    SECTION: ClassVar[str] = "oidc"

    code_ttl: int = doc("seconds an authorization code lives", 60)
    access_token_ttl: int = doc("seconds an access token lives", 600)
    id_token_ttl: int = doc("seconds an ID token lives", 600)
    refresh_token_ttl: int = doc("seconds a refresh token lives", 8 * 3600)
    key_overlap_hours: int = doc("hours a rotated key stays in the JWKS", 24)
    par_ttl: int = doc("seconds a pushed authorization request (PAR request_uri) lives", 60)
    interaction_ttl: int = doc("seconds a sign-in page may stay open before the request must start again", 1800)
    client_cache_seconds: float = doc(
        "seconds a running server may go on using a client's registration after another process changed it"
        " (`antin clients disable`, `rotate-secret`) when no Redis carries the change at once; 0 reads it on"
        " every request",
        2.0,
    )
    client_jwks_allow_private_addresses: bool = doc(
        "fetch a client's jwks_uri (private_key_jwt) even when its host resolves to a loopback, private or"
        " link-local address; off, such a client's assertions are refused (invalid_client)",
        False,
    )
    dpop_nonce: bool = doc(
        "require a server-provided nonce in DPoP proofs (RFC 9449 §8, §9) at /par, /token, /userinfo and the"
        " signing API: a proof without the current one gets use_dpop_nonce and a DPoP-Nonce header; a nonce is"
        " accepted for 60 to 120 seconds, so proofs made in advance are worthless",
        False,
    )


@dataclass(frozen=True)
class ThrottleSettings:
    SECTION: ClassVar[str] = "throttle"

    account_failures: int = doc("failed logins per login and source address before delays start", 3)
    address_failures: int = doc("failed logins per source address before delays start", 20)
    max_delay_seconds: int = doc("the longest delay imposed between attempts", 60)
    device_failures: int = doc(
        "wrong passwords a browser the official signed in from before may make within the directory's "
        "pwdFailureCountInterval before it counts as a stranger's (at most pwdMaxFailure - 2)",
        2,
    )
    untrusted_failures: int = doc(
        "wrong passwords per login from browsers without a device cookie within pwdFailureCountInterval; "
        "0: pwdMaxFailure - 1 - device_failures (never more), or 10 per 900 s when the directory never locks",
        0,
    )
    device_days: int = doc("how long a browser stays known as the official's own after a sign-in", 180)

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        for name in ("account_failures", "address_failures", "device_failures", "untrusted_failures"):
            if getattr(self, name) < 0:
                problems[name] = "must be 0 or more"
        if not 0 < self.device_days <= 3650:
            problems["device_days"] = "must be between 1 and 3650"
        return problems
