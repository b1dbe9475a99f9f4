"""What the signing API's token checks cost per request, in-process on SQLite: a bearer token whose revocation
answer is cached, one whose answer is read from the provider's database, a DPoP-bound token with its proof
(signature check and one-time ``jti`` insert), and the refusals that matter: a revoked token, a replayed proof.

Every answer is checked: an accepted token must give back its subject and scope, a refused one must be refused
with the right error (``invalid_token`` for the revoked token, ``invalid_dpop_proof`` for the replay); anything
else counts as wrong. No peer: these are the costs the API adds per request. CPU is this process's.
Run: ``python -m bench.resource_checks_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.rows import Row, Run, add_arguments, row_from_samples

BENCH = "resource-checks"
ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 2000
QUICK_ROUNDS = 200
SUBJECT = "bench-subject"
SCOPE = "signing:sign"


def measure(operation: str, call: Callable[[int], bool], rounds: int) -> Row:
    """``rounds`` calls of ``call`` (which says whether its answer was the expected one), timed one by one."""
    wall: list[float] = []
    cpu: list[float] = []
    wrong = 0
    for i in range(rounds):
        cpu0, start = time.process_time(), time.perf_counter()
        right = call(i)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
        wrong += not right
    return row_from_samples(BENCH, operation, "antin", wall, cpu=cpu, checked=rounds, wrong=wrong)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    sys.path.insert(0, str(ROOT))
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from idp.oidc import DPOP_ALGS, resource_server_checks
    from idp.oidc.clients import ClientSpec
    from idp.oidc.service import get_provider
    from idp.oidc.tokens import GrantContext
    from signing.auth import AccessTokenVerifier, TokenError
    from tests.idp.jose_check import EcKey

    folder = Path(tempfile.mkdtemp(prefix="antin-bench-"))
    issuer = "http://localhost:5000"
    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(folder), "ANTIN_ENV": "test", "ANTIN_ISSUER": issuer}))
    upgrade(instance.database)
    provider = get_provider(instance)
    client, _ = provider.clients.add(ClientSpec(name="bench", grant_types=("client_credentials",), scopes=(SCOPE,)))
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

    def issue(dpop_jkt: str | None = None) -> tuple[str, int]:
        ctx = GrantContext(client=client, subject=SUBJECT, scope=SCOPE)
        response, grant = provider.tokens.issue(ctx, dpop_jkt=dpop_jkt)
        return str(response["access_token"]), grant

    def accepted(check: Callable[[], Any]) -> bool:
        try:
            token = check()
        except TokenError:
            return False
        return bool(token.subject == SUBJECT and SCOPE in token.scopes)

    def refused(check: Callable[[], Any], error: str) -> bool:
        try:
            check()
        except TokenError as err:
            return err.error == error
        return False

    run = Run(BENCH, args.quick)
    bearer = f"Bearer {issue()[0]}"
    cached, uncached = verifier(5.0), verifier(0.0)
    run.add(
        measure("bearer, revocation answer cached", lambda _i: accepted(lambda: cached.verify(bearer, SCOPE)), rounds)
    )
    run.add(
        measure("bearer, revocation read from SQL", lambda _i: accepted(lambda: uncached.verify(bearer, SCOPE)), rounds)
    )
    revoked_token, revoked_grant = issue()
    provider.tokens.revoke_grant(revoked_grant, "bench: a revoked token must be refused")
    revoked = f"Bearer {revoked_token}"
    # the first refusal reads the provider's database; a revoked answer is then kept until the token expires
    run.add(
        measure(
            "bearer, revoked token refused (answer kept)",
            lambda _i: refused(lambda: uncached.verify(revoked, SCOPE), "invalid_token"),
            rounds,
        )
    )
    key = EcKey()
    bound = issue(dpop_jkt=key.thumbprint())[0]
    url = f"{issuer}/api/signing/sign"
    proofs = [key.dpop_proof("POST", url, bound) for _ in range(rounds)]

    def with_proof(i: int) -> Any:
        return cached.verify(f"DPoP {bound}", SCOPE, method="POST", url=url, dpop_proofs=[proofs[i]])

    run.add(measure("DPoP, proof checked, jti stored", lambda i: accepted(lambda: with_proof(i)), rounds))
    # the same proofs again: each was used once above, so each must now be refused as a replay
    run.add(
        measure("DPoP, replayed proof refused", lambda i: refused(lambda: with_proof(i), "invalid_dpop_proof"), rounds)
    )
    instance.close()
    run.notes.append(f"in-process, SQLite, {rounds} checks per row, one after another")
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
