"""`antin demo` as a new user meets it: one command, the directory seeded, the web up, clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.components import free_port, require_command


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    require_command("slapd")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    return clean | {"ANTIN_DATA_DIR": str(tmp_path / "demo"), "ANTIN_LOG_LEVEL": "WARNING"}


def start_demo(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "antin", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"antin demo exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            response = requests.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("antin demo did not become ready")


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT) -> str:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    return out


WAITING_DOCUMENTS = """
from sqlalchemy import select
from antin.kernel.instance import Instance
from antin.settings import load_settings
from signing.documents.models import DocumentStep
instance = Instance(load_settings())
with instance.database.reading() as s:
    for step in s.scalars(select(DocumentStep)):
        print(f"{step.assignee_login or step.assignee_group}:{step.kind}:{step.status}")
"""

AWAITING = """
from antin.kernel.instance import Instance
from antin.settings import load_settings
from directory.instance import directory_service
from signing.documents.service import document_service
instance = Instance(load_settings())
people, documents = directory_service(instance), document_service(instance)
for uid in ("thanhnc", "hoalt", "ngantk"):
    box = documents.inbox(people.find_by_login(uid), "awaiting")
    print(uid, *sorted(d.title for d in box.items), sep="|")
"""


def test_demo_starts_seeds_serves_and_stops_cleanly(demo_env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://localhost:{port}"
    proc = start_demo(demo_env, port)
    try:
        ready = wait_ready(base, proc)
        assert ready["status"] == "ready"
        # every subcommand works on the running instance
        units = subprocess.run(
            [sys.executable, "-m", "antin", "directory", "units", "list", "--json"],
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        codes = {unit["code"] for unit in json.loads(units.stdout)}
        assert len(codes) >= 8
        verify = subprocess.run(
            [sys.executable, "-m", "antin", "audit", "verify"], env=demo_env, capture_output=True, text=True, timeout=60
        )
        assert verify.returncode == 0, verify.stderr
        # the console is registered and asks the provider for its level
        console = requests.get(f"{base}/admin/", allow_redirects=False, timeout=10)
        assert console.status_code == 302 and "client_id=antin-console" in console.headers["Location"]
        assert "acr_values=urn%3Aantin%3Aacr%3Aphishing-resistant" in console.headers["Location"]
        # the portal answers at / and a document waits for hungnv's signature (item 14 of issue 11)
        assert requests.get(base + "/", timeout=10).status_code == 200
        documents = subprocess.run(
            [sys.executable, "-c", WAITING_DOCUMENTS], env=demo_env, capture_output=True, text=True, timeout=60
        )
        # and one goes on to the records office of the centre, which seals and issues it (items 7 and 8)
        assert sorted(documents.stdout.split()) == [
            "hungnv:sign:active",
            "hungnv:sign:active",
            "lanh-dao-bnh:sign:active",  # and one waits for the leaders of Bắc Ninh (thanhnc or hoalt)
            "van-thu-tw:issue:waiting",
            "van-thu-tw:seal:waiting",
        ], documents.stderr
        # the leaders of Bắc Ninh, read from the real directory: each has it waiting, a clerk of the province not
        awaiting = subprocess.run(
            [sys.executable, "-c", AWAITING], env=demo_env, capture_output=True, text=True, timeout=60
        )
        leaders_document = "Tờ trình về kế hoạch kiểm tra, giám sát năm 2027 (mẫu)"
        assert awaiting.stdout.split("\n")[:3] == [
            f"thanhnc|{leaders_document}",
            f"hoalt|{leaders_document}",
            "ngantk",
        ], awaiting.stderr
    finally:
        out = stop(proc)
    assert f"issuer:      {base}" in out
    assert "demo accounts (development only)" in out
    assert re.search(r"dungpt +platform-admin on \*", out) and re.search(r"tuanbv +unit-admin on BNH", out)
    assert f"admin console: {base}/admin" in out
    # one demo official has a TOTP factor, its key printed for an authenticator app
    totp = json.loads((Path(demo_env["ANTIN_DATA_DIR"]) / "demo-totp.json").read_text(encoding="utf-8"))
    assert "two-step verification (development only)" in out and totp["key"] in out
    assert "/account/security/webauthn" in out and "Sign in with a passkey" in out
    assert "hungnv has a document waiting for the signature" in out
    assert "Traceback" not in out
    slapd_pid = Path(demo_env["ANTIN_DATA_DIR"]) / "slapd"
    leftovers = subprocess.run(["pgrep", "-f", str(slapd_pid)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", "slapd was left running after the demo stopped"

    # a second start reuses the data: same accounts, no reseeding; a service manager's SIGTERM stops it cleanly
    proc = start_demo(demo_env, port)
    try:
        wait_ready(base, proc)
    finally:
        second = stop(proc, signal.SIGTERM)
    leftovers = subprocess.run(["pgrep", "-f", str(slapd_pid)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", "slapd was left running after SIGTERM"
    first_accounts = [line for line in out.splitlines() if line.startswith("    ")]
    assert first_accounts and first_accounts == [line for line in second.splitlines() if line.startswith("    ")]
