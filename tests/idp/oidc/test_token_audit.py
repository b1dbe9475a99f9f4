"""Each token operation's audit entry: one entry naming its grant per code grant and refresh, and naming its token's
``jti`` per client_credentials grant (which writes nothing else: idp.oidc.machine_tokens), on both databases; on
PostgreSQL the entry is written by the operation's own statement, so a token never exists without its entry (an
entry that cannot be written takes the tokens with it, and a machine token is not handed out), a lost commit
answer is written once, and a rotation that turns out to be a reuse writes the reuse's entry in the refresh's
place."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from antin.kernel.audit.models import AuditEntry
from idp.oidc.errors import RefreshReusedError
from idp.oidc.models import Grant, IssuedToken
from idp.oidc.token_store import TokenEvent
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider, live_provider_on
from tests.idp.rp import Browser, RelyingParty


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


@pytest.fixture
def pg_op(tmp_path: Path) -> Iterator[LiveProvider]:
    from tests.servers import postgres_server

    with (
        postgres_server(tmp_path / "pg") as url,
        live_provider(tmp_path / "op", make_directory(), database__url=url) as live,
    ):
        assert live.instance.database.driver is not None
        yield live
        live.instance.database.dispose()


def _service(op: LiveProvider) -> tuple[str, tuple[str, str]]:
    from idp.oidc.clients import ClientSpec

    record, secret = op.provider.clients.add(
        ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile",), trusted=True)
    )
    return record.client_id, (record.client_id, secret or "")


def _entries(op: LiveProvider, event: str) -> list[dict[str, object]]:
    with op.instance.database.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.seq)).all()
        return [{"client_id": r.client_id, "subject": r.subject, **json.loads(r.details)} for r in rows]


def _jti(access_token: str) -> str:
    payload = access_token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def _count(op: LiveProvider, model: type[Grant] | type[IssuedToken]) -> int:
    with op.instance.database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_each_token_operation_writes_one_entry_naming_its_grant(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="audited")
    tokens = rp.code_flow(Browser(op.issuer))
    refreshed = requests.post(
        op.issuer + "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(rp.client.client_id, rp.secret or ""),
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text
    client_id, auth = _service(op)
    jtis = []
    for _ in range(3):
        issued = requests.post(op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
        assert issued.status_code == 200, issued.text
        jtis.append(_jti(issued.json()["access_token"]))

    with op.instance.database.session() as s:
        code_grant = s.scalars(select(Grant).where(Grant.client_id == rp.client.client_id)).one()
        service_grants = s.scalars(select(Grant.id).where(Grant.client_id == client_id).order_by(Grant.id)).all()
    issues = _entries(op, "oauth:token:issue")
    by_code = [e for e in issues if e["grant_type"] == "authorization_code"]
    assert [(e["grant_id"], e["client_id"]) for e in by_code] == [(code_grant.id, rp.client.client_id)]
    by_client = [e for e in issues if e["grant_type"] == "client_credentials"]
    assert [(e["jti"], e["client_id"]) for e in by_client] == [(jti, client_id) for jti in jtis]
    assert list(service_grants) == []  # a machine token has no grant (idp.oidc.machine_tokens)
    assert [e["grant_id"] for e in _entries(op, "oauth:token:refresh")] == [code_grant.id]
    assert op.instance.audit.verify().ok


def test_a_rotation_found_reused_in_its_statement_writes_the_reuse_entry_once(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="rotating")
    tokens = rp.code_flow(Browser(op.issuer))
    service = op.provider.tokens
    # both requests found the token live before either rotated it
    first, why = service.find_refresh(tokens["refresh_token"], rp.client)
    second, _ = service.find_refresh(tokens["refresh_token"], rp.client)
    assert first is not None and second is not None, why
    event = TokenEvent("oauth:token:refresh", client_id=rp.client.client_id, ip="192.0.2.7")
    service.issue(first.context, grant_id=first.grant_id, refresh=True, rotated_from=first.token_id, audit_as=event)
    with pytest.raises(RefreshReusedError) as raised:
        service.issue(
            second.context, grant_id=second.grant_id, refresh=True, rotated_from=second.token_id, audit_as=event
        )
    on_driver = op.instance.database.driver is not None
    assert raised.value.audited is on_driver  # elsewhere the grant's caller writes it, as /token does
    assert [e["grant_id"] for e in _entries(op, "oauth:token:refresh")] == [first.grant_id]
    assert len(_entries(op, "oauth:token:reuse")) == (1 if on_driver else 0)
    assert op.instance.audit.verify().ok


@pytest.mark.postgres
def test_no_token_is_issued_when_its_audit_entry_cannot_be_written(pg_op: LiveProvider) -> None:
    _client_id, auth = _service(pg_op)
    first = requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert first.status_code == 200
    grants, tokens = _count(pg_op, Grant), _count(pg_op, IssuedToken)
    with pg_op.instance.database.autocommit() as conn:  # the log refuses this event from now on
        conn.execute(
            text("ALTER TABLE audit_log ADD CONSTRAINT no_issue CHECK (event <> 'oauth:token:issue') NOT VALID")
        )
    refused = requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert refused.status_code >= 500 and "access_token" not in refused.text and "Traceback" not in refused.text
    assert (_count(pg_op, Grant), _count(pg_op, IssuedToken)) == (grants, tokens)  # nothing without its entry
    rp = RelyingParty.register(pg_op, name="refused")
    with pytest.raises(AssertionError):  # a code grant's tokens are not written without their entry either
        rp.code_flow(Browser(pg_op.issuer))
    assert (_count(pg_op, Grant), _count(pg_op, IssuedToken)) == (grants, tokens)
    with pg_op.instance.database.autocommit() as conn:
        conn.execute(text("ALTER TABLE audit_log DROP CONSTRAINT no_issue"))
    again = requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert again.status_code == 200
    assert len(_entries(pg_op, "oauth:token:issue")) == 2 and pg_op.instance.audit.verify().ok


@pytest.mark.postgres
def test_a_token_statement_after_a_lost_commit_answer_writes_once(pg_op: LiveProvider) -> None:
    _client_id, auth = _service(pg_op)
    audit = pg_op.instance.audit
    requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    [writer] = audit._spare  # the chain token statements run on, one at a time here
    before = (writer.seq, writer.hash)
    issued = requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert issued.status_code == 200
    # as if that commit's answer had been lost: this writer believes its head is still where it was before
    writer.seq, writer.hash = before
    again = requests.post(pg_op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
    assert again.status_code == 200
    assert len(_entries(pg_op, "oauth:token:issue")) == 3
    assert audit.verify().ok


@pytest.mark.postgres
def test_token_statements_at_once_each_write_their_entry_on_a_chain_of_their_own(pg_op: LiveProvider) -> None:
    _client_id, auth = _service(pg_op)

    def issue(_: int) -> int:
        url = pg_op.issuer + "/token"
        return requests.post(url, data={"grant_type": "client_credentials"}, auth=auth, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(issue, range(40)))
    assert answers == [200] * 40
    assert len(_entries(pg_op, "oauth:token:issue")) == 40
    # one chain per statement in flight at most, each taken back when its statement is done
    assert 1 <= len(pg_op.instance.audit._spare) <= 8
    assert pg_op.instance.audit.verify().ok
