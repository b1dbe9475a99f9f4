"""Fixtures for the verifier's tests: a throw-away PKI made with ``cryptography`` and PDFs signed with pyHanko.

Signing with pyHanko directly is allowed in tests (the platform's own signing lives in ``signing.pades``); every
file made here is judged by our verifier and, where it can judge, by poppler's ``pdfsig``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.api import CAdESSignedAttrSpec
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.validation import ValidationPolicy, verify_bytes
from signing.validation.model import DocumentReport

NOW = datetime.now(UTC)
SIGNER_NAME = "Nguyễn Thị Hồng Nhung"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Văn phòng Trung ương Đảng"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class ThrowawayPki:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    signer: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    folder: Path

    @property
    def root_der(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.DER)

    @property
    def root_pem_path(self) -> Path:
        path = self.folder / "root.pem"
        path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        return path

    def crl(self, revoked: dict[int, datetime] | None = None) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.subject)
            .last_update(NOW - timedelta(hours=1))
            .next_update(NOW + timedelta(days=7))
        )
        for serial, when in (revoked or {}).items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def trusted(self) -> ValidationPolicy:
        return ValidationPolicy(trust_roots=(self.root_der,))

    def untrusted(self) -> ValidationPolicy:
        return ValidationPolicy()


def _cert(
    subject: x509.Name,
    public_key: object,
    issuer: x509.Certificate | None,
    issuer_key: object,
    *,
    ca: bool,
    eku: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        ).add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier("http://127.0.0.1:9/ca.crl")], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]


def make_pki(folder: Path) -> ThrowawayPki:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert(_name("Ấn Tín Test Root CA"), root_key.public_key(), None, root_key, ca=True)
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _cert(_name(SIGNER_NAME), signer_key.public_key(), root, root_key, ca=False)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # DummyTimeStamper is RSA-only
    tsa = _cert(
        _name("Ấn Tín Test TSA"), tsa_key.public_key(), root, root_key, ca=False, eku=ExtendedKeyUsageOID.TIME_STAMPING
    )
    return ThrowawayPki(root, root_key, signer, signer_key, tsa, tsa_key, folder)


def pki_fixture() -> Any:
    """A module's ``pki`` fixture: ``pki = pki_fixture()`` (one throw-away PKI per test module)."""

    @pytest.fixture(scope="module")
    def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
        return make_pki(tmp_path_factory.mktemp("pki"))

    return pki


# -- documents ----------------------------------------------------------------------------------------------


def blank_pdf(text: str = "Quyết định số 123/QĐ-TW", pages: int = 1, padding: int = 0) -> bytes:
    """A small PDF with text on each page; ``padding`` adds an uncompressed stream to reach a size."""
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    for number in range(pages):
        content = f"BT /F1 14 Tf 72 760 Td ({text.encode('ascii', 'replace').decode()} - page {number + 1}) Tj ET"
        if padding and number == 0:
            content += "\n%" + "x" * 70 + "\n"
            content += ("% " + "0123456789abcdef" * 4 + "\n") * (padding // 67)
        stream = writer.add_object(generic.StreamObject(stream_data=content.encode()))
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
                generic.pdf_name("/Contents"): stream,
                generic.pdf_name("/Resources"): generic.DictionaryObject(
                    {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
                ),
            }
        )
        writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signer(pki: ThrowawayPki, *, prefer_sha1: bool = False) -> signers.SimpleSigner:
    key = load_private_key_from_pemder_data(
        pki.signer_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        passphrase=None,
    )
    cert = asn1_x509.Certificate.load(pki.signer.public_bytes(serialization.Encoding.DER))
    root = asn1_x509.Certificate.load(pki.root_der)
    return signers.SimpleSigner(
        signing_cert=cert, signing_key=key, cert_registry=SimpleCertificateStore.from_certs([root])
    )


def timestamper(pki: ThrowawayPki, when: datetime | None = None) -> DummyTimeStamper:
    key = load_private_key_from_pemder_data(
        pki.tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        passphrase=None,
    )
    tsa = asn1_x509.Certificate.load(pki.tsa.public_bytes(serialization.Encoding.DER))
    root = asn1_x509.Certificate.load(pki.root_der)
    return DummyTimeStamper(
        tsa_cert=tsa, tsa_key=key, certs_to_embed=SimpleCertificateStore.from_certs([root]), fixed_dt=when
    )


