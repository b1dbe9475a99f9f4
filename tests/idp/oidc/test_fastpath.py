"""The token requests answered before Flask (idp.oidc.fastpath) answer exactly as the app does.

One matrix of good and bad requests — client_credentials, refresh (with reuse), introspection, the code's
redemption (PKCE, redirect URI, a code used twice, another client's, expired), and what the fast path leaves to
the app — is sent once through the whole stack (where the fast path answers what it takes) and once
straight to the Flask app behind it, each run with its own clients and tokens on the same provider: the statuses,
JSON bodies, headers and audit entries must be the same, and the fast run must have answered the requests it is
meant to take. Tokens are checked with joserfc against the published JWKS. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client, TestResponse

from antin.kernel.audit.models import AuditEntry
from idp.oidc.clients import ClientSpec
from idp.oidc.codes import CodeRequest
from idp.oidc.fastpath import EXTENSION_KEY, MAX_FORM_BYTES, MachineEndpoints
from idp.oidc.grants import GrantContext
from idp.oidc.models import AuthorizationCode
from idp.oidc.random_secrets import digest
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider, live_provider_on
from tests.idp.rp import pkce

# headers that differ by nature between two requests
VOLATILE_HEADERS = {"x-request-id", "content-length", "date"}
# token values, times and ids that differ by nature between two runs (the tokens are checked before they go)
VOLATILE_FIELDS = {"access_token", "refresh_token", "id_token", "exp", "iat", "expires_in", "jti"}


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


@dataclass
class Run:
    """One run's clients (by role) and what it saw."""

    op: LiveProvider
    client: Client
    clients: dict[str, tuple[str, str]]  # role -> (client_id, secret)
    seen: list[tuple[str, int, dict[str, str], Any]]

    def send(self, label: str, path: str, form: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        response = self.client.post(path, data=form, **kwargs) if form is not None else self.client.open(path, **kwargs)
        headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS}
        body = response.get_data(as_text=True).replace(response.headers.get("X-Request-ID", "\0"), "<request-id>")
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body
        self.seen.append((label, response.status_code, headers, self._stable(parsed)))
        return response

    def _stable(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("<varies>" if k in VOLATILE_FIELDS else self._stable(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._stable(v) for v in value]
        if isinstance(value, str):
            for role, (client_id, _secret) in self.clients.items():
                value = value.replace(client_id, f"<{role}>")
        return value

    def basic(self, role: str, secret: str | None = None) -> dict[str, Any]:
        client_id, right = self.clients[role]
        return {"auth": (client_id, right if secret is None else secret)}

    def post_auth(self, role: str) -> dict[str, str]:
        client_id, secret = self.clients[role]
        return {"client_id": client_id, "client_secret": secret}


def _clients(op: LiveProvider) -> dict[str, tuple[str, str]]:
    add = op.provider.clients.add
    specs = {
        "service": ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile", "email")),
        "app": ClientSpec(
            name="app",
            redirect_uris=("https://app.example/cb",),
            grant_types=("authorization_code", "refresh_token"),
            scopes=("openid", "profile", "email"),
        ),
        "other": ClientSpec(
            name="other",
            redirect_uris=("https://other.example/cb",),
            grant_types=("authorization_code", "refresh_token", "client_credentials"),
            scopes=("openid", "profile"),
        ),
        "disabled": ClientSpec(name="disabled", grant_types=("client_credentials",), scopes=("profile",)),
        "public": ClientSpec(
            name="public",
            public=True,
            redirect_uris=("https://app.example/cb",),
            grant_types=("authorization_code", "refresh_token"),
            scopes=("openid", "profile"),
        ),
    }
    clients = {}
    for role, spec in specs.items():
        record, secret = add(spec)
        clients[role] = (record.client_id, secret or "")
    op.provider.clients.set_disabled(clients["disabled"][0])
    return clients


def _refresh_token(op: LiveProvider, client_id: str) -> str:
    """A refresh token of an official's grant, as a code grant would have left it."""
    record = op.provider.clients.get(client_id)
    assert record is not None
    person = op.directory.find_by_login("an.nguyen")
    assert person is not None
    ctx = GrantContext(client=record, subject=person.entry_uuid, scope="openid profile")
    token, _ = op.provider.tokens.issue(ctx, refresh=True)
    return str(token["refresh_token"])


def _verified(op: LiveProvider, access_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(json.loads(op.provider.keys.jwks_json()))
    token = jwt.decode(access_token, keys, algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt"
    assert token.claims["iss"] == op.issuer
    return dict(token.claims)


def _matrix(run: Run, *, fast: MachineEndpoints | None) -> None:
    op = run.op
    before = fast.answered if fast is not None else 0
    answered = 0

    def taken(response: TestResponse) -> TestResponse:  # a request the fast path must have answered itself
        nonlocal answered
        answered += 1
        if fast is not None:
            assert fast.answered - before == answered, f"not answered before Flask: {response.request.path}"
        return response

    cc = {"grant_type": "client_credentials"}
    good = taken(run.send("cc basic", "/token", cc, **run.basic("service")))
    assert good.status_code == 200
    claims = _verified(op, good.json["access_token"])
    assert claims["client_id"] == run.clients["service"][0] and "refresh_token" not in good.json
    scoped = taken(run.send("cc post, scope", "/token", {**cc, "scope": "email", **run.post_auth("service")}))
    assert _verified(op, scoped.json["access_token"])["scope"] == "email"
    assert taken(run.send("cc scope not allowed", "/token", {**cc, "scope": "openid"}, **run.basic("service"))).json[
        "error"
    ] == ("invalid_scope")
    run.send("cc wrong secret", "/token", cc, **run.basic("service", "wrong"))
    run.send("cc wrong secret post", "/token", {**cc, "client_id": run.clients["service"][0], "client_secret": "x"})
    run.send("cc unknown client", "/token", cc, auth=("nobody", "secret"))
    run.send("cc disabled client", "/token", cc, **run.basic("disabled"))
    run.send("cc grant not allowed", "/token", cc, **run.basic("app"))
    run.send(
        "grant unknown", "/token", {"grant_type": "password", "username": "a", "password": "b"}, **run.basic("app")
    )
    run.send("grant missing", "/token", {"scope": "profile"}, **run.basic("service"))
    run.send("no client auth", "/token", cc)
    run.send("GET /token", "/token", method="GET")
    run.send("JSON body", "/token", None, method="POST", json=cc, **run.basic("service"))
    run.send("oversized body", "/token", {**cc, "scope": "p" * (MAX_FORM_BYTES + 1)}, **run.basic("service"))
    run.send(
        "resource (left to the app)", "/token", {**cc, "resource": "https://rs.example/api"}, **run.basic("service")
    )

    first = _refresh_token(op, run.clients["app"][0])
    refreshed = taken(
        run.send("refresh", "/token", {"grant_type": "refresh_token", "refresh_token": first}, **run.basic("app"))
    )
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["refresh_token"] != first
    assert _verified(op, refreshed.json["access_token"])["sub"] == op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]
    second = refreshed.json["refresh_token"]
    narrower = {"grant_type": "refresh_token", "refresh_token": second, "scope": "profile", **run.post_auth("app")}
    wider = dict(narrower, scope="openid profile email")
    assert taken(run.send("refresh wider scope", "/token", wider)).json["error"] == "invalid_scope"
    narrowed = taken(run.send("refresh narrower scope, post", "/token", narrower))
    assert narrowed.status_code == 200 and narrowed.json["scope"] == "profile"
    reused = taken(
        run.send(
            "refresh reused", "/token", {"grant_type": "refresh_token", "refresh_token": first}, **run.basic("app")
        )
    )
    assert reused.json["error"] == "invalid_grant"
    family = taken(
        run.send(
            "refresh after reuse",
            "/token",
            {"grant_type": "refresh_token", "refresh_token": narrowed.json["refresh_token"]},
            **run.basic("app"),
        )
    )
    assert family.json["error"] == "invalid_grant"  # the reuse revoked the whole family
    foreign = _refresh_token(op, run.clients["app"][0])
    stolen = {"grant_type": "refresh_token", "refresh_token": foreign}
    assert taken(run.send("refresh of another client", "/token", stolen, **run.basic("other"))).json["error"] == (
        "invalid_grant"
    )
    run.send("refresh missing token", "/token", {"grant_type": "refresh_token"}, **run.basic("app"))
    run.send(
        "refresh wrong secret",
        "/token",
        {"grant_type": "refresh_token", "refresh_token": foreign},
        **run.basic("app", "x"),
    )

    access = good.json["access_token"]
    live = taken(run.send("introspect", "/introspect", {"token": access}, **run.basic("service")))
    assert live.json["active"] is True and live.json["client_id"] == run.clients["service"][0]
    assert taken(
        run.send(
            "introspect refresh",
            "/introspect",
            {"token": foreign, "token_type_hint": "refresh_token"},
            **run.basic("app"),
        )
    ).json["active"]
    assert taken(
        run.send("introspect another's token", "/introspect", {"token": access}, **run.basic("other"))
    ).json == {"active": False}
    run.send("revoke", "/revoke", {"token": scoped.json["access_token"]}, **run.basic("service"))
    revoked = taken(
        run.send(
            "introspect revoked", "/introspect", {"token": scoped.json["access_token"], **run.post_auth("service")}
        )
    )
    assert revoked.json == {"active": False}
    assert taken(
        run.send("introspect garbage", "/introspect", {"token": "not a token"}, **run.basic("service"))
    ).json == {"active": False}
    run.send("introspect missing token", "/introspect", {"token_type_hint": "access_token"}, **run.basic("service"))
    run.send(
        "introspect bad hint", "/introspect", {"token": access, "token_type_hint": "id_token"}, **run.basic("service")
    )
    run.send("introspect wrong secret", "/introspect", {"token": access}, **run.basic("service", "wrong"))
    run.send("GET /introspect", "/introspect", method="GET")
    _code_rows(run, taken)


APP_REDIRECT = "https://app.example/cb"


def _code(op: LiveProvider, client_id: str, *, expired: bool = False) -> tuple[str, str]:
    """An authorization code of an official's password sign-in, as /authorize leaves it, and its PKCE verifier."""
    person = op.directory.find_by_login("an.nguyen")
    assert person is not None
    verifier, challenge = pkce()
    req = CodeRequest(
        client_id=client_id,
        subject=person.entry_uuid,
        redirect_uri=APP_REDIRECT if client_id else "",
        scope="openid profile",
        nonce="n-0S6_WzA2Mj",
        code_challenge=challenge,
        auth_time=op.instance.clock() - timedelta(seconds=30),
        acr="urn:antin:acr:password",
        amr=("pwd",),
        sid=None,
        claims=None,
        resources=(),
    )
    code = op.provider.tokens.create_code(req)
    if expired:
        with op.instance.database.transaction() as conn:
            past = op.instance.clock() - timedelta(seconds=1)
            conn.execute(
                update(AuthorizationCode).where(AuthorizationCode.digest == digest(code)).values(expires_at=past)
            )
    return code, verifier


def _verified_id_token(op: LiveProvider, id_token: str, client_id: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(json.loads(op.provider.keys.jwks_json()))
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    claims = dict(token.claims)
    assert claims["iss"] == op.issuer and claims["aud"] == client_id and claims["nonce"] == "n-0S6_WzA2Mj"
    return claims


def _code_rows(run: Run, taken: Callable[[TestResponse], TestResponse]) -> None:
    """The authorization_code grant: what a relying party sends after a sign-in, and what goes wrong with it."""
    op = run.op
    app_id = run.clients["app"][0]

    def form(code: str, verifier: str | None, redirect_uri: str | None = APP_REDIRECT) -> dict[str, str]:
        body = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            body["redirect_uri"] = redirect_uri
        if verifier is not None:
            body["code_verifier"] = verifier
        return body

    code, verifier = _code(op, app_id)
    good = taken(run.send("code basic", "/token", form(code, verifier), **run.basic("app")))
    assert good.status_code == 200, good.json
    access = _verified(op, good.json["access_token"])
    assert access["sub"] == op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]
    id_claims = _verified_id_token(op, good.json["id_token"], app_id)
    assert id_claims["acr"] == "urn:antin:acr:password" and id_claims["amr"] == ["pwd"]
    assert id_claims["auth_time"] < id_claims["iat"] and good.json["refresh_token"]
    posted_code, posted_verifier = _code(op, app_id)
    posted = taken(run.send("code post", "/token", {**form(posted_code, posted_verifier), **run.post_auth("app")}))
    assert posted.status_code == 200 and _verified(op, posted.json["access_token"])["client_id"] == app_id

    replay = taken(run.send("code used twice", "/token", form(code, verifier), **run.basic("app")))
    assert replay.json["error"] == "invalid_grant"
    revoked = taken(
        run.send("introspect after replay", "/introspect", {"token": good.json["access_token"]}, **run.basic("app"))
    )
    assert revoked.json == {"active": False}  # the replay revoked what the code had been redeemed for
    refresh = {"grant_type": "refresh_token", "refresh_token": good.json["refresh_token"]}
    assert taken(run.send("refresh after code replay", "/token", refresh, **run.basic("app"))).json["error"] == (
        "invalid_grant"
    )

    wrong, _ = _code(op, app_id)
    other_verifier = pkce()[0]
    refused = taken(run.send("code wrong verifier", "/token", form(wrong, other_verifier), **run.basic("app")))
    assert refused.json["error"] == "invalid_grant"
    missing, missing_verifier = _code(op, app_id)
    assert taken(run.send("code no verifier", "/token", form(missing, None), **run.basic("app"))).json["error"] == (
        "invalid_request"
    )
    assert (
        taken(run.send("code no verifier, again", "/token", form(missing, missing_verifier), **run.basic("app"))).json[
            "error"
        ]
        == "invalid_grant"
    )  # a refused redemption still used the code up
    short, _ = _code(op, app_id)
    assert (
        taken(run.send("code verifier malformed", "/token", form(short, "x" * 20), **run.basic("app"))).json["error"]
        == "invalid_request"
    )
    elsewhere, elsewhere_verifier = _code(op, app_id)
    assert (
        taken(
            run.send(
                "code wrong redirect_uri",
                "/token",
                form(elsewhere, elsewhere_verifier, "https://app.example/other"),
                **run.basic("app"),
            )
        ).json["error"]
        == "invalid_grant"
    )
    unsent, unsent_verifier = _code(op, app_id)
    taken(run.send("code no redirect_uri", "/token", form(unsent, unsent_verifier, None), **run.basic("app")))
    foreign, foreign_verifier = _code(op, app_id)
    assert (
        taken(run.send("code of another client", "/token", form(foreign, foreign_verifier), **run.basic("other"))).json[
            "error"
        ]
        == "invalid_grant"
    )
    kept = taken(
        run.send("code of another client, by its own", "/token", form(foreign, foreign_verifier), **run.basic("app"))
    )
    assert kept.status_code == 200  # another client's attempt did not use it up
    old, old_verifier = _code(op, app_id, expired=True)
    assert taken(run.send("code expired", "/token", form(old, old_verifier), **run.basic("app"))).json["error"] == (
        "invalid_grant"
    )
    assert (
        taken(run.send("code unknown", "/token", form("no-such-code", verifier), **run.basic("app"))).json["error"]
        == "invalid_grant"
    )

    public_id = run.clients["public"][0]
    public_code, public_verifier = _code(op, public_id)
    by_id = {"client_id": public_id}
    public = taken(run.send("code public client", "/token", {**form(public_code, public_verifier), **by_id}))
    assert public.status_code == 200, public.json
    assert _verified(op, public.json["access_token"])["client_id"] == public_id
    assert _verified_id_token(op, public.json["id_token"], public_id)["amr"] == ["pwd"]
    unproved, _ = _code(op, public_id)
    assert (
        taken(run.send("code public, no verifier", "/token", {**form(unproved, None), **by_id})).json["error"]
        == "invalid_request"
    )
    guessed, _ = _code(op, public_id)
    assert (
        taken(run.send("code public, wrong verifier", "/token", {**form(guessed, pkce()[0]), **by_id})).json["error"]
        == "invalid_grant"
    )

    # refused before anything changed, or not the fast path's to take: the app answers
    spare_public, spare_public_verifier = _code(op, public_id)
    run.send(
        "code public client with a secret",
        "/token",
        {**form(spare_public, spare_public_verifier), **by_id, "client_secret": "x"},
    )
    run.send(
        "code public client, Basic", "/token", form(spare_public, spare_public_verifier), auth=(public_id, "secret")
    )
    run.send(
        "code public client unknown", "/token", {**form(spare_public, spare_public_verifier), "client_id": "nobody"}
    )
    spare, spare_verifier = _code(op, app_id)
    run.send(
        "code missing",
        "/token",
        {"grant_type": "authorization_code", "redirect_uri": APP_REDIRECT, "code_verifier": verifier},
        **run.basic("app"),
    )
    run.send("code wrong secret", "/token", form(spare, spare_verifier), **run.basic("app", "wrong"))
    run.send("code without the client's secret", "/token", {**form(spare, spare_verifier), "client_id": app_id})
    run.send("code grant not allowed", "/token", form(spare, spare_verifier), **run.basic("service"))
    run.send(
        "code unknown parameter (resource)",
        "/token",
        {**form(spare, spare_verifier), "resource": "https://rs.example/api"},
        **run.basic("app"),
    )


def _audit(op: LiveProvider, run: Run, since: int) -> list[tuple[str, str | None]]:
    names = {client_id: role for role, (client_id, _secret) in run.clients.items()}
    with op.instance.database.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.seq > since).order_by(AuditEntry.seq)).all()
        return [(r.event, names.get(r.client_id or "", r.client_id)) for r in rows]


def _last_seq(op: LiveProvider) -> int:
    with op.instance.database.session() as s:
        return int(s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0)


def _run(op: LiveProvider, app: Callable[..., Any], fast: MachineEndpoints | None) -> tuple[Run, list[Any]]:
    run = Run(op, Client(app), _clients(op), [])
    since = _last_seq(op)
    _matrix(run, fast=fast)
    return run, _audit(op, run, since)


def test_the_fast_path_answers_as_the_app_does(op: LiveProvider) -> None:
    fast: MachineEndpoints = op.app.extensions[EXTENSION_KEY]
    whole = Client(op.app)
    assert whole.get("/healthz").status_code == 200  # this process's hooks have run: the fast path is on
    through_app, app_audit = _run(op, fast.app, None)
    through_fast, fast_audit = _run(op, op.app, fast)
    for (label, *app_answer), (_label, *fast_answer) in zip(through_app.seen, through_fast.seen, strict=True):
        assert fast_answer == app_answer, label
    assert fast_audit == app_audit
    assert ("oauth:token:reuse", "app") in fast_audit
    assert ("oauth:code:replay", "app") in fast_audit


def test_the_first_request_of_a_process_goes_through_the_app(op: LiveProvider) -> None:
    fast: MachineEndpoints = op.app.extensions[EXTENSION_KEY]
    record, secret = op.provider.clients.add(
        ClientSpec(name="s", grant_types=("client_credentials",), scopes=("profile",))
    )
    client = Client(op.app)
    form = {"grant_type": "client_credentials"}
    assert client.post("/token", data=form, auth=(record.client_id, secret or "")).status_code == 200
    assert fast.answered == 0  # the app's per-process hooks (background threads) ran first
    assert client.post("/token", data=form, auth=(record.client_id, secret or "")).status_code == 200
    assert fast.answered == 1


def test_behind_a_trusted_proxy_the_fast_path_sees_the_client(tmp_path: Path) -> None:
    with live_provider(tmp_path, make_directory(), server__trusted_proxies=1) as op:
        fast: MachineEndpoints = op.app.extensions[EXTENSION_KEY]
        record, secret = op.provider.clients.add(
            ClientSpec(name="s", grant_types=("client_credentials",), scopes=("profile",))
        )
        client = Client(op.app)
        client.get("/healthz")
        proxied = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Request-ID": "req-from-proxy"}
        answer = client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(record.client_id, secret or ""), headers=proxied
        )
        assert answer.status_code == 200 and fast.answered == 1
        assert answer.headers["X-Request-ID"] == "req-from-proxy"
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        with op.instance.database.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.event == "oauth:token:issue")).one()
        assert entry.ip == "203.0.113.7"
        jwks = client.get("/jwks.json", headers=proxied)
        assert jwks.headers["X-Request-ID"] == "req-from-proxy" and "Strict-Transport-Security" in jwks.headers


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("boom"), OperationalError("INSERT", {}, Exception("server closed the connection"))],
    ids=["unexpected", "database away"],
)
def test_a_failure_inside_the_rules_is_answered_by_the_apps_error_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    with live_provider(tmp_path, make_directory()) as op:
        fast: MachineEndpoints = op.app.extensions[EXTENSION_KEY]
        record, secret = op.provider.clients.add(
            ClientSpec(name="s", grant_types=("client_credentials",), scopes=("profile",))
        )
        auth = (record.client_id, secret or "")
        whole, app_only = Client(op.app), Client(fast.app)
        whole.get("/healthz")

        through_fast_path: list[bool] = []

        def fail(*args: Any, **kwargs: Any) -> Any:
            stack = traceback.extract_stack()
            through_fast_path.append(any(f.filename.endswith("idp/oidc/fastpath.py") for f in stack))
            raise failure

        monkeypatch.setattr(op.provider.tokens, "issue_machine_token", fail)
        answers = []
        for client in (app_only, whole):
            response = client.post("/token", data={"grant_type": "client_credentials"}, auth=auth)
            request_id = response.headers["X-Request-ID"]
            headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS}
            answers.append((response.status_code, headers, response.get_data(as_text=True).replace(request_id, "<id>")))
        assert through_fast_path == [False, True]  # the second was read by the fast path, answered by the app
        assert answers[1] == answers[0]
        assert answers[0][0] == (500 if isinstance(failure, RuntimeError) else 503)
        assert "Traceback" not in answers[0][2] and "boom" not in answers[0][2]
