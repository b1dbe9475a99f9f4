"""Machine tokens (idp.oidc.machine_tokens): a client_credentials grant writes its audit entry and no grant or token
row, on both databases; introspection, revocation (RFC 7009), a disabled client and ``exp`` still decide whether
the token is live, for the client, a resource server introspecting it and the platform's own resource servers.
Every token is checked with joserfc against the published JWKS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from antin.kernel.audit.models import AuditEntry
from idp.oidc.clients import ClientSpec
from idp.oidc.machine_tokens import REVOKED_KIND
from idp.oidc.models import Grant, IssuedToken, UsedJti
from idp.oidc.resource import resource_server_checks
from tests.idp.jose_check import EcKey
from tests.idp.oidc.stored_tokens import stored_access_token
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on

TTL = 3  # seconds an access token lives here: long enough to use it, short enough to see it expire


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path, oidc__access_token_ttl=TTL) as live:
        yield live


def _client(op: LiveProvider, name: str, **spec: Any) -> tuple[str, tuple[str, str]]:
    values: dict[str, Any] = {"name": name, "grant_types": ("client_credentials",), "scopes": ("profile", "email")}
    values.update(spec)
    record, secret = op.provider.clients.add(ClientSpec(**values))
    return record.client_id, (record.client_id, secret or "")


def _grant(op: LiveProvider, auth: tuple[str, str], **form: str) -> dict[str, Any]:
    response = requests.post(
        op.issuer + "/token", data={"grant_type": "client_credentials", **form}, auth=auth, timeout=10
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _verified(op: LiveProvider, access_token: str) -> dict[str, Any]:
    discovery = requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10).json()
    keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    token = jwt.decode(access_token, keys, algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt"
    return dict(token.claims)


def _introspect(op: LiveProvider, token: str, auth: tuple[str, str]) -> dict[str, Any]:
    response = requests.post(op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _revoke(op: LiveProvider, token: str, auth: tuple[str, str]) -> None:
    response = requests.post(op.issuer + "/revoke", data={"token": token}, auth=auth, timeout=10)
    assert response.status_code == 200, response.text


def _count(op: LiveProvider, model: Any, *where: Any) -> int:
    with op.instance.database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _entries(op: LiveProvider, event: str) -> list[dict[str, Any]]:
    with op.instance.database.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.seq)).all()
        return [{"client_id": r.client_id, **json.loads(r.details)} for r in rows]


def test_a_grant_writes_its_audit_entry_and_no_row(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    answers = [_grant(op, auth), _grant(op, auth, scope="email"), _grant(op, auth, scope="profile email")]
    assert (_count(op, Grant), _count(op, IssuedToken)) == (0, 0)
    for answer, scope in zip(answers, ("", "email", "profile email"), strict=True):
        assert set(answer) == {"access_token", "token_type", "expires_in", "scope"}
        assert (answer["token_type"], answer["expires_in"], answer["scope"]) == ("Bearer", TTL, scope)
        claims = _verified(op, answer["access_token"])
        assert claims["iss"] == op.issuer and claims["aud"] == op.issuer
        assert claims["sub"] == claims["client_id"] == client_id and claims["scope"] == scope
        assert claims["exp"] - claims["iat"] == TTL and claims["exp"] > time.time()
    jtis = [_verified(op, a["access_token"])["jti"] for a in answers]
    assert len(set(jtis)) == 3
    issued = [e for e in _entries(op, "oauth:token:issue") if e["client_id"] == client_id]
    assert [(e["grant_type"], e["jti"]) for e in issued] == [("client_credentials", jti) for jti in jtis]
    assert op.instance.audit.verify().ok


def test_introspection_and_revocation_of_a_machine_token(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    token = _grant(op, auth, scope="email")["access_token"]
    kept = _grant(op, auth)["access_token"]
    jti = _verified(op, token)["jti"]
    checks = resource_server_checks(op.instance)

    live = _introspect(op, token, rs_auth)
    assert live["active"] is True and live["client_id"] == client_id and live["sub"] == client_id
    assert (live["scope"], live["token_type"], live["aud"], live["iss"]) == ("email", "Bearer", [op.issuer], op.issuer)
    assert live["exp"] - live["iat"] == TTL
    assert _introspect(op, token, auth)["active"] is True  # the client itself may introspect it too
    assert not checks.access_token_revoked(jti)

    _revoke(op, token, auth)
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert _introspect(op, token, auth) == {"active": False}
    assert checks.access_token_revoked(jti)
    _revoke(op, token, auth)  # again: nothing changes, the answer is the same (RFC 7009 §2.2)
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert _count(op, UsedJti, UsedJti.kind == REVOKED_KIND) == 1
    assert _introspect(op, kept, rs_auth)["active"] is True  # one token revoked, not the client's others
    assert not checks.access_token_revoked(_verified(op, kept)["jti"])
    revoked = [e for e in _entries(op, "oauth:token:revoke") if e["client_id"] == client_id]
    assert [(e["kind"], e["jti"]) for e in revoked] == [("access", jti), ("access", jti)]
    assert (_count(op, Grant), _count(op, IssuedToken)) == (0, 0)


def test_a_disabled_clients_machine_tokens_are_inactive(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    token = _grant(op, auth)["access_token"]
    jti = _verified(op, token)["jti"]
    checks = resource_server_checks(op.instance)
    assert _introspect(op, token, rs_auth)["active"] is True

    op.provider.clients.set_disabled(client_id)
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert checks.access_token_revoked(jti)
    refused = requests.post(op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert refused.status_code == 401


def test_a_machine_token_past_its_exp_is_inactive(op: LiveProvider) -> None:
    _client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    token = _grant(op, auth)["access_token"]
    assert _introspect(op, token, rs_auth)["active"] is True
    time.sleep(TTL + 1.1)
    assert _introspect(op, token, rs_auth) == {"active": False}


def test_a_rotated_secret_leaves_issued_tokens_live(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    token = _grant(op, auth)["access_token"]
    _record, new_secret = op.provider.clients.rotate_secret(client_id)
    refused = requests.post(op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert refused.status_code == 401
    assert _introspect(op, token, rs_auth)["active"] is True  # as before: a rotation stops new grants only
    assert _grant(op, (client_id, new_secret))["token_type"] == "Bearer"


def test_a_dpop_bound_machine_token_carries_its_key(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    key = EcKey()
    url = op.issuer + "/token"
    response = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        auth=auth,
        headers={"DPoP": key.dpop_proof("POST", url)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    token = response.json()["access_token"]
    assert _verified(op, token)["cnf"] == {"jkt": key.thumbprint()}
    live = _introspect(op, token, rs_auth)
    assert (live["active"], live["token_type"], live["cnf"]) == (True, "DPoP", {"jkt": key.thumbprint()})
    assert (_count(op, Grant), _count(op, IssuedToken)) == (0, 0)
    _revoke(op, token, auth)
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert client_id in {e["client_id"] for e in _entries(op, "oauth:token:revoke")}


def test_a_client_credentials_token_stored_before_the_change_is_still_read_from_its_row(op: LiveProvider) -> None:
    client_id, auth = _client(op, "service")
    _rs_id, rs_auth = _client(op, "resource server", trusted=True)
    record = op.provider.clients.get(client_id)
    assert record is not None
    # as the token endpoint issued it until now: a grant and a token row, a jti without a client in it
    token, jti, grant_id = stored_access_token(op, record, subject=None, scope="email")
    assert _verified(op, token)["jti"] == jti
    assert "." not in jti and _count(op, IssuedToken, IssuedToken.grant_id == grant_id) == 1
    checks = resource_server_checks(op.instance)
    assert _introspect(op, token, rs_auth)["scope"] == "email" and not checks.access_token_revoked(jti)
    _revoke(op, token, auth)
    assert _introspect(op, token, rs_auth) == {"active": False} and checks.access_token_revoked(jti)
    assert _count(op, UsedJti, UsedJti.kind == REVOKED_KIND) == 0  # revoked in its row, as before
