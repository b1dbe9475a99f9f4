"""The mixed load of scripts/soak.py and scripts/signing_faults.py: officials sign in through nginx, redeem the code,
refresh, introspect, sign a PDF through ``/api/signing/sign`` and verify it through ``/api/signing/verify``, against
tests/antin/two_instances.py's platform with one SoftHSM2 token shared by both instances (as a network HSM would
be) and, optionally, an external TSA: a third ``antin serve`` whose ``/tsa`` both instances use.

Each operation's end is recorded with its time: "ok", "503:<problem type>", "<status class>xx:<code>", "conn:<error>" or
"odd:<what>"; what a signing returned (its reference) is kept to be compared with the audit log afterwards.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import text

from antin.kernel.database import Database
from idp.oidc.clients import ClientRegistry
from signing.hsm import ensure_softhsm_token, find_softhsm_module
from signing.samples import sample_pdf
from tests.antin.two_instances import AppInstance, Platform, RoutedParty, _Site, two_instances, wait_until_serving
from tests.components import free_port
from tests.directory.conftest import PASSWORD
from tests.servers import postgres_server

ROOT = Path(__file__).resolve().parents[1]
HSM_PIN = "pin-from-the-vault"  # the one tests/antin/two_instances.py's settings file gets
# the PDF every signing sends: 100 kB, one page (a typical memo)
DOCUMENT = sample_pdf(pages=1, size=100_000, title="Công văn thử tải")
LEVEL = "B-LT"  # a signature time-stamp and the revocation data: the TSA, the OCSP responder and the HSM all work


@dataclass
class Outcomes:
    """Every operation's end, with its time."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: list[tuple[float, str, str]] = field(default_factory=list)  # (when, operation, outcome)
    delivered: list[str] = field(default_factory=list)  # references of signed PDFs the client received whole
    failed_signings: int = 0

    def add(self, operation: str, outcome: str) -> None:
        with self.lock:
            self.items.append((time.monotonic(), operation, outcome))

    def between(self, start: float, end: float) -> list[tuple[float, str, str]]:
        with self.lock:
            return [item for item in self.items if start <= item[0] < end]


def status_kind(code: int) -> str:
    if code < 400:
        return "ok"
    if code == 503:
        return "503"
    return f"{code // 100}xx:{code}"


def unclear(outcome: str) -> bool:
    """An answer a client cannot act on: a 5xx other than 503, or a 503 without Retry-After."""
    return outcome.startswith("5xx") or outcome == "503-no-retry-after"


# -- the platform ---------------------------------------------------------------------------------------------


@dataclass
class SigningPlatform:
    platform: Platform
    hsm_folder: Path  # the shared SoftHSM2 token's folder (softhsm2.conf, tokens/)
    tsa: AppInstance | None  # the external TSA, when there is one
    tsa_env: dict[str, str] = field(default_factory=dict)


def _signing_env(folder: Path, tsa_url: str) -> dict[str, str]:
    conf = ensure_softhsm_token(folder / "hsm", label="antin", pin=HSM_PIN, so_pin="so-" + HSM_PIN)
    env = {
        "ANTIN_HSM_MODULE": str(find_softhsm_module()),
        "SOFTHSM2_CONF": str(conf),
        # officials here sign in with a password: the load measures the servers, not WebAuthn
        "ANTIN_SIGNING_REQUIRED_ACR": "",
        "ANTIN_SIGNING_DEFAULT_LEVEL": LEVEL,
        # one client address (the load generator) makes every verification
        "ANTIN_SIGNING_VERIFY_RATE_LIMIT": "100000",
        "ANTIN_SIGNING_VERIFY_CONCURRENCY": "4",
        # the signing API reads the provider's keys from its discovery document, through nginx, whose certificate
        # tests/antin/two_instances.py makes here (read per request: it exists once the instances are asked)
        "REQUESTS_CA_BUNDLE": str(folder / "tls.crt"),
    }
    if tsa_url:
        env["ANTIN_SIGNING_TSA_URL"] = tsa_url
    return env


