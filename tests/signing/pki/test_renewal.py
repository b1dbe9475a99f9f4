"""Renewing the OCSP responder's and the TSA's certificates (`antin pki renew`) on the real SoftHSM2 token: what the
responder and the TSA sign afterwards verifies with the new certificate (cryptography, `openssl ts`), and a B-LT
signature made before still validates (pyHanko's AdES validator, poppler's pdfsig)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
import requests
from asn1crypto import cms
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader

from antin.kernel.audit.events import AuditEvent
from signing.cli import pki
from signing.errors import InvalidRequestError
from signing.service import SignRequest
from tests.components import require_command
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig


def renew(platform: Platform, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(pki, ["renew", *args], obj=platform.instance, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def timestamp_serial(pdf: bytes) -> str:
    """The serial of the certificate that signed the signature time-stamp of the PDF's first signature."""
    [sig, *_] = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_regular_signatures
    token = next(
        attr["values"][0]
        for attr in sig.signer_info["unsigned_attrs"]
        if attr["type"].native == "signature_time_stamp_token"
    )
    signer: cms.SignerInfo = token["content"]["signer_infos"][0]
    return format(signer["sid"].chosen["serial_number"].native, "x")


def ask_ocsp(platform: Platform, cert_der: bytes) -> ocsp.OCSPResponse:
    """An OCSP request over HTTP to the live responder, as a validator sends it."""
    issuing = x509.load_der_x509_certificate(platform.service.ca.chain().issuing.dump())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(x509.load_der_x509_certificate(cert_der), issuing, hashes.SHA256())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answer = requests.post(
        f"{platform.base_url}/pki/ocsp", data=request, headers={"Content-Type": "application/ocsp-request"}, timeout=10
    )
    assert answer.status_code == 200
    return ocsp.load_der_ocsp_response(answer.content)


