"""Renewing the OCSP responder's, the TSA's and the issuing CA's certificates (`antin pki renew`) on the real SoftHSM2
token: what the responder and the TSA sign afterwards verifies with the new certificate (cryptography, `openssl ts`),
a B-LT signature made before still validates (pyHanko's AdES validator, poppler's pdfsig, our own verifier), OCSP and
the CRL still answer for what the issuing CA issued before its renewal, and another worker follows."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
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
from sqlalchemy import select

from antin.kernel.audit.events import AuditEvent
from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from signing.cli import pki
from signing.errors import InvalidRequestError, PkiError
from signing.models import PkiCertificate
from signing.pades.reading.policy import ValidationPolicy
from signing.service import SigningService, SignRequest, signing_service
from signing.validation.service import verify_bytes
from tests.components import require_command
from tests.signing.conftest import Platform, people, require_softhsm
from tests.signing.independent import ades_verdicts, nss_database, pdfsig


def pem_of(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


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
    # another worker or host of the platform (its own caches, the same database and token), already warm; it looks at
    # the database every time here instead of every 30 s
    other_worker = SigningService(platform.instance, keystore=platform.service.keystore)
    other_worker.ca.chain_recheck = 0
    assert other_worker.tsa.certificate.serial_number == before.tsa.serial_number
    assert other_worker.ca.ocsp_responder().authorities[0].signer_certificate.serial_number == before.ocsp.serial_number  # type: ignore[union-attr]

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

    # The other worker switched too: its TSA and its OCSP answers use the new certificates.
    other_answer = ocsp.load_der_ocsp_response(  # the responder first, as the /pki/ocsp route asks for it
        other_worker.ca.ocsp_responder().response_for(before.issuing, int(official.serial, 16))
    )
    assert other_answer.certificates[0].serial_number == after.ocsp.serial_number
    assert other_worker.tsa.certificate.serial_number == after.tsa.serial_number

    # TSA: a time-stamp made now verifies with openssl and is signed by the new certificate; the old one still does.
    new_token = ts_reply(openssl, platform, data, tmp_path / "new.tsr")
    assert "Verification: OK" in verify_ts(openssl, pki_dir, new_token, data)
    assert "Verification: OK" in verify_ts(openssl, pki_dir, old_token, data)

    # PAdES: the signature made before renewal still validates, with pyHanko and with pdfsig.
    material = platform.revocation()
    [verdict] = ades_verdicts(signed_before, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert verdict.status == "PASSED", verdict
    ours = verify_bytes(signed_before, ValidationPolicy(trust_roots=(platform.root_der,), fetch_revocation=True))
    assert [str(sig.indication) for sig in ours.signatures if sig.kind == "signature"] == ["TOTAL_PASSED"], ours
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


@pytest.fixture
def own_ca(tmp_path: Path) -> Iterator[SigningService]:
    """A CA of its own on its own SoftHSM2 token: renewing the issuing CA here leaves the session's alone."""
    require_softhsm()
    settings = load_settings(
        {
            "ANTIN_DATA_DIR": str(tmp_path / "data"),
            "ANTIN_ENV": "test",
            "ANTIN_LOG_LEVEL": "WARNING",
            "ANTIN_HSM_TOKEN_LABEL": "antin-renew",
            "ANTIN_HSM_SO_PIN": "so-pin-5678",
        }
    )
    instance = Instance(settings)
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    use_directory(instance, people())
    service = signing_service(instance)
    service.ensure_pki()
    try:
        yield service
    finally:
        instance.close()


def ocsp_status(service: SigningService, cert_der: bytes) -> ocsp.OCSPResponse:
    """The responder's answer (in-process, the same code as /pki/ocsp) about a certificate of the issuing CA."""
    issuing = x509.load_der_x509_certificate(service.ca.chain().issuing.dump())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(x509.load_der_x509_certificate(cert_der), issuing, hashes.SHA256())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    return ocsp.load_der_ocsp_response(service.ca.ocsp_responder().respond(request))