@contextlib.contextmanager
def signing_platform(
    folder: Path,
    *,
    external_tsa: bool = False,
    database: Callable[[Path], contextlib.AbstractContextManager[str]] = postgres_server,
    extra_env: dict[str, str] | None = None,
    instance_env: dict[str, dict[str, str]] | None = None,
) -> Iterator[SigningPlatform]:
    """The two-instance platform with signing: one HSM token for both, the CA made once before they start;
    ``database``, ``extra_env`` (both instances) and ``instance_env`` (one) as two_instances takes them."""
    tsa_port = free_port() if external_tsa else 0
    tsa_url = f"http://127.0.0.1:{tsa_port}/tsa" if external_tsa else ""
    extra = _signing_env(folder, tsa_url) | (extra_env or {})
    envs: dict[str, dict[str, str]] = {}

    def before_start(env: dict[str, str]) -> None:
        envs["a"] = env
        command = [sys.executable, "-m", "antin", "pki", "init"]
        done = subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    with two_instances(
        folder, extra_env=extra, before_start=before_start, database=database, instance_env=instance_env
    ) as platform:
        tsa = None
        tsa_env: dict[str, str] = {}
        if external_tsa:
            # the TSA's own process answers /tsa itself: it has no external TSA of its own
            tsa_env = {k: v for k, v in envs["a"].items() if k != "ANTIN_SIGNING_TSA_URL"}
            tsa_env["ANTIN_DATA_DIR"] = str(folder / "tsa")
            tsa = start_tsa(folder, tsa_env, tsa_port)
        signing = SigningPlatform(platform, folder / "hsm", tsa, tsa_env)
        try:
            register_signing_client(platform)
            keys_everywhere(platform)
            yield signing
        finally:
            if signing.tsa is not None and signing.tsa.proc.poll() is None:  # the one started last
                signing.tsa.proc.terminate()
                signing.tsa.proc.wait(30)


def keys_everywhere(platform: Platform) -> None:
    """Until every worker publishes the keys `antin keys rotate` made at start: the signing API of a worker that
    read the provider's keys from one not yet caught up refuses the new ones' tokens until it may fetch again
    (a minute), which is the rotation's doing, not the load's."""
    deadline = time.monotonic() + 60
    for instance in (platform.a, platform.b):
        while not all(all(k.encode() in body for k in platform.new_kids) for body in platform.jwks_bodies(instance)):
            assert time.monotonic() < deadline, "the rotated keys did not reach every worker"
            time.sleep(0.5)


def start_tsa(folder: Path, env: dict[str, str], port: int) -> AppInstance:
    log = folder / "tsa.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "antin", "serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )
    tsa = AppInstance("tsa", f"http://127.0.0.1:{port}", proc, log)
    wait_until_serving(tsa)
    return tsa


def register_signing_client(platform: Platform) -> None:
    """The application every official uses: trusted, allowed to sign and verify (`antin clients add`)."""
    args = ["clients", "add", "--name", "Văn phòng số", "--redirect-uri", "http://localhost:9/cb", "--trusted"]
    for scope in ("openid", "profile", "signing:sign", "signing:verify"):
        args += ["--scope", scope]
    created = json.loads(platform.antin(*args, "--json"))
    database = Database(platform.database_url, pool_size=1)
    try:
        record = ClientRegistry(database, secret_key="unused: reads only").get(created["client_id"])
    finally:
        database.dispose()
    assert record is not None
    site: Any = _Site(platform.issuer)
    platform.registered = RoutedParty(site, record, created.get("client_secret"), platform=platform)


# -- one official's work --------------------------------------------------------------------------------------


def _answer(response: requests.Response) -> str:
    kind = status_kind(response.status_code)
    if kind == "503" and not response.headers.get("Retry-After"):
        return "503-no-retry-after"
    if kind == "503" and response.headers.get("Content-Type") == "application/problem+json":
        return f"503:{str(response.json().get('type', '')).rsplit(':', 1)[-1]}"  # which component was away
    if response.status_code >= 500 and "Traceback" in response.text:
        return f"{kind}:traceback"
    return kind


