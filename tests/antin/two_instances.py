"""Two `antin serve` instances (2 workers each, under granian as the unit runs them) behind Debian's nginx, sharing
PostgreSQL, Redis and one slapd, set up from docs/production's nginx site, systemd unit and settings file; clients
that go through nginx or straight to the instance they choose, and check every token with the tests' independent
JOSE verifier."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

from antin.kernel.database import Database
from directory.models import NewPerson, UnitKind
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from idp.oidc.clients import ClientRegistry
from tests.components import free_port, require_command
from tests.directory.conftest import PASSWORD, SERVICE_PASSWORD, config_for, start_slapd
from tests.idp.jose_check import b64d
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty
from tests.servers import nginx_server, postgres_server, redis_server

__all__ = ["AppInstance", "Platform", "RoutedParty", "new_official", "stop_instance", "two_instances", "upstreams_in"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "production"
BYE = "http://localhost:9/bye"


# -- the platform as docs/production sets it up ---------------------------------------------------------------


def serve_arguments(bind: str) -> list[str]:
    """The arguments of ``antin`` in the systemd unit's ExecStart, with this instance's address."""
    line = next(x for x in (DOCS / "antin.service").read_text().splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart="))
    return [word.replace("@BIND@", bind) for word in words[words.index("serve") :]]


def settings_file(values: dict[str, str]) -> dict[str, str]:
    """The settings of docs/production/antin.env, its placeholders filled."""
    env: dict[str, str] = {}
    for line in (DOCS / "antin.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            for key, filled in values.items():
                value = value.replace(f"@{key}@", filled)
            assert not re.search("@[A-Z_]+@", value), f"{name} left unfilled"
            env[name] = value
    return env


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost, as the proxy's TLS certificate; clients trust exactly this one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class AppInstance:
    name: str
    url: str  # http://127.0.0.1:PORT, the address the instance listens on
    proc: subprocess.Popen[bytes]
    log: Path
    orphans: list[int] = field(default_factory=list)  # workers of a master killed by the test

    @staticmethod
    def workers_listen(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def start_instance(name: str, folder: Path, env: dict[str, str]) -> AppInstance:
    port = free_port()
    log = folder / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "antin", *serve_arguments(f"127.0.0.1:{port}")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    return AppInstance(name, f"http://127.0.0.1:{port}", proc, log)


def wait_until_serving(instance: AppInstance) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(instance.url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert instance.proc.poll() is None, f"instance {instance.name} stopped: {instance.log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"instance {instance.name} did not start"
        time.sleep(0.1)


def stop_instance(instance: AppInstance) -> None:
    workers = instance.workers() + instance.orphans
    if instance.proc.poll() is None:
        instance.proc.send_signal(signal.SIGTERM)
        try:
            instance.proc.wait(30)
        except subprocess.TimeoutExpired:
            instance.proc.kill()
            instance.proc.wait(10)
    for pid in workers:  # orphans of a killed master
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- clients that choose the instance they talk to ------------------------------------------------------------


class Route(HTTPAdapter):
    """Delivers requests addressed to the issuer to one instance, with the headers nginx adds: the client still
    sees the issuer's https URLs and cookies (Secure ones too), as through the proxy."""

    def __init__(self, issuer: str, upstream: str) -> None:
        super().__init__()
        self.issuer, self.upstream = issuer, upstream

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        routed = request.copy()
        routed.url = self.upstream + (request.url or "")[len(self.issuer) :]
        host = urlsplit(self.issuer).netloc
        routed.headers.update(
            {
                "Host": host,
                "X-Forwarded-For": "127.0.0.1",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": host,
                "X-Forwarded-Port": host.rsplit(":", 1)[1],
            }
        )
        response = super().send(routed, *args, **kwargs)
        response.url, response.request = request.url or "", request
        return response


