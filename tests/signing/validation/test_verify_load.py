"""The public verification page under load (issue 8, item 6): decompression bombs, rate limit, concurrency cap.

Through the real routes (Flask's test client; the bomb's memory in a separate process), with the SQL store of the
embedded default; the Redis store is tested against a real Redis in tests/antin/kernel/test_ratelimit.py.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import signing.validation
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from antin.kernel.ratelimit import DatabaseLimitStore, Limiter
from antin.settings import load_settings
from signing.pades.decode_budget import BASE_ALLOWANCE, RATIO
from signing.validation.views import RATE_WINDOW_SECONDS
from tests.signing.bombs import deflated_crls, dss_crls_pdf, nested_pdf, object_stream_bomb_pdf, with_dss_crl_streams
from tests.signing.signed_pdfs import ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def signed_pdf(pki: ThrowawayPki) -> bytes:
    signed: bytes = sign(pki, blank_pdf(), level="B-B")
    return signed


@pytest.fixture(scope="module")
def b_lt(pki: ThrowawayPki) -> bytes:
    signed: bytes = sign(pki, blank_pdf(), level="B-LT")
    return signed


@pytest.fixture(scope="module")
def dss_bomb(b_lt: bytes) -> bytes:
    """A B-LT signature whose later update adds to its store 1,000 CRL streams of 4 MB of zeros each: 4 GB from
    4 MB."""
    return with_dss_crl_streams(b_lt, deflated_crls(4_000_000, 1000))


@pytest.fixture(scope="module")
def object_stream_bomb() -> bytes:
    """16 object streams of 4 MB each (64 KB in all) that the verifier decodes to read the fields they hold."""
    return object_stream_bomb_pdf(16, 4_000_000)


def _app(tmp_path: Path, pki: ThrowawayPki, **env: str) -> Flask:
    from antin.app import create_app
    from antin.migrate import upgrade

    settings = load_settings({"ANTIN_DATA_DIR": str(tmp_path / "var"), "ANTIN_LOG_LEVEL": "WARNING", **env})
    instance = Instance(settings)
    upgrade(instance.database)
    app = create_app(instance=instance)
    if "antin.verify" not in app.extensions:
        signing.validation.init_app(app)
    app.extensions["antin.verify"].policy = pki.trusted()
    app.extensions["antin.verify"].access_check = lambda _authorization: None  # the bearer check: test_verify_web
    return app


def _upload(client: FlaskClient, data: bytes, **form: str) -> Any:
    page = client.get("/verify")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    fields = {"csrf_token": match.group(1), "file": (io.BytesIO(data), "doc.pdf"), **form}
    return client.post("/verify", data=fields, content_type="multipart/form-data")


def _api(client: FlaskClient, data: bytes) -> Any:
    return client.post(
        "/api/signing/verify", data=data, content_type="application/pdf", headers={"Authorization": "Bearer t"}
    )


# -- decompression bombs ------------------------------------------------------------------------------------


IGNORED = "revocation data past the verifier's limit was ignored"


def test_a_dss_crl_bomb_gets_a_report_saying_what_was_ignored(
    tmp_path: Path, pki: ThrowawayPki, b_lt: bytes, dss_bomb: bytes
) -> None:
    """The store's CRLs are decoded up to the verifier's revocation limit (20 MB: five of them), the rest is not
    decoded at all: a report, the signature not passing, and the words saying what was left unread."""
    client = _app(tmp_path, pki).test_client()
    assert 'data-indication="TOTAL_PASSED"' in _upload(client, b_lt).text  # the same signature, no bomb
    page = _upload(client, dss_bomb)
    assert page.status_code == 200 and "Traceback" not in page.text
    assert 'data-indication="INDETERMINATE"' in page.text
    assert IGNORED in page.text.replace("&#39;", "'") and "995 CRLs" in page.text
    api = _api(client, dss_bomb)
    assert api.status_code == 200 and api.mimetype == "application/json"
    assert [s["indication"] for s in api.json["signatures"]] == ["INDETERMINATE"]
    assert api.json["dss"]["ignored"].startswith(IGNORED) and "995 CRLs" in api.json["dss"]["ignored"]


def _inflated_object_streams(pdf: bytes) -> int:
    """What the document's object streams inflate to, by zlib alone (not through the verifier's reader)."""
    total = 0
    for match in re.finditer(rb"/Type /ObjStm [^>]*/Length (\d+) >>\nstream\n", pdf):
        total += len(zlib.decompress(pdf[match.end() : match.end() + int(match.group(1))]))
    return total


def test_an_object_stream_bomb_gets_a_clear_refusal_on_the_page_and_the_api(
    tmp_path: Path, pki: ThrowawayPki, object_stream_bomb: bytes
) -> None:
    """Object streams are decoded whole whenever an object of theirs is read (here each signature field), up to
    pyHanko's 4 MiB floor each: past the document's budget together, the document is refused as a whole."""
    budget = max(BASE_ALLOWANCE, RATIO * len(object_stream_bomb))
    assert _inflated_object_streams(object_stream_bomb) > budget
    client = _app(tmp_path, pki).test_client()
    page = _upload(client, object_stream_bomb)
    assert page.status_code == 422
    assert 'data-reason="decode-limit"' in page.text
    assert "giải ra lớn bất thường" in page.text and "Traceback" not in page.text
    api = _api(client, object_stream_bomb)
    assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert api.json["reason"] == "decode-limit"
    # the same shape within the budget (7 of those streams, 28 MB) is read as usual: the budget decides
    within = object_stream_bomb_pdf(7, 4_000_000)
    assert _inflated_object_streams(within) < budget
    response = _upload(client, within)
    assert response.status_code == 200 and 'data-indication="NO_SIGNATURE"' in response.text


@pytest.mark.parametrize("kind", ["array", "dict"])
def test_a_deeply_nested_pdf_gets_a_clear_refusal(tmp_path: Path, pki: ThrowawayPki, kind: str) -> None:
    """Nesting a reader would recurse into until its stack ran out (issue 14, item 9): a clear 422, the service up;
    the same file nested 50 levels is read and reported as usual. At Python's default recursion limit, as in the
    server's workers (Hypothesis raises it in the test process)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        _nested_pdfs_on_the_page_and_the_api(_app(tmp_path, pki).test_client(), kind)
    finally:
        sys.setrecursionlimit(limit)