def one_round(platform: Platform, outcomes: Outcomes, *, sign: bool = True, verify: bool = True) -> None:
    """Sign in, redeem, refresh, introspect, then sign the memo and verify what came back."""
    party = platform.relying_party()
    browser = platform.browser()
    page = party.authorize(browser, scope="openid profile signing:sign signing:verify").page
    if page is None or "login-form" not in page.text:
        outcomes.add("sign-in", _answer(page) if page is not None else "odd:no-page")
        time.sleep(0.2)
        return
    landed = browser.login(page, platform.official, PASSWORD)
    if landed.location is None:
        outcomes.add("sign-in", _answer(landed.page) if landed.page is not None else "odd:no-page")
        time.sleep(0.2)
        return
    outcomes.add("sign-in", "ok")
    code = {k: v[0] for k, v in parse_qs(urlsplit(landed.location).query).items()}["code"]
    tokens = party.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": party.redirect_uri,
            "code_verifier": party.last["verifier"],
        }
    )
    outcomes.add("token", _answer(tokens))
    if tokens.status_code != 200:
        return
    refreshed = party.token_request({"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]})
    outcomes.add("refresh", _answer(refreshed))
    access = refreshed.json()["access_token"] if refreshed.status_code == 200 else tokens.json()["access_token"]
    session = platform.session()
    introspected = session.post(
        platform.issuer + "/introspect",
        data={"token": access},
        auth=(party.client.client_id, party.secret or ""),
        timeout=10,
    )
    outcomes.add("introspect", _answer(introspected))
    if not sign:
        return
    bearer = {"Authorization": f"Bearer {access}"}
    signed = session.post(
        platform.issuer + "/api/signing/sign",
        headers=bearer,
        files={"file": ("cong-van.pdf", DOCUMENT, "application/pdf")},
        data={"level": LEVEL},
        timeout=60,
    )
    outcomes.add("sign", _answer(signed))
    if signed.status_code != 200:
        with outcomes.lock:
            outcomes.failed_signings += 1
        return
    reference = signed.headers["Antin-Signature-Reference"]
    if not signed.content.startswith(b"%PDF") or b"%%EOF" not in signed.content[-1024:]:
        outcomes.add("sign", "odd:not-a-whole-pdf")
        return
    with outcomes.lock:
        outcomes.delivered.append(reference)
    if not verify:
        return
    checked = session.post(
        platform.issuer + "/api/signing/verify",
        headers=bearer,
        files={"file": ("cong-van-signed.pdf", signed.content, "application/pdf")},
        timeout=60,
    )
    outcome = _answer(checked)
    if outcome == "ok" and not _intact(checked.json()):
        report = checked.json()
        # the sub-indication says why (for INDETERMINATE: which check could not conclude), so a soak's count of odd
        # verdicts can be told apart without the documents
        outcome = f"odd:verified-{report.get('indication')}-{report.get('sub_indication')}"
    outcomes.add("verify", outcome)


def _intact(report: dict[str, Any]) -> bool:
    """The whole signed file verifies: its signature intact, trusted, its time-stamp and revocation data good."""
    return bool(report.get("indication") == "TOTAL_PASSED" and report.get("signature_count") == 1)


def official_at_work(
    platform: Platform,
    outcomes: Outcomes,
    stop: threading.Event,
    *,
    pace: Callable[[], bool] | None = None,
    sign_every: int = 1,
) -> None:
    """Rounds until ``stop``; ``pace`` (if given) waits for this round's turn and says False to stop."""
    rounds = 0
    while not stop.is_set():
        if pace is not None and not pace():
            return
        rounds += 1
        try:
            one_round(platform, outcomes, sign=rounds % sign_every == 0)
        except requests.RequestException as err:
            outcomes.add("any", f"conn:{type(err).__name__}")
            time.sleep(0.2)
        except (AssertionError, KeyError, ValueError) as err:
            outcomes.add("any", f"odd:{type(err).__name__}:{str(err)[:80]}")
            time.sleep(0.2)


# -- nothing half-written -------------------------------------------------------------------------------------


@dataclass
class SigningLedger:
    delivered: int  # signed PDFs clients received
    audited: int  # signing.document.sign audit entries
    recorded: int  # signature records
    delivered_not_audited: list[str]  # a signed file without its audit entry
    audited_not_recorded: list[str]  # an audit entry for a signature the platform has no record of
    audited_not_delivered: list[str]  # an audit entry for a signature no client received

    def line(self) -> str:
        return (
            f"signed PDFs delivered {self.delivered}, audit entries {self.audited}, signature records "
            f"{self.recorded}; delivered without audit entry {len(self.delivered_not_audited)}, audited without "
            f"record {len(self.audited_not_recorded)}, audited but not delivered {len(self.audited_not_delivered)}"
        )


def signing_ledger(database_url: str, delivered: list[str]) -> SigningLedger:
    database = Database(database_url, pool_size=1)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(text("select details from audit_log where event = 'signing:document:sign'")).scalars()
            audited = {(d if isinstance(d, dict) else json.loads(d))["reference"] for d in rows}
            recorded = set(conn.execute(text("select id from signing_signature")).scalars())
    finally:
        database.dispose()
    got = set(delivered)
    return SigningLedger(
        len(got),
        len(audited),
        len(recorded),
        sorted(got - audited),
        sorted(audited - recorded),
        sorted(audited - got),
    )


__all__ = [
    "Outcomes",
    "SigningLedger",
    "SigningPlatform",
    "official_at_work",
    "one_round",
    "signing_ledger",
    "signing_platform",
    "status_kind",
    "unclear",
]
