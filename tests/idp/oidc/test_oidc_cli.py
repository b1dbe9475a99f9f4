"""``antin clients`` and ``antin keys``: what an operator types, checked through real HTTP afterwards."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from antin.cli import cli
from directory.memory import InMemoryDirectory
from idp.settings import OidcSettings
from tests.idp.jose_check import verify_jws
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty


@pytest.fixture
def run(op: LiveProvider, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `antin ...` on the live provider's instance (same data folder, same database)."""
    monkeypatch.setenv("ANTIN_DATA_DIR", str(op.instance.settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_SECRET_KEY", op.instance.secret_key)

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.output

    return invoke


def test_clients_add_list_show_rotate_disable(run, op: LiveProvider) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "clients",
        "add",
        "--name",
        "Cổng thông tin",
        "--redirect-uri",
        "http://localhost:9/cb",
        "--trusted",
        "--post-logout-uri",
        "http://localhost:9/bye",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    client_id, secret = created["client_id"], created["client_secret"]
    assert created["token_endpoint_auth_method"] == "client_secret_basic" and created["trusted"] is True
    # only a digest is stored
    from idp.oidc.models import Client

    with op.instance.database.session() as s:
        row = s.scalar(select(Client).where(Client.client_id == client_id))
        assert row is not None and row.secret_digest and secret not in row.secret_digest
    code, out = run("clients", "show", client_id, "--json")
    assert code == 0 and json.loads(out)["client_name"] == "Cổng thông tin" and "client_secret" not in json.loads(out)
    assert secret not in out
    code, out = run("clients", "list", "--json")
    assert code == 0 and [c["client_id"] for c in json.loads(out)] == [client_id]

    def client_credentials_ok(secret: str) -> bool:
        r = requests.post(op.issuer + "/introspect", data={"token": "x"}, auth=(client_id, secret), timeout=10)
        return r.status_code == 200

    def refused_in_time(secret: str) -> bool:
        """The running server may use its copy of the registration for client_cache_seconds, no longer."""
        deadline = time.monotonic() + op.instance.settings.section(OidcSettings).client_cache_seconds + 1.0
        while client_credentials_ok(secret):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    assert client_credentials_ok(secret)
    code, out = run("clients", "rotate-secret", client_id, "--json")
    new_secret = json.loads(out)["client_secret"]
    assert code == 0 and new_secret != secret
    assert client_credentials_ok(new_secret)  # at once: the server reads the registration again
    assert refused_in_time(secret)
    code, out = run("clients", "disable", client_id, "--json")
    assert code == 0 and json.loads(out)["disabled"] is True
    assert refused_in_time(new_secret)


def test_clients_add_public_and_errors(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "clients", "add", "--name", "SPA", "--redirect-uri", "http://localhost:3000/cb", "--public", "--json"
    )
    assert code == 0 and "client_secret" not in json.loads(out)
    assert json.loads(out)["token_endpoint_auth_method"] == "none"
    code, out = run("clients", "add", "--name", "Bad", "--json")
    assert code != 0 and "redirect_uri" in out
    code, out = run("clients", "add", "--name", "Bad", "--redirect-uri", "not-a-uri", "--json")
    assert code != 0 and "redirect_uri" in out
    code, out = run(
        "clients", "add", "--name", "Bad", "--redirect-uri", "http://x/cb", "--auth-method", "private_key_jwt"
    )
    assert code != 0 and "jwks" in out
    code, out = run("clients", "show", "nope")
    assert code != 0 and "no client" in out


def test_keys_rotate_with_overlap(
    run,
    op: LiveProvider,
    browser: Browser,  # type: ignore[no-untyped-def]
) -> None:
    rp = RelyingParty.register(op)
    before = rp.code_flow(browser)
    old_kid = before["id_token"] and verify_jws(before["id_token"], rp.jwks)[0]["kid"]
    code, out = run("keys", "rotate", "--json")
    assert code == 0
    keys = json.loads(out)
    assert sum(k["state"] == "active" for k in keys) == 2 and sum(k["state"] == "retired" for k in keys) == 2
    op.provider.keys._cached_at = 0.0  # the workers' 30-second cache, skipped for the test
    after = rp.code_flow(Browser(op.issuer))
    header, _ = verify_jws(after["id_token"], rp.jwks)
    assert header["kid"] != old_kid
    # the old key is still published: tokens it signed still verify, and its access token still works
    verify_jws(before["id_token"], rp.jwks)
    assert rp.userinfo(before["access_token"]).status_code == 200
    # once every token it signed has expired (plus the overlap), it leaves the JWKS
    o = op.instance.settings.section(OidcSettings)
    later = timedelta(seconds=max(o.refresh_token_ttl, o.access_token_ttl) + o.key_overlap_hours * 3600 + 60)
    op.instance.clock.advance(later)
    op.provider.keys._cached_at = 0.0
    assert old_kid not in {k["kid"] for k in rp.jwks["keys"]}
    assert len(rp.jwks["keys"]) == 2


def test_keys_survive_restart(tmp_path: Path) -> None:
    directory = InMemoryDirectory()
    with live_provider(tmp_path, directory) as op:
        first = requests.get(op.issuer + "/jwks.json", timeout=10).json()
    with live_provider(tmp_path, directory) as op:
        assert requests.get(op.issuer + "/jwks.json", timeout=10).json() == first


def test_unreadable_keys_make_the_jwks_a_clear_503(tmp_path: Path) -> None:
    directory = InMemoryDirectory()
    with live_provider(tmp_path, directory, core__secret_key="s" * 40) as op:
        assert requests.get(op.issuer + "/jwks.json", timeout=10).status_code == 200
    with live_provider(tmp_path, directory, core__secret_key="t" * 40) as op:  # the secret changed under them
        response = requests.get(op.issuer + "/jwks.json", timeout=10)
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["detail"] == "the signing keys are not available"
        assert "Traceback" not in response.text


def test_changed_secret_is_explained_and_rotate_recovers(tmp_path: Path) -> None:
    from antin.kernel.database import Base, Database
    from idp.oidc.keys import SigningKeys, SigningKeysUnreadableError

    db = Database(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    Base.metadata.create_all(db.engine)
    SigningKeys(db, "the first secret", retire_after_seconds=60).ensure()
    later = SigningKeys(db, "another secret", retire_after_seconds=60)
    with pytest.raises(SigningKeysUnreadableError, match="antin keys rotate"):
        later.sign({"a": 1}, alg="ES256")
    later.rotate()
    token = later.sign({"a": 1}, alg="ES256")
    assert later.verify(token)[1] == {"a": 1}
    assert len(later.jwks()["keys"]) == 4  # the old public keys stay published
    db.dispose()


def test_demo_client_is_registered_once_and_works(op: LiveProvider) -> None:
    from idp.oidc.demo import ensure_demo_client

    first = ensure_demo_client(op.instance)
    assert ensure_demo_client(op.instance) == first
    record = op.provider.clients.get(str(first["client_id"]))
    assert record is not None and record.trusted
    rp = RelyingParty(op, record, str(first["client_secret"]), str(first["redirect_uris"][0]))  # type: ignore[index]
    assert rp.code_flow(Browser(op.issuer))["id_claims"]["aud"] == first["client_id"]


def test_plain_http_redirect_uris_are_refused_in_production(tmp_path: Path) -> None:
    from antin.kernel.database import Base, Database
    from idp.oidc.clients import ClientError, ClientRegistry, ClientSpec

    db = Database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    Base.metadata.create_all(db.engine)
    production = ClientRegistry(db, secret_key="s" * 32, production=True)
    with pytest.raises(ClientError, match="https"):
        production.add(ClientSpec(name="x", redirect_uris=("http://app.internal/cb",)))
    for uri in ("https://app.antin.vn/cb", "http://127.0.0.1:8765/cb", "vn.antin.app:/callback"):
        assert production.add(ClientSpec(name="ok", redirect_uris=(uri,), public=True))[0].redirect_uris == (uri,)
    assert ClientRegistry(db, secret_key="s" * 32).add(
        ClientSpec(name="dev", redirect_uris=("http://app.internal/cb",))
    )[1]
    db.dispose()


def test_generated_client_ids_never_look_like_options() -> None:
    """`antin clients show -abc` would be read as an option: one id in 64 started with "-" before."""
    from idp.oidc.clients import new_client_id

    ids = [new_client_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and not [i for i in ids if i.startswith("-")]


def test_a_clients_home_url_lists_it_on_the_portal(run, op: LiveProvider) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "clients", "add", "--name", "Hồ sơ công việc", "--redirect-uri", "http://localhost:9/cb",
        "--home-url", "https://hoso.example/", "--json",
    )  # fmt: skip
    assert code == 0, out
    client_id = json.loads(out)["client_id"]
    assert json.loads(out)["home_url"] == "https://hoso.example/"
    code, out = run("clients", "set-home-url", client_id, "javascript:alert(1)")
    assert code != 0 and "not an absolute http(s) URL" in out  # a link on the portal never runs script
    code, out = run("clients", "set-home-url", client_id, "https://hoso.example/start", "--json")
    assert code == 0 and json.loads(out)["home_url"] == "https://hoso.example/start"
    code, out = run("clients", "set-home-url", client_id, "--json")
    assert code == 0 and json.loads(out)["home_url"] is None  # unlisted
    events = [e.event for e in op.instance.audit.entries(event="oauth:client:home-url")]
    assert len(events) == 2
