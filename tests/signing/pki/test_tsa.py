"""The RFC 3161 time-stamping authority, as `openssl ts` sees it over HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests
from asn1crypto import core, tsp

from antin.kernel.database import utcnow
from signing.tsa import TimeStampAuthority, database_serials
from tests.components import require_command
from tests.signing.conftest import Platform


def query(openssl: str, data: Path, out: Path, *extra: str) -> bytes:
    subprocess.run(
        [openssl, "ts", "-query", "-data", str(data), "-cert", "-out", str(out), *extra],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def status_of(answer: bytes) -> str:
    # asn1crypto's TimeStampResp wrongly requires the token, which rejections omit: read the status alone.
    return str(tsp.PKIStatusInfo.load(core.Sequence.load(answer)[0].dump())["status"].native)


def post(platform: Platform, body: bytes, content_type: str = "application/timestamp-query") -> requests.Response:
    return requests.post(f"{platform.base_url}/tsa", data=body, headers={"Content-Type": content_type}, timeout=10)


def test_tokens_verify_with_openssl_ts(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    data = tmp_path / "vanban.txt"
    data.write_text("Nghị quyết số 01-NQ/TU", encoding="utf-8")
    request = query(openssl, data, tmp_path / "q.tsq", "-sha256")
    response = post(platform, request)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(response.content)
    pki = platform.data_dir / "pki"
    for how in (["-queryfile", str(tmp_path / "q.tsq")], ["-data", str(data)]):
        verified = subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-in",
                str(tmp_path / "r.tsr"),
                *how,
                "-CAfile",
                str(pki / "root-ca.pem"),
                "-untrusted",
                str(pki / "issuing-ca.pem"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Verification: OK" in verified.stdout, verified.stdout + verified.stderr
    # Changed data fails.
    data.write_text("Nghị quyết số 02-NQ/TU", encoding="utf-8")
    failed = subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-in",
            str(tmp_path / "r.tsr"),
            "-data",
            str(data),
            "-CAfile",
            str(pki / "root-ca.pem"),
            "-untrusted",
            str(pki / "issuing-ca.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" not in failed.stdout


def test_serial_numbers_are_never_reused_after_a_restart(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    data = tmp_path / "d.txt"
    data.write_text("x")
    request = query(openssl, data, tmp_path / "q.tsq", "-sha256")

    def serial_of(answer: bytes) -> int:
        token = tsp.TimeStampResp.load(answer)["time_stamp_token"]
        return int(token["content"]["encap_content_info"]["content"].parsed["serial_number"].native)

    first = serial_of(post(platform, request).content)
    chain = platform.service.ca.chain()
    assert chain.tsa is not None and chain.tsa_label is not None
    # A new TSA object (another worker, or the process after a restart) over the same database.
    restarted = TimeStampAuthority(
        platform.service.keystore,
        key_label=chain.tsa_label,
        certificate=chain.tsa,
        chain=[chain.issuing],
        serials=database_serials(platform.instance.database),
        clock=utcnow,
    )
    serials = [serial_of(restarted.respond(request)) for _ in range(3)] + [serial_of(post(platform, request).content)]
    assert len(set([first, *serials])) == 5 and min(serials) > first


def test_weak_digests_and_garbage_are_rejected(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    data = tmp_path / "d.txt"
    data.write_text("x")
    sha1 = post(platform, query(openssl, data, tmp_path / "q1.tsq", "-sha1"))
    assert status_of(sha1.content) == "rejection"
    (tmp_path / "r1.tsr").write_bytes(sha1.content)
    text = subprocess.run(
        [openssl, "ts", "-reply", "-in", str(tmp_path / "r1.tsr"), "-text"], capture_output=True, text=True, check=False
    ).stdout
    assert "Rejected" in text and "unsupported algorithm" in text
    garbage = post(platform, b"\x30\x03\x02\x01\x07")
    assert status_of(garbage.content) == "rejection"
    assert post(platform, b"x", content_type="text/plain").status_code == 415
