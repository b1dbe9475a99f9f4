"""A real signing platform for the tests: SoftHSM2 token, CA, TSA, and its HTTP endpoints on a free port.

One per test process (session scope): a data folder in a temporary directory, the issuer
``http://localhost:<port>`` so that the OCSP and CA-issuer addresses in the certificates reach the live server
(pdfsig asks the OCSP responder online), an in-memory directory of officials, and an NSS database trusting the
root for pdfsig. Access tokens for the API are signed with a test key whose JWKS the same server publishes.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from antin.app import create_app
from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from directory.models import AccountStatus, UnitKind, UnitRef
from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from idp.oidc.tokens import GrantContext
from signing.auth import AccessTokenVerifier, http_json
from signing.hsm import SOFTHSM_MODULE_CANDIDATES
from signing.pki import RevocationMaterial
from signing.samples import sample_pdf
from signing.service import SigningService, SignRequest, signing_service
from tests.components import free_port, missing_component, require_command
from tests.signing.independent import nss_database

PROVINCE = UnitRef("ou=ht,ou=units,dc=antin,dc=vn", "HT", "Tỉnh ủy Hà Tĩnh", UnitKind.PROVINCIAL_COMMITTEE)
OFFICE = UnitRef("ou=vp,ou=ht,ou=units,dc=antin,dc=vn", "HT-VP", "Văn phòng Tỉnh ủy", UnitKind.DEPARTMENT)
BOARD = UnitRef("ou=tc,ou=ht,ou=units,dc=antin,dc=vn", "HT-TC", "Ban Tổ chức Tỉnh ủy", UnitKind.DEPARTMENT)


def require_softhsm() -> None:
    require_command("softhsm2-util", hint="scripts/install-system-packages.sh (package softhsm2)")
    if not any(p.exists() for p in SOFTHSM_MODULE_CANDIDATES):
        missing_component("libsofthsm2.so is missing (install softhsm2)")


def people() -> InMemoryDirectory:
    d = InMemoryDirectory()
    common: dict[str, Any] = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}
    d.add(
        "an",
        "mật-khẩu-1",
        full_name="Nguyễn Văn Ấn",
        position="Chánh Văn phòng",
        employee_number="HT-0042",
        mail="an@ht.dcs.vn",
        **common,
    )
    d.add(
        "binh",
        "mật-khẩu-2",
        full_name="Trần Thị Bình",
        position="Văn thư",
        employee_number="HT-0107",
        groups=("van-thu-ht",),
        **common,
    )
    d.add(
        "cuong",
        "mật-khẩu-3",
        full_name="Lê Quốc Cường",
        position="Phó Chánh Văn phòng",
        employee_number="HT-0043",
        **common,
    )
    d.add(
        "dung",
        "mật-khẩu-4",
        full_name="Phạm Thị Dung",
        position="Chuyên viên",
        employee_number="HT-0200",
        unit=BOARD,
        unit_path=(BOARD, PROVINCE),
    )
    d.add(
        "em",
        "mật-khẩu-5",
        full_name="Hoàng Văn Em",
        position="Chuyên viên",
        employee_number="HT-0201",
        status=AccountStatus.SUSPENDED,
        **common,
    )
    for uid in ("hanh", "khoa", "lan"):
        d.add(uid, "mật-khẩu-x", full_name=f"Đỗ Văn {uid.title()}", position="Chuyên viên", **common)
    return d


@dataclass
class Platform:
    instance: Instance
    service: SigningService
    directory: InMemoryDirectory
    base_url: str
    data_dir: Path
    nss: Path
    token_key: ECKey
    audience: str
    app: Flask
    idp_verifier: AccessTokenVerifier
    """The verifier ``signing.init_app`` wired, trusting the IdP's real JWKS (the fixture's trusts a test key)."""

    @property
    def root_der(self) -> bytes:
        return bytes(self.service.ca.chain().root.dump())

    def revocation(self) -> RevocationMaterial:
        """Fresh OCSP answers for every certificate the PKI holds, and the CRLs: local revocation data."""
        certs = [c.certificate for c in self.service.ca.certificates() if c.issuer_serial]
        return self.service.ca.revocation_material(certs)

    def sign_bytes(self, pdf: bytes, request: SignRequest) -> bytes:
        out = io.BytesIO()
        self.service.sign(io.BytesIO(pdf), out, request)
        return out.getvalue()

    def issued_jti(self) -> str:
        """The jti of an access token the IdP really issued (and can revoke), to the client ``cong-van``."""
        provider = get_provider(self.instance)
        client = provider.clients.get("cong-van")
        assert client is not None
        subject = self.directory.people["an"].entry_uuid
        response, _grant = provider.tokens.issue(GrantContext(client=client, subject=subject, scope="signing:sign"))
        payload = response["access_token"].split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])

    def access_token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": self.audience,
            "sub": self.directory.people["an"].entry_uuid,
            "client_id": "cong-van",
            "scope": "openid signing:sign",
            # the level [signing] required_acr asks for by default: a password and a security key with its PIN
            "acr": "urn:antin:acr:phishing-resistant",
            "iat": now,
            "exp": now + 300,
            "jti": self.issued_jti(),
        }
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self.token_key.kid}
        header.update(overrides.pop("header", {}))
        key = overrides.pop("key", self.token_key)
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def _serve(app: Flask, port: int) -> Iterator[None]:
    server = make_server("localhost", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    require_softhsm()
    require_command("pdfsig", hint="scripts/install-system-packages.sh (package poppler-utils)")
    require_command("certutil", hint="scripts/install-system-packages.sh (package libnss3-tools)")
    data_dir = tmp_path_factory.mktemp("signing-platform")
    port = free_port()
    base_url = f"http://localhost:{port}"
    settings = load_settings(
        {
            "ANTIN_DATA_DIR": str(data_dir),
            "ANTIN_ISSUER": base_url,
            "ANTIN_ENV": "test",
            "ANTIN_LOG_LEVEL": "WARNING",
            "ANTIN_HSM_TOKEN_LABEL": "antin-test",
            "ANTIN_HSM_SO_PIN": "so-pin-5678",
            "ANTIN_SIGNING_DEFAULT_LEVEL": "B-LTA",
        }
    )
    instance = Instance(settings)
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    directory = people()
    use_directory(instance, directory)
    service = signing_service(instance)
    service.ensure_pki()

    token_key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    token_key.ensure_kid()
    app = create_app(instance=instance)  # wires signing.init_app

    # The app's own OpenID provider publishes the real discovery document and keys; the tests sign access tokens
    # with a key of their own, published (over real HTTP) at a discovery address of their own.
    @app.get("/test-discovery")
    def discovery() -> Any:
        return jsonify({"issuer": base_url, "jwks_uri": f"{base_url}/test-jwks"})

    wired = app.extensions["antin.signing.api"].verifier
    app.extensions["antin.signing.api"].verifier = AccessTokenVerifier(
        base_url,
        wired.audiences,  # what signing.init_app chose
        checks=wired.checks,  # the provider's real revocation and DPoP checks
        dpop_algs=wired.dpop_algs,
        fetch=lambda url: http_json(url.replace("/.well-known/openid-configuration", "/test-discovery")),
        acr=wired.acr,  # the level [signing] required_acr gives, as signing.init_app wired it
    )
    get_provider(instance).clients.add(
        ClientSpec(name="Công văn", client_id="cong-van", grant_types=("client_credentials",), scopes=("signing:sign",))
    )

    @app.get("/test-jwks")
    def jwks() -> Any:
        return jsonify({"keys": [token_key.as_dict(private=False)]})

    nss = nss_database(data_dir / "nss", (data_dir / "pki" / "root-ca.pem").read_bytes())
    serving = _serve(app, port)
    next(serving)
    try:
        yield Platform(
            instance, service, directory, base_url, data_dir, nss, token_key, f"{base_url}/api/signing", app, wired
        )
    finally:
        next(serving, None)
        instance.close()


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    return sample_pdf(pages=2, size=150_000, title="Cong van so 123/CV-TU")


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Threads handed the GIL every microsecond instead of every 5 ms: what busy request threads on a loaded machine
    meet now and then, most rounds of the thread tests here (a cache's objects read by several threads at once)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
