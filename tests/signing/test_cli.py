"""`antin sign` and `antin pki`: exit statuses, one-line errors, JSON for scripts; HSM failures without a trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from signing.cli import pki, sign
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts


def run(command: object, args: list[str], platform: Platform) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, args, obj=platform.instance, catch_exceptions=False)  # type: ignore[arg-type]
    return result.exit_code, result.stdout, result.stderr


def test_sign_writes_a_valid_pdf_and_reports_json(platform: Platform, plain_pdf: bytes, tmp_path: Path) -> None:
    source = tmp_path / "nghi-quyet.pdf"
    source.write_bytes(plain_pdf)
    code, out, err = run(
        sign,
        [
            str(source),
            "-o",
            str(tmp_path / "signed.pdf"),
            "--signer",
            "an",
            "--level",
            "B-LTA",
            "--visible",
            "1,320,60,240,72",
            "--reason",
            "Ban hành",
            "--location",
            "Hà Tĩnh",
            "--json",
        ],
        platform,
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["level"] == "B-LTA" and report["signer_name"] == "Nguyễn Văn Ấn" and report["kind"] == "person"
    [verdict] = ades_verdicts((tmp_path / "signed.pdf").read_bytes(), [platform.root_der])
    assert verdict.status == "PASSED"
    # Then the records office seals it, certifying (locking) the document.
    code, out, err = run(
        sign,
        [
            str(tmp_path / "signed.pdf"),
            "-o",
            str(tmp_path / "sealed.pdf"),
            "--signer",
            "binh",
            "--seal",
            "HT-VP",
            "--certify",
            "--json",
        ],
        platform,
    )
    assert code == 0, err
    assert json.loads(out)["locked"] is True
    verdicts = ades_verdicts((tmp_path / "sealed.pdf").read_bytes(), [platform.root_der])
    assert [v.status for v in verdicts] == ["PASSED", "PASSED"]


def test_several_inputs_go_to_a_folder(platform: Platform, plain_pdf: bytes, tmp_path: Path) -> None:
    inputs = []
    for name in ("a.pdf", "b.pdf"):
        (tmp_path / name).write_bytes(plain_pdf)
        inputs.append(str(tmp_path / name))
    (tmp_path / "out").mkdir()
    code, out, err = run(sign, [*inputs, "-o", str(tmp_path / "out"), "--signer", "an", "--level", "B-T"], platform)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a-signed.pdf", "b-signed.pdf"]
    assert out.count("signed ") == 2


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_unusable_input_exits_2_with_one_line(platform: Platform, tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_bytes(b"PK\x03\x04 a zip, not a pdf")
    code, _out, err = run(sign, [str(tmp_path / "x.pdf"), "-o", str(tmp_path / "y.pdf"), "--signer", "an"], platform)
    assert code == 2 and "not a PDF" in one_line_error(err)
    assert not (tmp_path / "y.pdf").exists()
    code, _out, err = run(
        sign, [str(tmp_path / "missing.pdf"), "-o", str(tmp_path / "y.pdf"), "--signer", "an"], platform
    )
    assert code == 2 and "no such file" in one_line_error(err)
    code, _out, err = run(
        sign, [str(tmp_path / "x.pdf"), "-o", str(tmp_path / "y.pdf"), "--signer", "an", "--visible", "1,2"], platform
    )
    assert code == 2 and "--visible" in one_line_error(err)


def test_other_failures_exit_1_with_one_line(platform: Platform, plain_pdf: bytes, tmp_path: Path) -> None:
    (tmp_path / "d.pdf").write_bytes(plain_pdf)
    code, _out, err = run(
        sign, [str(tmp_path / "d.pdf"), "-o", str(tmp_path / "o.pdf"), "--signer", "nobody"], platform
    )
    assert code == 1 and "nobody" in one_line_error(err)
    code, _out, err = run(
        sign, [str(tmp_path / "d.pdf"), "-o", str(tmp_path / "o.pdf"), "--signer", "dung", "--seal", "HT-VP"], platform
    )
    assert code == 1 and "HT-VP" in one_line_error(err)


def test_pki_list_show_revoke(platform: Platform) -> None:
    code, out, _err = run(pki, ["list", "--role", "root-ca", "--json"], platform)
    assert code == 0 and len(json.loads(out)) == 1
    info = platform.service.issue_certificate("lan", actor="test")
    code, out, _err = run(pki, ["show", info.serial, "--json"], platform)
    assert json.loads(out)["uid"] == "lan"
    code, out, _err = run(pki, ["revoke", "--uid", "lan", "--reason", "privilege-withdrawn", "--json"], platform)
    assert code == 0 and [c["status"] for c in json.loads(out)] == ["revoked"]
    code, _out, err = run(pki, ["show", "abcdef"], platform)
    assert code == 1 and "no certificate" in one_line_error(err)


def test_hsm_failures_are_one_line_without_the_pin(platform: Platform) -> None:
    # Make the next CRL need a signature in the token, then ask for it from another process with bad settings.
    info = platform.service.issue_certificate("khoa", actor="test")
    platform.service.revoke(info.serial, "superseded", actor="test")
    base = {
        **os.environ,
        "ANTIN_DATA_DIR": str(platform.data_dir),
        "ANTIN_ISSUER": platform.base_url,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "ERROR",
        "ANTIN_HSM_TOKEN_LABEL": "antin-test",
    }
    antin = [sys.executable, "-m", "antin"]
    wrong_pin = subprocess.run(
        [*antin, "pki", "crl"],
        env={**base, "ANTIN_HSM_PIN": "wrong-pin-9876"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong_pin.returncode == 1
    assert "PIN was refused" in one_line_error(wrong_pin.stderr)
    assert "wrong-pin-9876" not in wrong_pin.stderr + wrong_pin.stdout
    no_token = subprocess.run(
        [*antin, "pki", "crl"],
        env={**base, "ANTIN_HSM_TOKEN_LABEL": "absent-token"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_token.returncode == 1 and "no token with this label" in one_line_error(no_token.stderr)
    missing_module = subprocess.run(
        [*antin, "pki", "crl"],
        env={**base, "ANTIN_HSM_MODULE": "/nonexistent/libp11.so"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing_module.returncode == 1 and "does not exist" in one_line_error(missing_module.stderr)
