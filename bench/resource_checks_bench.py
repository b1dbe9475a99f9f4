"""What the signing API's token checks cost per request, in-process on SQLite: a bearer token whose revocation
answer is cached, one whose answer is read from the provider's database, and a DPoP-bound token with its proof
(signature check and one-time ``jti`` insert). Run: ``python -m bench.resource_checks_bench``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 2000


def per_call_ms(call: Callable[[int], object], rounds: int = ROUNDS) -> tuple[float, float]:
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.99)] * 1000


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from antin.migrate import upgrade
    from idp.instance import Instance
    from idp.oidc import DPOP_ALGS, resource_server_checks
    from idp.oidc.clients import ClientSpec
    from idp.oidc.provider import get_provider
    from idp.oidc.tokens import GrantContext
    from idp.settings import load_settings
    from signing.auth import AccessTokenVerifier
    from tests.idp.jose_check import EcKey

    folder = Path(tempfile.mkdtemp(prefix="antin-bench-"))
    issuer = "http://localhost:5000"
    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(folder), "ANTIN_ENV": "test", "ANTIN_ISSUER": issuer}))
    upgrade(instance.database)
    provider = get_provider(instance)
    client, _ = provider.clients.add(
        ClientSpec(name="bench", grant_types=("client_credentials",), scopes=("signing:sign",))
    )
    documents: dict[str, Any] = {
        f"{issuer}/.well-known/openid-configuration": {"issuer": issuer, "jwks_uri": f"{issuer}/jwks.json"},
        f"{issuer}/jwks.json": provider.keys.jwks(),
    }

    def verifier(cache_seconds: float) -> AccessTokenVerifier:
        return AccessTokenVerifier(
            issuer,
            issuer,
            checks=resource_server_checks(instance),
            dpop_algs=DPOP_ALGS,
            revocation_cache_seconds=cache_seconds,
            fetch=documents.__getitem__,
        )

    def issue(dpop_jkt: str | None = None) -> str:
        ctx = GrantContext(client=client, subject="bench-subject", scope="signing:sign")
        response, _grant = provider.tokens.issue(ctx, dpop_jkt=dpop_jkt)
        return str(response["access_token"])

    bearer = f"Bearer {issue()}"
    cached, uncached = verifier(5.0), verifier(0.0)
    rows = [
        ("bearer, revocation answer cached", per_call_ms(lambda _i: cached.verify(bearer, "signing:sign"))),
        ("bearer, revocation read from SQL", per_call_ms(lambda _i: uncached.verify(bearer, "signing:sign"))),
    ]
    key = EcKey()
    bound = issue(dpop_jkt=key.thumbprint())
    url = f"{issuer}/api/signing/sign"
    proofs = [key.dpop_proof("POST", url, bound) for _ in range(ROUNDS)]
    rows.append(
        (
            "DPoP, proof checked, jti stored",
            per_call_ms(
                lambda i: cached.verify(
                    f"DPoP {bound}", "signing:sign", method="POST", url=url, dpop_proofs=[proofs[i]]
                )
            ),
        )
    )
    print(f"{'token check (in-process, SQLite)':40} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (p50, p99) in rows:
        print(f"{name:40} {p50:8.3f} {p99:8.3f}")
    instance.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