def _nested_pdfs_on_the_page_and_the_api(client: FlaskClient, kind: str) -> None:
    shallow = _upload(client, nested_pdf(50, kind))
    assert shallow.status_code == 200 and "Traceback" not in shallow.text
    for depth in (1_000, 100_000):
        page = _upload(client, nested_pdf(depth, kind))
        assert page.status_code == 422, depth
        assert "structure cannot be read" in page.text and "Traceback" not in page.text
        api = _api(client, nested_pdf(depth, kind))
        assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert _upload(client, nested_pdf(3, kind)).status_code == 200  # and the service still answers


_MEASURE = r"""
import json, re, sys
from pathlib import Path

def high_water_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

from antin.app import create_app
from antin.migrate import upgrade
from antin.kernel.instance import Instance
from antin.settings import load_settings

instance = Instance(load_settings({"ANTIN_DATA_DIR": sys.argv[1], "ANTIN_LOG_LEVEL": "ERROR"}))
upgrade(instance.database)
client = create_app(instance=instance).test_client()
token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text).group(1)
before = high_water_mib()
with open(sys.argv[2], "rb") as fh:
    response = client.post("/verify", data={"csrf_token": token, "file": (fh, "bomb.pdf")})
text = response.get_data(as_text=True).replace("&#39;", "'")
print(json.dumps({
    "status": response.status_code,
    "reason": re.findall(r'data-reason="([^"]+)"', text),
    "indication": re.findall(r'data-indication="([^"]+)"', text),
    "ignored": "revocation data past the verifier's limit was ignored" in text,
    "grew_mib": high_water_mib() - before,
}))
"""


def _measured(tmp_path: Path, bomb: bytes) -> dict[str, Any]:
    """The page's answer to ``bomb`` in a fresh process, and how much that process's peak memory grew for it."""
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tmp_path), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_dss_crl_bomb_is_answered_with_bounded_memory(tmp_path: Path, dss_bomb: bytes) -> None:
    """Before the document's budget this 4 MB file made the process grow by about 770 MiB (pyHanko's 400 MB budget,
    decoded and kept). The store's CRLs are now decoded only up to the revocation limit (20 MB), the rest not at all,
    and a "CRL" that is none (zeros) is not kept for pyHanko to parse element by element (+340 MiB and 8 s before):
    about +25 MiB and 0.2 s."""
    result = _measured(tmp_path, dss_bomb)
    assert result["status"] == 200 and result["reason"] == [] and result["ignored"], result
    assert "TOTAL_PASSED" not in result["indication"] and result["indication"], result
    assert result["grew_mib"] < 100, result