def sign(
    pki: ThrowawayPki,
    pdf: bytes,
    *,
    field: str = "ChuKy1",
    md: str = "sha256",
    level: str = "B-LT",
    crl: bytes | None = None,
    ts_time: datetime | None = None,
    content_timestamp: bool = False,
) -> bytes:
    """Sign ``pdf``; B-LT and B-LTA embed the CRL in the DSS, B-T adds a signature time-stamp."""
    root = asn1_x509.Certificate.load(pki.root_der)
    crl_der = crl if crl is not None else pki.crl()
    vc = ValidationContext(trust_roots=[root], crls=[asn1_crl.CertificateList.load(crl_der)], allow_fetching=False)
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm=md,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=level in ("B-LT", "B-LTA"),
        use_pades_lta=level == "B-LTA",
        validation_context=vc if level in ("B-LT", "B-LTA") else None,
        reason="Phê duyệt",
        cades_signed_attr_spec=CAdESSignedAttrSpec(timestamp_content=True) if content_timestamp else None,
    )
    ts = timestamper(pki, ts_time) if level in ("B-T", "B-LTA") or content_timestamp else None
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=_signer(pki), timestamper=ts)
    return out.getvalue()  # type: ignore[no-any-return]


def add_dss_crl(pdf: bytes, crl: bytes) -> bytes:
    """Append a DSS holding ``crl`` (revocation data for a signature made without it)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation import EmbeddedPdfSignature

    name, _value, ref = next(iter(enumerate_sig_fields(writer.prev, filled_status=True)))
    contents = EmbeddedPdfSignature(writer.prev, ref, name).pkcs7_content
    DocumentSecurityStore.supply_dss_in_writer(writer, contents, crls=[asn1_crl.CertificateList.load(crl)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def change_page_content(pdf: bytes, extra: bytes = b"BT /F1 40 Tf 100 500 Td (PAID) Tj ET") -> bytes:
    """An incremental update that paints over page 1."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = writer.add_object(generic.StreamObject(stream_data=extra))
    writer.add_stream_to_page(0, stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def verify(pdf: bytes, policy: ValidationPolicy) -> DocumentReport:
    return verify_bytes(pdf, policy, file_name="test.pdf")


# -- pdfsig -------------------------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (install poppler-utils / libnss3-tools)")
        pytest.skip(f"{name} is not installed")
    return path


@dataclass(frozen=True)
class PdfsigResult:
    signatures: list[dict[str, str]]
    raw: str


def pdfsig(pdf: bytes, folder: Path, pki: ThrowawayPki | None) -> PdfsigResult:
    """Run poppler's pdfsig (reading its output, never its exit code) with an NSS db holding our root."""
    require_tool("pdfsig")
    require_tool("certutil")
    nss = folder / "nss"
    if not nss.exists():
        nss.mkdir()
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
        if pki is not None:
            subprocess.run(
                [
                    "certutil",
                    "-A",
                    "-d",
                    f"sql:{nss}",
                    "-n",
                    "antin-test-root",
                    "-t",
                    "CT,C,C",
                    "-i",
                    str(pki.root_pem_path),
                ],
                check=True,
                capture_output=True,
            )
    path = folder / "doc.pdf"
    path.write_bytes(pdf)
    proc = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", "-no-ocsp", str(path)], capture_output=True, text=True, timeout=60
    )
    out = proc.stdout + proc.stderr
    sigs: list[dict[str, str]] = []
    for block in re.split(r"^Signature #\d+:", out, flags=re.M)[1:]:
        info = {}
        for line in block.splitlines():
            m = re.match(r"\s+- ([^:]+): (.*)", line)
            if m:
                info[m.group(1).strip()] = m.group(2).strip()
            elif line.strip() == "- Total document signed" or "Total document signed" in line:
                info["coverage"] = line.strip(" -")
        sigs.append(info)
    return PdfsigResult(sigs, out)


def replace_policy(policy: ValidationPolicy, **changes: object) -> ValidationPolicy:
    return dataclasses.replace(policy, **changes)  # type: ignore[arg-type]
