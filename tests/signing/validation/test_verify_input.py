"""Unusable input gets a clear error and exit status 2, never a pass and never a stack trace."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing.validation import UnusableInputError, ValidationPolicy, verify_bytes, verify_file
from tests.signing.signed_pdfs import ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()


@pytest.fixture
def instance_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ANTIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ANTIN_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


def _cli(args: list[str]) -> tuple[int, str, str]:
    from antin.cli import cli

    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def _encrypted_pdf() -> bytes:
    plain = PdfFileWriter()
    plain.encrypt("owner-secret", "user-secret")
    buf = io.BytesIO()
    plain.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty", b"", "empty"),
        ("not-a-pdf", b"PK\x03\x04 this is a zip file, not a PDF" * 10, "not-pdf"),
        ("html", b"<!doctype html><html><body>hello</body></html>", "not-pdf"),
        ("truncated", blank_pdf()[:300], "truncated"),
    ],
)
def test_bad_input_is_refused_with_a_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnusableInputError) as caught:
        verify_bytes(data, ValidationPolicy())
    assert caught.value.reason == reason
    assert caught.value.message_vi and caught.value.message_en


def test_truncated_signed_pdf_is_refused(pki: ThrowawayPki) -> None:
    signed = sign(pki, blank_pdf(), level="B-B")
    with pytest.raises(UnusableInputError) as caught:
        verify_bytes(signed[: len(signed) // 2], ValidationPolicy())
    assert caught.value.reason in ("truncated", "unreadable")


def test_encrypted_pdf_is_refused() -> None:
    with pytest.raises(UnusableInputError) as caught:
        verify_bytes(_encrypted_pdf(), ValidationPolicy())
    assert caught.value.reason == "encrypted"


def test_200_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(200 * 1024 * 1024)  # sparse: no disk, no time
    tracemalloc.start()
    try:
        with pytest.raises(UnusableInputError) as caught:
            verify_file(big, ValidationPolicy())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "too-large"
    assert peak < 5 * 1024 * 1024, f"{peak} bytes allocated to refuse a 200 MB file"


def test_pdf_without_signature_is_no_signature(instance_env: Path) -> None:
    path = instance_env / "plain.pdf"
    path.write_bytes(blank_pdf())
    report = verify_file(path, ValidationPolicy())
    assert report.indication.value == "NO_SIGNATURE"
    code, out, _ = _cli(["verify", str(path), "--json"])
    assert code == 1
    assert json.loads(out)["indication"] == "NO_SIGNATURE"


# -- the command --------------------------------------------------------------------------------------------


def test_cli_exit_status_0_when_every_signature_passed(pki: ThrowawayPki, instance_env: Path) -> None:
    path = instance_env / "signed.pdf"
    path.write_bytes(sign(pki, blank_pdf(), level="B-LTA"))
    code, out, _ = _cli(["verify", str(path), "--json", "--trust", str(pki.root_pem_path)])
    assert code == 0, out
    data = json.loads(out)
    assert data["indication"] == "TOTAL_PASSED"
    assert [s["kind"] for s in data["signatures"]] == ["signature", "document-timestamp"]
    assert data["signatures"][0]["signer"]["common_name"] == "Nguyễn Thị Hồng Nhung"


def test_cli_exit_status_1_when_not_trusted_and_writes_reports(
    pki: ThrowawayPki,
    instance_env: Path,
) -> None:
    path = instance_env / "signed.pdf"
    path.write_bytes(sign(pki, blank_pdf(), level="B-LT"))
    html, pdf = instance_env / "r.html", instance_env / "r.pdf"
    code, out, _ = _cli(["verify", str(path), "--html", str(html), "--pdf", str(pdf)])
    assert code == 1
    assert "CHƯA XÁC ĐỊNH" in out and "NO_CERTIFICATE_CHAIN_FOUND" in out
    assert "CHƯA XÁC ĐỊNH" in html.read_text(encoding="utf-8")
    assert pdf.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("content", [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj <<"])
def test_cli_exit_status_2_for_unusable_input(content: bytes, instance_env: Path) -> None:
    path = instance_env / "bad.pdf"
    path.write_bytes(content)
    code, out, err = _cli(["verify", str(path), "--json"])
    assert code == 2
    assert json.loads(out)["error"] in ("empty", "not-pdf", "truncated", "unreadable")
    assert "Traceback" not in out + err


def test_cli_exit_status_2_for_a_missing_file_and_a_bad_trust_file(instance_env: Path) -> None:
    code, _, err = _cli(["verify", str(instance_env / "nope.pdf")])
    assert code == 2 and "Traceback" not in err
    bad = instance_env / "bad.pem"
    bad.write_text("not a certificate")
    pdf = instance_env / "x.pdf"
    pdf.write_bytes(blank_pdf())
    code, _, err = _cli(["verify", str(pdf), "--trust", str(bad)])
    assert code == 2 and "trust" in err


def test_cli_prints_the_report_and_nothing_else(instance_env: Path) -> None:
    # pyHanko warns about objects missing from a revision's history ("Could not find object…"): the report says
    # what matters, and a person running the command sees the report only.
    import subprocess
    import sys

    from tests.signing.validation.test_verify_corpus import CORPUS

    env = {**os.environ, "ANTIN_DATA_DIR": str(instance_env / "var")}
    proc = subprocess.run(
        [sys.executable, "-m", "antin", "verify", str(CORPUS / "dss/pades-ltv.pdf"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["signature_count"] == 1
    assert proc.stderr == ""