@dataclass
class Platform:
    issuer: str
    a: AppInstance
    b: AppInstance
    nginx_log: Path
    ca_file: str
    database_url: str
    env: dict[str, str]
    ldap: LdapDirectory
    unit: str
    official: str
    new_kids: set[str] = field(default_factory=set)  # made by `antin keys rotate` once both instances served
    registered: RoutedParty | None = None
    rotated_at: float = 0.0
    keyring: KeyRing = field(init=False)
    # what scripts/faults_under_load.py kills and restarts
    folder: Path | None = None
    slapd: ManagedSlapd | None = None
    redis_url: str = ""

    def __post_init__(self) -> None:
        self.keyring = KeyRing(self)

    def session(self, via: AppInstance | None = None, **headers: str) -> requests.Session:
        """A client session through nginx, or straight to one instance."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the proxy's certificate as the trust anchor
        session.verify = self.ca_file
        session.headers.update(headers)
        if via is not None:
            session.mount(self.issuer + "/", Route(self.issuer, via.url))
        return session

    def browser(self, via: AppInstance | None = None) -> Browser:
        browser = Browser(self.issuer, **{"Accept-Language": "en"})
        browser.session = self.session(via, **{"Accept-Language": "en"})
        return browser

    def route(self, browser: Browser, via: AppInstance) -> Browser:
        """The same browser (its cookies) from now on talking to ``via``."""
        browser.session.mount(self.issuer + "/", Route(self.issuer, via.url))
        return browser

    def jwks_bodies(self, via: AppInstance, fetches: int = 8) -> set[bytes]:
        """The JWKS as several of the instance's workers serve it (a new connection each time)."""
        session = self.session(via, Connection="close")
        return {session.get(self.issuer + "/jwks.json", timeout=10).content for _ in range(fetches)}

    def antin(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "antin", *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def relying_party(self) -> RoutedParty:
        """The application's client, registered once as an operator does (`antin clients add`)."""
        if self.registered is None:
            self.registered = self._register()
        return self.registered.twin()

    def _register(self) -> RoutedParty:
        args = ["clients", "add", "--name", "Hồ sơ công việc", "--redirect-uri", "http://localhost:9/cb", "--trusted"]
        args += ["--post-logout-uri", BYE, "--json"]
        created = json.loads(self.antin(*args))
        database = Database(self.database_url, pool_size=1)
        try:
            record = ClientRegistry(database, secret_key="unused: reads only").get(created["client_id"])
        finally:
            database.dispose()
        assert record is not None
        site = cast(LiveProvider, _Site(self.issuer))  # RelyingParty only reads the issuer of its provider
        return RoutedParty(site, record, created.get("client_secret"), platform=self)

    def sign_in(self, rp: RoutedParty, browser: Browser) -> dict[str, Any]:
        return rp.code_flow(browser, username=self.official, password=PASSWORD)


@dataclass
class _Site:
    issuer: str


class KeyRing:
    """The provider's public keys as a relying party keeps them: remembered once seen, the JWKS fetched again
    (through nginx) when a token names a key not seen yet, as openid-client does."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.keys: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def learn(self, *tokens: str) -> None:
        wanted = {json.loads(b64d(t.split(".")[0])).get("kid") for t in tokens}
        session = self.platform.session()
        for _ in range(40):
            with self.lock:
                if wanted <= set(self.keys):
                    return
            document = session.get(self.platform.issuer + "/jwks.json", timeout=10).json()
            with self.lock:
                self.keys.update({key["kid"]: key for key in document["keys"]})
        raise AssertionError(f"no JWKS names {wanted - set(self.keys)}")

    def document(self) -> dict[str, Any]:
        with self.lock:
            return {"keys": list(self.keys.values())}


class RoutedParty(RelyingParty):
    """A relying party whose back-channel requests go through nginx or to the instance it is told, and whose
    every token is checked with the independent verifier against the keys it learnt."""

    def __init__(self, *args: Any, platform: Platform) -> None:
        super().__init__(*args)
        self.platform = platform
        self.via: AppInstance | None = None

    @property
    def jwks(self) -> dict[str, Any]:
        return self.platform.keyring.document()

    def check_tokens(self, tokens: dict[str, Any]) -> None:
        self.platform.keyring.learn(*(tokens[k] for k in ("access_token", "id_token") if k in tokens))
        super().check_tokens(tokens)

    def token_request(self, data: dict[str, Any], *, auth: str = "basic", **kwargs: Any) -> requests.Response:
        assert auth in ("basic", "none"), "this relying party authenticates with client_secret_basic or not at all"
        body = dict(data)
        basic = (self.client.client_id, self.secret or "") if auth == "basic" else None
        if auth == "none":
            body["client_id"] = self.client.client_id
        session = self.platform.session(self.via)
        response = session.post(self.op.issuer + "/token", data=body, auth=basic, timeout=10, **kwargs)
        if response.status_code == 200:
            self.check_tokens(response.json())
        return response

    def on(self, via: AppInstance | None) -> RoutedParty:
        self.via = via
        return self

    def twin(self) -> RoutedParty:
        """Another relying party object for the same client (one per thread: each keeps its own PKCE state)."""
        return RoutedParty(self.op, self.client, self.secret, platform=self.platform)


# -- the platform ---------------------------------------------------------------------------------------------


@contextmanager
def two_instances(
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
    before_start: Callable[[dict[str, str]], None] | None = None,
    database: Callable[[Path], AbstractContextManager[str]] = postgres_server,
    instance_env: Mapping[str, dict[str, str]] | None = None,
) -> Iterator[Platform]:
    """The platform: slapd, PostgreSQL, Redis, `antin db upgrade`, two instances, nginx; the keys rotated once
    every worker holds the first ones. ``extra_env`` adds settings to both instances' (scripts/soak.py shares one
    HSM token between them), ``instance_env`` to one ("a" or "b": scripts/soak.py compares a setting side by side
    under the same load); ``before_start`` runs with instance A's environment once the database is migrated;
    ``database`` starts PostgreSQL in a folder and yields its URL (scripts/signing_faults.py: a primary and a
    standby behind one multi-host URL)."""
    require_command("nginx", hint="scripts/install-system-packages.sh test (package nginx)")  # before the rest
    slapd = start_slapd(folder / "slapd")
    ldap = LdapDirectory(config_for(slapd))
    try:
        with database(folder / "pg") as database_url, redis_server(folder / "redis") as redis_url:
            yield from _platform(
                folder, slapd, ldap, database_url, redis_url, extra_env or {}, before_start, instance_env or {}
            )
    finally:
        ldap.close()
        slapd.stop()


def _platform(
    folder: Path,
    slapd: ManagedSlapd,
    ldap: LdapDirectory,
    database_url: str,
    redis_url: str,
    extra_env: dict[str, str],
    before_start: Callable[[dict[str, str]], None] | None,
    instance_env: Mapping[str, dict[str, str]],
) -> Iterator[Platform]:
    ldap_uri, service_dn = slapd.ldap_uri, slapd.service_dn
    nginx_port = free_port()
    issuer = f"https://localhost:{nginx_port}"
    common = {
        "ISSUER": issuer,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DIRECTORY_URIS": ldap_uri,
        "DIRECTORY_BASE_DN": "dc=test,dc=antin",
        "DIRECTORY_BIND_DN": service_dn,
        "DIRECTORY_BIND_PASSWORD": SERVICE_PASSWORD,
        "HSM_PIN": "pin-from-the-vault",
        "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(32),
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    envs = {
        name: clean | settings_file(common | {"DATA_DIR": str(folder / name)}) | {"PYTHONPATH": str(ROOT)} | extra_env
        for name in ("a", "b")
    }
    cli = subprocess.run(
        [sys.executable, "-m", "antin", "db", "upgrade"], env=envs["a"], cwd=ROOT, capture_output=True, text=True
    )
    assert cli.returncode == 0, cli.stderr
    if before_start is not None:
        before_start(envs["a"])
    a, b = (start_instance(name, folder, envs[name] | dict(instance_env.get(name, {}))) for name in ("a", "b"))
    platform: Platform | None = None
    try:
        cert, key = self_signed(folder)
        site = DOCS / "nginx.conf"
        upstreams = {"INSTANCE_A": a.url.removeprefix("http://"), "INSTANCE_B": b.url.removeprefix("http://")}
        upstreams["ERROR_PAGES"] = str(DOCS / "errors")
        tls = {"SERVER_NAME": "localhost", "TLS_CERTIFICATE": str(cert), "TLS_KEY": str(key)}
        with nginx_server(folder / "nginx", site, upstreams | tls, port=nginx_port):
            province = f"P{uuid.uuid4().hex[:6].upper()}"
            ldap.create_unit(province, "Tỉnh ủy Thử nghiệm", UnitKind.PROVINCIAL_COMMITTEE)
            official = new_official(ldap, province)
            wait_until_serving(a)
            wait_until_serving(b)
            platform = Platform(
                issuer,
                a,
                b,
                folder / "nginx" / "access.log",
                str(cert),
                database_url,
                envs["a"],
                ldap,
                province,
                official,
                folder=folder,
                slapd=slapd,
                redis_url=redis_url,
            )
            rotate_keys_once_every_worker_holds_them(platform)
            yield platform
    finally:
        # and those the caller started in their place (scripts/faults_under_load.py starts A again after killing it:
        # left running, it served on after the script for good)
        for instance in {id(x): x for x in (a, b, *((platform.a, platform.b) if platform else ()))}.values():
            stop_instance(instance)


def new_official(ldap: LdapDirectory, unit: str) -> str:
    uid = f"hoa{uuid.uuid4().hex[:6]}"
    ldap.create_person(
        NewPerson(uid=uid, full_name="Nguyễn Thị Hoa", unit_code=unit, password=PASSWORD, mail=f"{uid}@example.vn")
    )
    return uid


def rotate_keys_once_every_worker_holds_them(platform: Platform) -> None:
    """Every worker has the first keys in its cache, then an operator runs `antin keys rotate` (on another host:
    the CLI talks only to the database); the test watches them spread."""
    for instance in (platform.a, platform.b):
        platform.jwks_bodies(instance)
    platform.relying_party()
    rotated = json.loads(platform.antin("keys", "rotate", "--json"))
    platform.new_kids = {key["kid"] for key in rotated if key["state"] == "active"}
    platform.rotated_at = time.monotonic()
    assert len(platform.new_kids) == 2  # ES256 and RS256


def upstreams_in(log: Path, after: int = 0) -> list[str]:
    """Which instance answered each request nginx logged after the first ``after`` (a retried one names both)."""
    lines = log.read_text().splitlines()[after:]
    return [addr.strip() for line in lines for addr in line.split(" ", 3)[3].split(",")]
