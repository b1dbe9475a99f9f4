"""A real provider app for the fuzz targets: ``antin.app.create_app`` on a temp data folder with SQLite and an
InMemoryDirectory (the IdP tests' harness), with the clients the seeds name."""

from __future__ import annotations

import base64
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey

ISSUER = "http://localhost"
REDIRECT_URI = "https://rp.example/cb"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class ProviderApp:
    app: Flask
    client: FlaskClient
    client_id: str
    secret: str
    public_id: str
    jwt_client_id: str
    assertion_key: ECKey
    dpop_key: ECKey

    @property
    def basic(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()

    def assertion(self) -> str:
        """A fresh private_key_jwt assertion of the JWT client, for any of the provider's endpoints."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.jwt_client_id, "sub": self.jwt_client_id, "aud": ISSUER + "/token"}
        claims |= {"jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}
        return jwt.encode({"alg": "ES256", "kid": "fuzz-1"}, claims, self.assertion_key)

    def dpop_proof(self, method: str, path: str, access_token: str | None = None) -> str:
        from idp.oidc.dpop import access_token_hash

        claims: dict[str, Any] = {"htm": method, "htu": ISSUER + path, "jti": uuid.uuid4().hex, "iat": int(time.time())}
        if access_token:
            claims["ath"] = access_token_hash(access_token)
        header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": self.dpop_key.as_dict(private=False)}
        return jwt.encode(header, claims, self.dpop_key)


def build_provider(workdir: Path, client_jwks: dict[str, Any]) -> ProviderApp:
    """The app, its clients: confidential (client_secret_basic), public, and private_key_jwt with ``client_jwks``
    (the seeds' public key) beside a fresh key of ours."""
    from idp.oidc.clients import DEFAULT_SCOPES, ClientSpec
    from idp.oidc.service import get_provider
    from tests.idp.conftest import make_directory
    from tests.idp.oidc_harness import build_app

    shutil.rmtree(workdir, ignore_errors=True)  # a fresh instance each time (the clients' ids are fixed)
    app = build_app(workdir, ISSUER, make_directory())
    provider = get_provider(app.extensions["antin.instance"])
    grants = ("authorization_code", "refresh_token", "client_credentials")
    scopes = (*DEFAULT_SCOPES, "signing:verify")
    record, secret = provider.clients.add(
        ClientSpec(name="Hồ sơ", redirect_uris=(REDIRECT_URI,), trusted=True, grant_types=grants, scopes=scopes)
    )
    public, _ = provider.clients.add(ClientSpec(name="Ứng dụng", redirect_uris=(REDIRECT_URI,), public=True))
    key = ECKey.generate_key("P-256", parameters={"kid": "fuzz-1"})
    jwks = {"keys": [*client_jwks["keys"], key.as_dict(private=False)]}
    provider.clients.add(
        ClientSpec(
            name="Chữ ký",
            redirect_uris=(REDIRECT_URI,),
            grant_types=grants,
            scopes=scopes,
            auth_method="private_key_jwt",
            jwks=jwks,
            client_id="jwt-app",
        )
    )
    assert secret is not None
    return ProviderApp(
        app, app.test_client(), record.client_id, secret, public.client_id, "jwt-app", key, ECKey.generate_key("P-256")
    )


def check_answer(status: int, headers: Any, what: str) -> None:
    """A 5xx is a crash, except a 503 that says when to come back."""
    from tests.fuzz.targets import ServerError

    if status >= 500 and not (status == 503 and headers.get("Retry-After")):
        raise ServerError(f"{what} answered {status}")
