"""The URIs the provider itself calls (back-channel logout, jwks_uri): refused when registered if they lead inward,
and again when a logout token is delivered (a name may resolve elsewhere by then)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from antin.cli import cli
from antin.kernel.database import Base, Database
from antin.kernel.outbound import OutboundPolicy
from directory.memory import InMemoryDirectory
from idp.oidc.clients import ClientError, ClientRegistry, ClientSpec
from idp.oidc.logout import BackchannelLogout
from idp.oidc.models import BackchannelDelivery
from tests.idp.jose_check import EcKey
from tests.idp.oidc.test_backchannel_parallel import Applications, register
from tests.idp.oidc.test_client_jwks import Service
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.servers import jwks_server

INWARD = (
    "https://127.0.0.1/logout",
    "https://10.1.2.3/logout",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/logout",
    "https://[::ffff:10.1.2.3]/logout",
    "https://intranet.example/logout",  # a name that resolves to loopback (below)
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> None:
    """``intranet.example`` resolves to loopback, ``app.example`` to a public address; literals stay literals."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        answer = {"intranet.example": "127.0.0.1", "app.example": "93.184.216.34"}.get(host)
        if answer is None:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def spec(**uris: str) -> ClientSpec:
    return ClientSpec(name="Ứng dụng", redirect_uris=("https://app.example/cb",), **uris)  # type: ignore[arg-type]


@pytest.mark.parametrize("uri", INWARD)
def test_an_inward_backchannel_logout_uri_is_refused_when_registered(database: Database, names: None, uri: str) -> None:
    production = ClientRegistry(database, secret_key="s" * 32, production=True)
    with pytest.raises(ClientError) as refused:
        production.add(spec(backchannel_logout_uri=uri))
    assert refused.value.field == "backchannel_logout_uri"
    assert "the server does not call this address" in str(refused.value)
    assert "non-public address" in str(refused.value)
    assert production.list() == []


def test_an_inward_jwks_uri_is_refused_when_registered(database: Database, names: None) -> None:
    production = ClientRegistry(database, secret_key="s" * 32, production=True)
    with pytest.raises(ClientError) as refused:
        production.add(
            ClientSpec(
                name="Ứng dụng",
                redirect_uris=("https://app.example/cb",),
                auth_method="private_key_jwt",
                jwks_uri="https://169.254.169.254/jwks.json",
            )
        )
    assert refused.value.field == "jwks_uri"


def test_public_and_allowed_uris_are_registered(database: Database, names: None) -> None:
    production = ClientRegistry(database, secret_key="s" * 32, production=True)
    assert production.add(spec(backchannel_logout_uri="https://app.example/logout"))[0].backchannel_logout_uri
    allowing = ClientRegistry(
        database,
        secret_key="s" * 32,
        production=True,
        outbound=OutboundPolicy.from_entries(["10.1.2.0/24", "intranet.example"]),
    )
    for uri in ("https://10.1.2.3/logout", "https://intranet.example/logout"):
        assert allowing.add(spec(backchannel_logout_uri=uri))[0].backchannel_logout_uri == uri
    with pytest.raises(ClientError):
        allowing.add(spec(backchannel_logout_uri="https://10.9.9.9/logout"))  # outside the allowed network


def test_the_cli_says_why_an_address_is_refused(op: LiveProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTIN_DATA_DIR", str(op.instance.settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_SECRET_KEY", op.instance.secret_key)
    args = ["clients", "add", "--name", "Ứng dụng", "--redirect-uri", "http://localhost:9/cb"]
    result = CliRunner().invoke(cli, [*args, "--backchannel-logout-uri", "http://169.254.169.254/logout"])
    assert result.exit_code != 0
    assert "backchannel_logout_uri" in result.output and "169.254.169.254" in result.output
    assert "ANTIN_SERVER_OUTBOUND_ALLOW" in result.output
    # outside production an application on the developer's own machine is fine
    result = CliRunner().invoke(cli, [*args, "--backchannel-logout-uri", "http://localhost:9/logout"])
    assert result.exit_code == 0, result.output


def test_a_logout_token_is_not_posted_where_the_policy_refuses(op: LiveProvider) -> None:
    """Registered while allowed, refused at delivery (the operator narrowed the list, or the name now resolves
    inward): nothing reaches the address, and the delivery records why."""
    apps = Applications()
    try:
        clients = register(op, [apps.base + "0"])
        strict = BackchannelLogout(
            op.instance.database, op.provider.keys, issuer=op.issuer, clock=op.instance.clock, outbound=OutboundPolicy()
        )
        try:
            assert strict.enqueue(clients, sid="sid-1", subject="subject-1") == 1
            assert strict.drain() == 0
        finally:
            strict.close()
        assert apps.received == []
        with op.instance.database.reading() as s:
            row = s.scalars(select(BackchannelDelivery).where(BackchannelDelivery.client_id == clients[0].client_id))
            delivery = row.one()
        assert delivery.delivered_at is None and delivery.attempts == 1
        assert "non-public address (127.0.0.1)" in (delivery.last_error or "")
    finally:
        apps.close()


def test_the_provider_fetches_a_jwks_uri_listed_in_outbound_allow(tmp_path: Path, directory: InMemoryDirectory) -> None:
    """``[server] outbound_allow`` reaches the JWK Set fetcher too: listed, the loopback server's keys are fetched
    without the older all-or-nothing switch; not listed, the same client is refused (test_client_jwks)."""
    key = EcKey()
    with jwks_server() as server, live_provider(tmp_path, directory, server__outbound_allow=("127.0.0.1",)) as op:
        server.jwks = key.jwks()
        service = Service(op, server.url)
        answer = service.token(key)
        assert answer.status_code == 200 and "access_token" in answer.json(), answer.text
        assert server.requests == 1