def test_the_issuing_ca_renewed_with_its_key_still_answers_for_what_it_issued(
    own_ca: SigningService, plain_pdf: bytes, tmp_path: Path
) -> None:
    service = own_ca
    before = service.ca.chain()
    root_der = bytes(before.root.dump())
    early = service.issue_certificate("an", actor="test")  # issued under the first issuing CA certificate
    # another worker of the same platform (its own CA object and caches, the same database and token), already warm
    other_worker = SigningService(service.instance, keystore=service.keystore)
    assert ocsp_status(other_worker, early.der).certificate_status == ocsp.OCSPCertStatus.GOOD
    out = io.BytesIO()
    service.sign(io.BytesIO(plain_pdf), out, SignRequest("an", level="B-LT"))
    signed_before = out.getvalue()

    result = CliRunner().invoke(pki, ["renew", "issuing"], obj=service.instance, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "renewed the issuing certificate" in result.stdout and "issuing-ca.pem" in result.stdout

    after = service.ca.chain()
    assert after.issuing.serial_number != before.issuing.serial_number
    assert after.issuing.subject == before.issuing.subject
    assert after.issuing.public_key.dump() == before.issuing.public_key.dump()  # the same key, certified again
    assert after.issuing.not_valid_after >= before.issuing.not_valid_after  # ten years from now (whole seconds)
    root = x509.load_der_x509_certificate(root_der)
    new_issuing = x509.load_der_x509_certificate(after.issuing.dump())
    new_issuing.verify_directly_issued_by(root)
    x509.load_der_x509_certificate(early.der).verify_directly_issued_by(new_issuing)
    assert service.ca.get(format(before.issuing.serial_number, "x")).status == "valid"  # kept
    pem = (service.instance.data_dir / "pki" / "issuing-ca.pem").read_bytes()
    assert x509.load_pem_x509_certificate(pem).serial_number == after.issuing.serial_number

    # OCSP and the CRL still answer for a certificate issued under the previous CA certificate: good, then revoked.
    assert ocsp_status(service, early.der).certificate_status == ocsp.OCSPCertStatus.GOOD
    service.revoke(early.serial, "key-compromise", actor="test")
    assert ocsp_status(service, early.der).certificate_status == ocsp.OCSPCertStatus.REVOKED
    crl = x509.load_der_x509_crl(service.ca.crl("issuing"))
    assert crl.is_signature_valid(new_issuing.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(early.serial, 16)) is not None

    # The signature made before renewal (its signer revoked only afterwards) still validates; so does a new one.
    later = service.issue_certificate("an", actor="test")
    assert later.issuer_serial == format(after.issuing.serial_number, "x")
    # the other worker, still on the previous CA certificate until it restarts, answers for the new one's too
    assert ocsp_status(other_worker, later.der).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert ocsp_status(other_worker, early.der).certificate_status == ocsp.OCSPCertStatus.REVOKED
    out = io.BytesIO()
    service.sign(io.BytesIO(plain_pdf), out, SignRequest("an", level="B-LT"))
    signed_after = out.getvalue()
    material = service.ca.revocation_material([later])
    [verdict] = ades_verdicts(signed_after, [root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert verdict.status == "PASSED", verdict
    [verdict] = ades_verdicts(signed_before, [root_der])
    assert verdict.status == "PASSED", verdict
    nss = nss_database(tmp_path / "nss", pem_of(root_der))
    (tmp_path / "before.pdf").write_bytes(signed_before)
    [found] = pdfsig(tmp_path / "before.pdf", nss, online_ocsp=False)
    assert found.signature_validation == "Signature is Valid.", found


def test_an_outside_issuing_ca_is_not_renewed_here(own_ca: SigningService) -> None:
    """Only the root that issued it renews an imported issuing CA: the message says so and nothing changes."""
    service = own_ca
    chain = service.ca.chain()
    with service.instance.database.session() as s:  # the root as if it were an outside one: no key of ours
        for row in s.scalars(select(PkiCertificate).where(PkiCertificate.role == "root-ca")):
            row.key_label = None
    service.ca._forget_chain()
    with pytest.raises(PkiError, match="import-ca"):
        service.renew_ca_certificate("issuing", actor="test")
    assert service.ca.chain().issuing.serial_number == chain.issuing.serial_number
