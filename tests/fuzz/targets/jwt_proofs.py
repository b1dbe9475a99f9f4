"""Target ``jwt``: every reader of a JWT a stranger sends, with the error each is documented to raise.

The input is a token, optionally followed by a line with a DPoP proof for it. It goes to:

- :func:`idp.oidc.dpop.verify_dpop_proof` as a proof (for ``POST /token``), and the second line as the proof of the
  token (``ath``) — ``InvalidDPoPProofError``;
- :func:`idp.oidc.token_types.check_token_type` for each type, when its header and claims are JSON objects —
  ``WrongTokenTypeError``;
- ``signing.auth.AccessTokenVerifier.verify`` as a Bearer token and as a DPoP token with its proof, trusting the
  key that signed the seeds — ``TokenError``;
- the client-assertion path: ``POST /token`` with ``client_assertion`` on a real provider app (private_key_jwt
  client registered with the seeds' key) — an OAuth error, never a 5xx.

The clocks are set to the moment the seeds were made, so that genuine seeds pass and their mutations reach the
claim checks.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.fuzz.targets import Harness, seed_meta

INSTRUMENT = ("idp.oidc", "signing.auth", "joserfc", "authlib")
TIMEOUT_SECONDS = 5
API_URL = "https://api.example/api/signing/verify"


def _json_part(part: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except ValueError:
        return None


class SeedTimeChecks:
    """The provider's resource-server answers as ``idp.oidc.ResourceServerChecks`` gives them, at the seeds' time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def access_token_revoked(self, jti: str) -> bool:
        return False

    def check_dpop_proof(self, proof: str, *, method: str, url: str, access_token: str) -> str:
        from idp.oidc.dpop import InvalidDPoPProofError, verify_dpop_proof

        try:
            return verify_dpop_proof(
                proof, method=method, url=url, access_token=access_token, remember_jti=lambda j, t: True, now=self.now
            )
        except InvalidDPoPProofError as err:
            raise ValueError(err.description) from None

    def current_dpop_nonce(self) -> str | None:
        return None


def make_harness(workdir: Path) -> Harness:
    from idp.oidc.dpop import DPOP_ALGS, InvalidDPoPProofError, verify_dpop_proof
    from idp.oidc.token_types import TokenType, WrongTokenTypeError, check_token_type
    from signing.auth import AccessTokenVerifier, TokenError
    from tests.fuzz.targets.provider_app import ASSERTION_TYPE, ISSUER, build_provider, check_answer

    meta = seed_meta()
    now = float(meta["time"])
    documents = {
        f"{ISSUER}/.well-known/openid-configuration": {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks.json"},
        f"{ISSUER}/jwks.json": meta["idp_jwks"],
    }
    verifier = AccessTokenVerifier(
        ISSUER,
        "https://api.example/",
        checks=SeedTimeChecks(now),
        dpop_algs=DPOP_ALGS,
        fetch=lambda url: documents[url],
        clock=lambda: now,
    )
    provider = build_provider(workdir / "provider", meta["client_jwks"])

    def read_token(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        token, _newline, rest = text.partition("\n")
        proof = rest.split("\n", 1)[0]
        with contextlib.suppress(InvalidDPoPProofError):
            verify_dpop_proof(token, method="POST", url=ISSUER + "/token", remember_jti=lambda j, t: True, now=now)
        if proof:
            with contextlib.suppress(InvalidDPoPProofError):
                verify_dpop_proof(
                    proof, method="POST", url=API_URL, remember_jti=lambda j, t: True, access_token=token, now=now
                )
        parts = token.split(".")
        header, claims = (_json_part(parts[0]), _json_part(parts[1])) if len(parts) == 3 else (None, None)
        if isinstance(header, Mapping) and isinstance(claims, Mapping):
            for expected in TokenType:
                with contextlib.suppress(WrongTokenTypeError):
                    check_token_type(expected, header, claims)
        for authorization, proofs in ((f"Bearer {token}", ()), (f"DPoP {token}", (proof,) if proof else ())):
            with contextlib.suppress(TokenError):
                verifier.verify(authorization, "signing:verify", method="POST", url=API_URL, dpop_proofs=proofs)
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}
        response = provider.client.post("/token", data=form)
        check_answer(response.status_code, response.headers, "POST /token with a client assertion")

    return read_token
