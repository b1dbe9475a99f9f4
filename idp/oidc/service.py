"""The OpenID Provider of one instance: its services, built once and kept in ``instance.extensions``.

Nothing here is per-process state that matters: keys, clients, codes, sessions, interactions, PAR requests and
the logout queue are in the database, so any gunicorn worker can answer any request. Time is the instance's
clock (``instance.clock``), handed to every store. The provider reads no HTTP request: the views and
:mod:`idp.oidc.server` pass it what they know (the caller's address, a checked DPoP key).
"""

from __future__ import annotations

from typing import Any

from antin.kernel.instance import Instance
from antin.kernel.outbound import outbound_policy
from directory.instance import directory_service
from directory.protocol import UserDirectory
from idp.oidc.acr import ACR_PASSWORD
from idp.oidc.audit import Auditor
from idp.oidc.claims import claims_for, claims_of_scopes, requested_claim_names
from idp.oidc.client_keys import RemoteJwks
from idp.oidc.clients import ClientRecord, client_registry
from idp.oidc.consents import ConsentService
from idp.oidc.dpop import verify_dpop_proof
from idp.oidc.errors import InvalidDPoPProofError
from idp.oidc.grants import GrantContext
from idp.oidc.interaction import InteractionStore
from idp.oidc.jti import JtiStore
from idp.oidc.keys import SigningKeys
from idp.oidc.logout import BackchannelLogout
from idp.oidc.par import PushedRequests
from idp.oidc.resource import dpop_nonces
from idp.oidc.sessions import SessionService
from idp.oidc.tokens import TokenService
from idp.settings import OidcSettings

__all__ = ["EXTENSION_KEY", "OidcProvider", "get_provider"]

EXTENSION_KEY = "antin.oidc"