def verify_ts(openssl: str, pki_dir: Path, token_reply: Path, data: Path) -> str:
    result = subprocess.run(
        [
            openssl,
            "ts",
            "-verify",
            "-in",
            str(token_reply),
            "-data",
            str(data),
            "-CAfile",
            str(pki_dir / "root-ca.pem"),
            "-untrusted",
            str(pki_dir / "issuing-ca.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


def ts_reply(openssl: str, platform: Platform, data: Path, out: Path) -> Path:
    query = out.with_suffix(".tsq")
    subprocess.run(
        [openssl, "ts", "-query", "-data", str(data), "-cert", "-sha256", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    answer = requests.post(
        f"{platform.base_url}/tsa",
        data=query.read_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        timeout=10,
    )
    assert answer.status_code == 200
    out.write_bytes(answer.content)
    return out


def test_renewed_ocsp_and_tsa_sign_what_comes_next_and_what_came_before_still_validates(
    platform: Platform, plain_pdf: bytes, tmp_path: Path
) -> None:
    openssl = require_command("openssl")
    pki_dir = platform.data_dir / "pki"
    ca = platform.service.ca
    before = ca.chain()
    assert before.ocsp is not None and before.tsa is not None
    # Before: a B-LT signature (its time-stamp and OCSP answer signed by today's certificates), a bare time-stamp.
    signed_before = platform.sign_bytes(plain_pdf, SignRequest("an", level="B-LT"))
    assert timestamp_serial(signed_before) == format(before.tsa.serial_number, "x")
    data = tmp_path / "nghi-quyet.txt"
    data.write_text("Nghị quyết số 07-NQ/TU", encoding="utf-8")
    old_token = ts_reply(openssl, platform, data, tmp_path / "old.tsr")

    code, out, err = renew(platform, "ocsp", "--json")
    assert code == 0, err
    ocsp_renewal = json.loads(out)
    code, out, err = renew(platform, "tsa", "--days", "400")
    assert code == 0, err
    assert "renewed the tsa certificate" in out and "(in use now)" in out and "(kept for what it signed)" in out

    after = ca.chain()
    assert after.ocsp is not None and after.tsa is not None
    assert ocsp_renewal["previous"]["serial"] == format(before.ocsp.serial_number, "x")
    assert (
        ocsp_renewal["current"]["serial"] == format(after.ocsp.serial_number, "x") != ocsp_renewal["previous"]["serial"]
    )
    assert after.ocsp_label != before.ocsp_label and after.tsa_label != before.tsa_label  # new keys in the token
    assert platform.service.keystore.has_key(after.tsa_label or "") and platform.service.keystore.has_key(
        before.tsa_label or ""
    )
    tsa_days = (after.tsa.not_valid_after - after.tsa.not_valid_before).days
    assert tsa_days == 400
    # The previous certificates are kept, still valid (not revoked), for what they signed.
    for role, old in (("ocsp", before.ocsp), ("tsa", before.tsa)):
        kept = ca.get(format(old.serial_number, "x"))
        assert kept.role == role and kept.status == "valid"
    # The PEM files name the new certificates.
    assert x509.load_pem_x509_certificate((pki_dir / "tsa.pem").read_bytes()).serial_number == after.tsa.serial_number
    assert x509.load_pem_x509_certificate((pki_dir / "ocsp.pem").read_bytes()).serial_number == after.ocsp.serial_number

    # OCSP: the live responder signs with the new certificate, which the issuing CA certified.
    official = ca.signing_certificate(uid="an")
    assert official is not None
    answer = ask_ocsp(platform, official.der)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    [responder] = answer.certificates
    assert responder.serial_number == after.ocsp.serial_number
    issuing = x509.load_der_x509_certificate(after.issuing.dump())
    responder.verify_directly_issued_by(issuing)
    public = responder.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(answer.signature_hash_algorithm))

    # TSA: a time-stamp made now verifies with openssl and is signed by the new certificate; the old one still does.
    new_token = ts_reply(openssl, platform, data, tmp_path / "new.tsr")
    assert "Verification: OK" in verify_ts(openssl, pki_dir, new_token, data)
    assert "Verification: OK" in verify_ts(openssl, pki_dir, old_token, data)

    # PAdES: the signature made before renewal still validates, with pyHanko and with pdfsig.
    material = platform.revocation()
    [verdict] = ades_verdicts(signed_before, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert verdict.status == "PASSED", verdict
    (tmp_path / "before.pdf").write_bytes(signed_before)
    [found] = pdfsig(tmp_path / "before.pdf", platform.nss)
    assert (
        found.signature_validation == "Signature is Valid."
        and found.certificate_validation == "Certificate is Trusted."
    )
    # A signature made after renewal is time-stamped by the new TSA certificate, and validates too.
    signed_after = platform.sign_bytes(plain_pdf, SignRequest("an", level="B-LT"))
    assert timestamp_serial(signed_after) == format(after.tsa.serial_number, "x")
    material = platform.revocation()
    [verdict] = ades_verdicts(signed_after, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert verdict.status == "PASSED", verdict

    # Audited, with the serials before and after.
    [entry] = list(
        platform.instance.audit.entries(
            event=AuditEvent.PKI_CA_RENEW.value, subject=format(after.tsa.serial_number, "x")
        )
    )
    assert entry.actor == "cli"
    assert entry.details["serial_before"] == format(before.tsa.serial_number, "x")
    assert entry.details["serial_after"] == format(after.tsa.serial_number, "x")


def test_renewal_refuses_what_it_cannot_renew(platform: Platform) -> None:
    code, _out, err = renew(platform, "root-ca")
    assert code == 2 and "root-ca" in err
    code, _out, err = renew(platform, "tsa", "--days", "0")
    assert code == 2 and "--days" in err
    serials = {c.serial for c in platform.service.ca.certificates()}
    for role, days in (("person", None), ("tsa", -3), ("ocsp", 100_000)):
        with pytest.raises(InvalidRequestError) as refused:
            platform.service.ca.renew(role, days=days)
        assert refused.value.field == ("role" if role == "person" else "days")
    assert {c.serial for c in platform.service.ca.certificates()} == serials  # nothing issued