def test_an_object_stream_bomb_is_refused_with_bounded_memory(tmp_path: Path, object_stream_bomb: bytes) -> None:
    """64 MB of object streams in a 64 KB file: decoding stops at the document's budget (32 MiB)."""
    result = _measured(tmp_path, object_stream_bomb)
    assert result["status"] == 422 and result["reason"] == ["decode-limit"], result
    assert result["grew_mib"] < 200, result


def test_real_documents_stay_within_the_budget(tmp_path: Path, pki: ThrowawayPki) -> None:
    client = _app(tmp_path, pki).test_client()
    lta = sign(pki, blank_pdf(pages=3, padding=200_000), level="B-LTA")
    response = _upload(client, lta)
    assert response.status_code == 200 and 'data-indication="TOTAL_PASSED"' in response.text


def test_a_corrupt_stream_is_not_taken_for_a_bomb(tmp_path: Path, pki: ThrowawayPki) -> None:
    """A broken Flate stream large enough (800 KB: pyHanko's CRL cap is 50 × that) that the budget (32 MiB), not
    the stream's own cap, bounds its decoding."""
    corrupt = dss_crls_pdf([b"x\x9c" + bytes(range(256)) * 3200])
    response = _upload(_app(tmp_path, pki).test_client(), corrupt)
    assert response.status_code == 200 and 'data-indication="NO_SIGNATURE"' in response.text


# -- rate limit per client ----------------------------------------------------------------------------------


def test_the_rate_limit_answers_429_with_retry_after(tmp_path: Path, pki: ThrowawayPki, signed_pdf: bytes) -> None:
    client = _app(tmp_path, pki, ANTIN_SIGNING_VERIFY_RATE_LIMIT="2").test_client()
    # the limit counts in fixed minutes: start at the top of one, so that a slow machine's four verifications
    # (seconds each under load) cannot straddle two and find the count started again
    clock = client.application.extensions["antin.instance"].clock
    clock.advance(timedelta(seconds=RATE_WINDOW_SECONDS - clock.now().timestamp() % RATE_WINDOW_SECONDS + 0.5))
    assert _upload(client, signed_pdf).status_code == 200
    assert _api(client, signed_pdf).status_code == 200
    page = _upload(client, signed_pdf)
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert 'data-reason="rate-limited"' in page.text and "thử lại sau" in page.text
    api = _api(client, signed_pdf)
    assert api.status_code == 429 and api.mimetype == "application/problem+json"
    assert api.json["reason"] == "rate-limited" and 1 <= int(api.headers["Retry-After"]) <= 60
    stranger = client.application.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert _upload(stranger, signed_pdf).status_code == 200  # the limit is per client address


# -- concurrency cap ----------------------------------------------------------------------------------------


def test_the_concurrency_cap_answers_503_with_retry_after(tmp_path: Path, pki: ThrowawayPki, signed_pdf: bytes) -> None:
    app = _app(tmp_path, pki, ANTIN_SIGNING_VERIFY_CONCURRENCY="1")
    client = app.test_client()
    # another worker process of this host, sharing the database, is verifying a document right now
    instance: Instance = app.extensions["antin.instance"]
    other_worker = Limiter(DatabaseLimitStore(Database(instance.settings.database_url)))
    with other_worker.gate("verify", 1, 120):
        page = _upload(client, signed_pdf)
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert int(page.headers["Retry-After"]) >= 1 and 'data-reason="busy"' in page.text
        api = _api(client, signed_pdf)
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        assert api.json["reason"] == "busy" and int(api.headers["Retry-After"]) >= 1
    assert _upload(client, signed_pdf).status_code == 200  # the slot is free again


# -- CSRF on the page (issue 8, item 8) ---------------------------------------------------------------------


def test_a_bogus_authorization_header_does_not_skip_the_pages_csrf_check(
    tmp_path: Path, pki: ThrowawayPki, signed_pdf: bytes
) -> None:
    client = _app(tmp_path, pki).test_client()
    client.get("/verify")  # the browser holds the session cookie
    response = client.post(
        "/verify",
        data={"file": (io.BytesIO(signed_pdf), "doc.pdf")},
        content_type="multipart/form-data",
        headers={"Authorization": "Bearer bogus"},
    )
    assert response.status_code == 400
