"""What the provider tells the platform's own resource servers about an access token they have already verified.

A resource server checks a JWT access token's signature and claims itself, against the published JWKS (RFC 9068).
Two things it cannot see in the token: whether the grant behind it was revoked since (logout, consent withdrawn,
refresh-token reuse, a replayed code, a disabled client), and whether a DPoP proof's ``jti`` was already used.
Both live in the provider's database, which every worker shares; this module is the only door to them. When
server-provided DPoP nonces are on (``oidc.dpop_nonce``), it also says which nonce a proof must carry. It is
exported by :mod:`idp.oidc`, and ``signing`` uses nothing else of the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from antin.kernel.database import Database, utcnow
from antin.kernel.instance import Instance
from idp.oidc.dpop import DPOP_ALGS, verify_dpop_proof
from idp.oidc.dpop_nonce import DPoPNonces
from idp.oidc.errors import DPoPNonceRequiredError, DPoPProofError, InvalidDPoPProofError, UseDPoPNonceError
from idp.oidc.jti import JtiStore
from idp.oidc.machine_tokens import MachineRevocations, machine_client_of
from idp.oidc.models import Client, Grant, IssuedToken
from idp.oidc.refresh_tokens import RefreshContexts
from idp.oidc.user_tokens import RESOURCE_STATE, sealed_grant_of
from idp.settings import OidcSettings

__all__ = [
    "DPOP_ALGS",
    "DPoPNonceRequiredError",
    "DPoPProofError",
    "ResourceServerChecks",
    "dpop_nonces",
    "resource_server_checks",
]

# one statement: the access token by its jti, its grant and its client
_ACCESS_TOKEN_STATE = (
    select(IssuedToken.revoked_at, Grant.revoked_at, Client.disabled)
    .join(Grant, IssuedToken.grant_id == Grant.id)
    .join(Client, Client.client_id == Grant.client_id, isouter=True)
    .where(IssuedToken.lookup == bindparam("jti"), IssuedToken.kind == "access")
)


class ResourceServerChecks:
    """Revocation and DPoP replay checks for resource servers, read from the provider's database."""

    def __init__(
        self,
        database: Database,
        *,
        nonces: DPoPNonces | None = None,
        clock: Callable[[], datetime] = utcnow,
        secret_key: str | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        # opens the grant id a user access token's jti names (idp.oidc.user_tokens); without the instance secret
        # such a token is unknown, so revoked
        self._contexts = RefreshContexts(secret_key) if secret_key else None
        self._jti = JtiStore(database, clock=clock)
        self._machine = MachineRevocations(database, clock=clock)
        self._nonces = nonces

    def current_dpop_nonce(self) -> str | None:
        """The nonce DPoP proofs must carry now (for a ``DPoP-Nonce`` header), or None when nonces are off."""
        return self._nonces.current() if self._nonces is not None else None

    def access_token_revoked(self, jti: str) -> bool:
        """Whether the access token with this ``jti`` may no longer be used.

        True when the token or its grant was revoked, when its client is disabled, and when no such token was
        issued here (a token that verifies against our keys but is unknown is never taken on trust). A machine
        token (client_credentials, whose ``jti`` names its client) has no row: it is revoked when it was revoked
        (RFC 7009) or its client is disabled or gone. A user's access token (whose ``jti`` names its grant) has no
        row either: it is revoked when it was revoked alone, its grant revoked, its SSO session ended or expired, or
        its client disabled or gone. Raises ``ConnectionError`` when the database cannot be read.
        """
        machine_client = machine_client_of(jti)
        sealed = sealed_grant_of(jti)
        try:
            if machine_client is not None:  # a client_credentials token, stored nowhere (idp.oidc.machine_tokens)
                return self._machine.client_disabled_or_revoked(jti, machine_client)
            if sealed is not None:  # a user's access token, stored nowhere (idp.oidc.user_tokens)
                return self._user_token_revoked(jti, sealed)
            with self._db.reading() as s:
                row = s.execute(_ACCESS_TOKEN_STATE, {"jti": jti[:64]}).first()
        except SQLAlchemyError as err:
            raise ConnectionError("the provider's database cannot be read") from err
        if row is None:
            return True
        token_revoked, grant_revoked, client_disabled = row
        return token_revoked is not None or grant_revoked is not None or client_disabled is not False

    def _user_token_revoked(self, jti: str, sealed: str) -> bool:
        """A user access token's grant, SSO session, client and revocation, in one indexed read: revoked unless all
        live. The grant must be the one the token was issued for: its ``jti`` alone says nothing of client or
        subject, but the jti is only ever written into a token signed with the grant's (a resource server asks about
        a token whose signature it verified)."""
        grant_id = self._contexts.open_grant_id(sealed) if self._contexts is not None else None
        if grant_id is None:
            return True
        with self._db.reading() as s:
            row = s.execute(RESOURCE_STATE, {"grant_id": grant_id, "jti": jti, "now": self._clock()}).first()
        return row is None or row.disabled is not False or not row.live

    def check_dpop_proof(self, proof: str, *, method: str, url: str, access_token: str) -> str:
        """Check a DPoP proof sent with ``access_token`` (RFC 9449 §4.3, §7.1); return its key's thumbprint.

        The proof's ``jti`` is recorded in the same store the token endpoint uses, so a proof is usable once on the
        whole platform, whichever worker sees it. Raises :class:`DPoPProofError` for a proof that does not hold
        (:class:`DPoPNonceRequiredError` when it lacks the current nonce), ``ConnectionError`` when the database
        cannot be written.
        """
        try:
            return verify_dpop_proof(
                proof,
                method=method,
                url=url,
                access_token=access_token,
                remember_jti=lambda jti, ttl: self._jti.remember("dpop", jti, ttl),
                nonces=self._nonces,
            )
        except UseDPoPNonceError as err:
            raise DPoPNonceRequiredError(err.nonce) from None
        except InvalidDPoPProofError as err:
            raise DPoPProofError(str(err.description or "invalid DPoP proof")) from None
        except SQLAlchemyError as err:
            raise ConnectionError("the provider's database cannot be written") from err


def dpop_nonces(instance: Instance) -> DPoPNonces | None:
    """The instance's DPoP nonces when ``oidc.dpop_nonce`` is on; every worker sharing the secret agrees on them."""
    return DPoPNonces(instance.secret_key) if instance.settings.section(OidcSettings).dpop_nonce else None


def resource_server_checks(instance: Instance) -> ResourceServerChecks:
    return ResourceServerChecks(
        instance.database, nonces=dpop_nonces(instance), clock=instance.clock, secret_key=instance.secret_key
    )
