"""A worker that only answers OpenID requests does not load the signing libraries (pyHanko and what it brings:
fontTools, aiohttp, lxml; requests, Pillow, qrcode: ~25–45 MB a process); the first document verified loads them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIGNED_PDF = ROOT / "tests/corpus/pdf-signatures/dss/pades-bes.pdf"
HEAVY = ("pyhanko", "pyhanko_certvalidator", "fontTools", "aiohttp", "lxml", "requests", "PIL", "qrcode")

WORKER = """
import io, json, re, sys
from antin.app import create_app
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory

heavy, folder, pdf = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
loaded = lambda: sorted(name for name in heavy if name in sys.modules)
instance = Instance(load_settings({"ANTIN_DATA_DIR": folder, "ANTIN_LOG_LEVEL": "WARNING"}))
upgrade(instance.database)
use_directory(instance, InMemoryDirectory())
client = create_app(instance=instance).test_client()
answers = {
    "discovery": client.get("/.well-known/openid-configuration").status_code,
    "login": client.get("/login").status_code,
    "token": client.post("/token", data={"grant_type": "client_credentials"}).status_code,
    "verify page": client.get("/verify").status_code,
}
before = loaded()
page = client.get("/verify").get_data(as_text=True)
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
with open(pdf, "rb") as document:
    verdict = client.post(
        "/verify", data={"csrf_token": csrf, "file": (io.BytesIO(document.read()), "pades-bes.pdf")},
        content_type="multipart/form-data",
    )
print(json.dumps({"answers": answers, "before": before, "after": loaded(), "verdict": verdict.status_code,
                  "signatures": verdict.get_data(as_text=True).count('class="signature')}))
instance.close()
"""


def test_an_openid_worker_loads_no_signing_library_until_a_document_is_verified(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(HEAVY), str(tmp_path), str(SIGNED_PDF)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["answers"] == {"discovery": 200, "login": 200, "token": 401, "verify page": 200}
    assert seen["before"] == []
    assert seen["verdict"] == 200 and seen["signatures"] >= 1  # the verifier works once it has loaded pyHanko
    assert "pyhanko" in seen["after"]