class OidcProvider:
    def __init__(self, instance: Instance, *, directory: UserDirectory | None = None) -> None:
        self.instance = instance
        settings = instance.settings
        self.settings = settings
        self.issuer = settings.core.issuer
        db = instance.database
        clock = instance.clock
        self.clock = clock
        o = settings.section(OidcSettings)
        longest_token = max(o.access_token_ttl, o.id_token_ttl, o.refresh_token_ttl)
        self.keys = SigningKeys(
            db, instance.secret_key, retire_after_seconds=longest_token + o.key_overlap_hours * 3600, clock=clock
        )
        self.clients = client_registry(instance, cache_seconds=o.client_cache_seconds)
        self.sessions = SessionService(
            db,
            idle_minutes=settings.session.idle_minutes,
            absolute_hours=settings.session.absolute_hours,
            clock=clock,
        )
        self.interactions = InteractionStore(db, ttl_seconds=o.interaction_ttl, clock=clock)
        self.tokens = TokenService(
            db,
            self.keys,
            issuer=self.issuer,
            code_ttl=o.code_ttl,
            access_token_ttl=o.access_token_ttl,
            id_token_ttl=o.id_token_ttl,
            refresh_token_ttl=o.refresh_token_ttl,
            secret_key=instance.secret_key,
            clock=clock,
            audit_log=instance.audit,
        )
        self.consents = ConsentService(db, clock=clock)
        self.jti = JtiStore(db, clock=clock)
        self.dpop_nonces = dpop_nonces(instance)
        self.pushed = PushedRequests(db, ttl_seconds=o.par_ttl, clock=clock)
        outbound = instance.settings.server.outbound_allow
        production = instance.settings.production
        self.backchannel = BackchannelLogout(
            db, self.keys, issuer=self.issuer, clock=clock, outbound=outbound_policy(outbound, production=production)
        )
        self.client_jwks = RemoteJwks(
            allow_private_addresses=o.client_jwks_allow_private_addresses,
            policy=outbound_policy(outbound, production=production, development_loopback=False),
        )
        self.audit = Auditor(instance)
        self._directory = directory

    @property
    def directory(self) -> UserDirectory:
        if self._directory is not None:
            return self._directory
        directory: UserDirectory = directory_service(self.instance)
        return directory

    def endpoint(self, path: str) -> str:
        return self.issuer + path

    def assertion_audiences(self) -> list[str]:
        return [self.issuer, *(self.endpoint(p) for p in ("/token", "/par", "/introspect", "/revoke"))]

    def active_client(self, client_id: str) -> ClientRecord | None:
        return self.clients.active(client_id)

    # -- claims ------------------------------------------------------------------------------------------

    def id_token_user_claims(self, ctx: GrantContext) -> dict[str, Any]:
        """User claims for the ID token: only those the ``claims`` parameter asks for in ``id_token``.

        Scope claims go to the userinfo endpoint, since the client always gets an access token.
        """
        wanted = self.individually_requested(ctx.client, frozenset(ctx.scope.split()), ctx.claims, "id_token")
        if not wanted or not ctx.subject:
            return {}
        person = self.directory.find_by_uuid(ctx.subject)
        if person is None:
            return {}
        claims = claims_for(person, frozenset(), extra=wanted)
        claims.pop("sub", None)
        return claims

    def individually_requested(
        self, client: ClientRecord, granted: frozenset[str], claims: dict[str, Any] | None, member: str
    ) -> set[str]:
        """Claims asked for one by one (the ``claims`` parameter) that this client may have: any claim of the
        scopes it is registered for if it is trusted, else only claims of the scopes the official allowed."""
        allowed = claims_of_scopes(client.scopes if client.trusted else granted)
        return requested_claim_names(claims, member) & allowed

    # -- DPoP --------------------------------------------------------------------------------------------

    def check_dpop_proof(
        self, proof: str | None, *, method: str, path: str, access_token: str | None = None, nonce: bool = True
    ) -> str | None:
        """Check a DPoP proof sent to one of our endpoints; return its key's jkt (None without a proof).

        The proof must carry a current server nonce when ``oidc.dpop_nonce`` is on, unless ``nonce`` is False (the
        front channel, where no client can retry).
        """
        if not proof:
            return None
        return verify_dpop_proof(
            proof,
            method=method,
            url=self.endpoint(path),
            access_token=access_token,
            remember_jti=lambda jti, ttl: self.jti.remember("dpop", jti, ttl),
            nonces=self.dpop_nonces if nonce else None,
        )

    def check_token_request_dpop(self, proof: str | None) -> str | None:
        """Check the token request's DPoP proof (before anything is consumed); return its key's jkt."""
        return self.check_dpop_proof(proof, method="POST", path="/token")

    def dpop_for_token_request(self, client: ClientRecord, jkt: str | None) -> str | None:
        """The jkt the token view checked (None without a proof); clients registered for DPoP must send one."""
        if jkt is None and client.dpop_bound_access_tokens:
            raise InvalidDPoPProofError("this client must use DPoP")
        return jkt

    def default_acr(self) -> str:
        return ACR_PASSWORD

    # -- sessions ------------------------------------------------------------------------------------------

    def needs_consent(self, client: ClientRecord, subject: str, scopes: tuple[str, ...], *, forced: bool) -> bool:
        if client.trusted:
            return False
        return forced or not self.consents.covers(subject, client.client_id, scopes)

    def end_session(self, sid: str, *, reason: str, ip: str | None = None) -> bool:
        """End an SSO session: revoke what it granted and send a logout token to each of its clients.

        ``ip`` is the address of the request that ended it, for the audit trail.
        """
        ended = self.sessions.end(sid)
        if ended is None:
            return False
        self.tokens.revoke_for_session(ended.sid, reason)
        clients = [c for c in (self.clients.get(cid) for cid in ended.client_ids) if c is not None]
        if self.backchannel.enqueue(clients, sid=ended.sid, subject=ended.subject):
            self.backchannel.kick()
        self.audit.record(
            "session:sso:logout",
            actor=ended.subject,
            subject=ended.subject,
            ip=ip,
            details={"sid": ended.sid, "reason": reason, "clients": list(ended.client_ids)},
        )
        return True

    def end_all_sessions(self, subject: str, *, reason: str, ip: str | None = None) -> int:
        """Sign out everywhere: every session of the official, and every grant, offline ones included."""
        count = 0
        for view in self.sessions.live_for(subject):
            count += int(self.end_session(view.sid, reason=reason, ip=ip))
        self.tokens.revoke_for_subject(subject, reason)
        self.audit.record("session:sso:logout-everywhere", actor=subject, subject=subject, ip=ip)
        return count

    def close(self) -> None:
        self.backchannel.close()
        self.clients.close()


def get_provider(instance: Instance) -> OidcProvider:
    return instance.service(EXTENSION_KEY, OidcProvider)


def replace_directory(instance: Instance, directory: UserDirectory) -> OidcProvider:
    """Tests and tools: a provider reading people from another directory (an InMemoryDirectory).

    Call it before the app serves: the authorization server (:mod:`idp.oidc.server`) is built over the provider
    in place on first use.
    """
    provider = OidcProvider(instance, directory=directory)
    instance.extensions[EXTENSION_KEY] = provider
    return provider
