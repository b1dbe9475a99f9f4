"""Signed PDFs for the verifier's tests: a throw-away PKI made with ``cryptography``, PDFs signed with pyHanko.

Used by ``tests/signing/validation``, the fuzz seeds (``tests/fuzz/seeds.py``) and ``bench/verify_bench.py``:
the PKI (``make_pki``, ``pki_fixture``), documents and their signed, time-stamped and tampered variants, and
the verdicts of our verifier (``verify``) and of poppler's ``pdfsig`` on them.

Signing with pyHanko directly is allowed in tests (the platform's own signing lives in ``signing.pades``); every
file made here is judged by our verifier and, where it can judge, by poppler's ``pdfsig``.
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
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
from signing.validation.models import DocumentReport
from tests.components import require_command

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

    def ocsp(
        self,
        *,
        revoked_at: datetime | None = None,
        algorithm: hashes.HashAlgorithm | None = None,
        cert: x509.Certificate | None = None,
    ) -> bytes:
        """An OCSP response for ``cert`` (the signer), signed by the root, CertID hashed with ``algorithm``."""
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert or self.signer,
            issuer=self.root,
            algorithm=algorithm or hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - timedelta(hours=1),
            next_update=NOW + timedelta(days=7),
            revocation_time=revoked_at,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
        )
        response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.root).sign(self.root_key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

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
        if not ca:
            # pyhanko-certvalidator consults OCSP responses only for certificates that name a responder.
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier("http://127.0.0.1:9/ocsp"),
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


def pyhanko_signer(pki: ThrowawayPki, *, prefer_sha1: bool = False) -> signers.SimpleSigner:
    """The PKI's signer as a pyHanko signer, for tests that sign with pyHanko's own options."""
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
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=pyhanko_signer(pki), timestamper=ts)
    return out.getvalue()  # type: ignore[no-any-return]


def sign_pkcs7_sha1(pki: ThrowawayPki, pdf: bytes, *, field: str = "ChuKyCu", digest: bytes | None = None) -> bytes:
    """A legacy ``adbe.pkcs7.sha1`` signature: SignedData encapsulating the SHA-1 digest of the byte range.

    ``digest`` replaces that digest (a signer that signed something other than the document's bytes).
    """
    from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder, SigIOSetup, SigObjSetup
    from pyhanko.sign.signers.pdf_byterange import SignatureObject

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    embedder = PdfCMSEmbedder().write_cms(field_name=field, writer=writer)
    next(embedder)
    placeholder = SignatureObject(bytes_reserved=8192)
    placeholder[generic.pdf_name("/SubFilter")] = generic.pdf_name("/adbe.pkcs7.sha1")
    embedder.send(SigObjSetup(sig_placeholder=placeholder))
    prepared, output = embedder.send(SigIOSetup(md_algorithm="sha1", in_place=False))
    content = digest if digest is not None else prepared.document_digest
    signer = asn1_x509.Certificate.load(pki.signer.public_bytes(serialization.Encoding.DER))
    signature = pki.signer_key.sign(content, padding.PKCS1v15(), hashes.SHA1())
    sha1 = asn1_algos.DigestAlgorithm({"algorithm": "sha1"})
    signed_data = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [sha1],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [signer, asn1_x509.Certificate.load(pki.root_der)],
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": asn1_cms.SignerIdentifier(
                        {
                            "issuer_and_serial_number": {
                                "issuer": signer.issuer,
                                "serial_number": signer.serial_number,
                            }
                        }
                    ),
                    "digest_algorithm": sha1,
                    "signature_algorithm": asn1_algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
                    "signature": signature,
                }
            ],
        }
    )
    embedder.send(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data}))
    return output.getvalue()  # type: ignore[no-any-return]


def add_dss_crl(pdf: bytes, crl: bytes) -> bytes:
    """Append a DSS holding ``crl`` (revocation data for a signature made without it)."""
    return add_dss(pdf, crls=[crl])


def add_dss(pdf: bytes, *, crls: list[bytes] | None = None, ocsps: list[bytes] | None = None) -> bytes:
    """Append a DSS holding ``crls`` and ``ocsps`` (DER) for the first signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation import EmbeddedPdfSignature

    name, _value, ref = next(iter(enumerate_sig_fields(writer.prev, filled_status=True)))
    contents = EmbeddedPdfSignature(writer.prev, ref, name).pkcs7_content
    DocumentSecurityStore.supply_dss_in_writer(
        writer,
        contents,
        crls=[asn1_crl.CertificateList.load(c) for c in crls or ()],
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in ocsps or ()],
    )
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


def with_javascript(pdf: bytes) -> bytes:
    """An update that makes the document run JavaScript when opened and when a link on page 1 is clicked."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    script = generic.DictionaryObject(
        {
            generic.pdf_name("/S"): generic.pdf_name("/JavaScript"),
            generic.pdf_name("/JS"): generic.TextStringObject("this.getField('x');"),
        }
    )
    action = writer.add_object(script)
    writer.root[generic.pdf_name("/OpenAction")] = action
    writer.update_root()
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    link = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Link"),
            generic.pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (72, 700, 200, 720)]),
            generic.pdf_name("/A"): action,
        }
    )
    page[generic.pdf_name("/Annots")] = generic.ArrayObject([writer.add_object(link)])
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_opening_destination_and_chained_script(pdf: bytes) -> bytes:
    """An update that opens the document at page 1 (``/OpenAction [page /Fit]``, the most common opening entry)
    and gives page 1's link an action whose ``/Next`` is an array: a plain URI action, then a script."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    n = generic.pdf_name
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    writer.root[n("/OpenAction")] = generic.ArrayObject([page_ref, n("/Fit")])
    writer.update_root()
    uri = generic.DictionaryObject({n("/S"): n("/URI"), n("/URI"): generic.TextStringObject("https://antin.vn")})
    script = generic.DictionaryObject({n("/S"): n("/JavaScript"), n("/JS"): generic.TextStringObject("app.alert(1);")})
    first = generic.DictionaryObject(
        {
            n("/S"): n("/URI"),
            n("/URI"): generic.TextStringObject("https://antin.vn/a"),
            n("/Next"): generic.ArrayObject([writer.add_object(uri), writer.add_object(script)]),
        }
    )
    page = page_ref.get_object()
    link = generic.DictionaryObject(
        {
            n("/Type"): n("/Annot"),
            n("/Subtype"): n("/Link"),
            n("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (72, 700, 200, 720)]),
            n("/A"): writer.add_object(first),
        }
    )
    page[n("/Annots")] = generic.ArrayObject([writer.add_object(link)])
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_active_content(pdf: bytes) -> bytes:
    """An update with a launch action on a link of page 1, an embedded file and an XFA form."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    n = generic.pdf_name
    launch = writer.add_object(
        generic.DictionaryObject({n("/S"): n("/Launch"), n("/F"): generic.TextStringObject("calc.exe")})
    )
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    link = generic.DictionaryObject(
        {
            n("/Type"): n("/Annot"),
            n("/Subtype"): n("/Link"),
            n("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (72, 700, 200, 720)]),
            n("/A"): launch,
        }
    )
    page[n("/Annots")] = generic.ArrayObject([writer.add_object(link)])
    writer.mark_update(page_ref)
    data = generic.StreamObject({n("/Type"): n("/EmbeddedFile")}, stream_data=b"MZ not really a program")
    spec = generic.DictionaryObject(
        {n("/Type"): n("/Filespec"), n("/F"): generic.TextStringObject("hoa-don.exe")}
        | {n("/EF"): generic.DictionaryObject({n("/F"): writer.add_object(data)})}
    )
    names = generic.ArrayObject([generic.TextStringObject("hoa-don.exe"), writer.add_object(spec)])
    tree = generic.DictionaryObject({n("/Names"): names})
    writer.root[n("/Names")] = generic.DictionaryObject({n("/EmbeddedFiles"): writer.add_object(tree)})
    xfa = generic.StreamObject({}, stream_data=b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")
    writer.root[n("/AcroForm")] = generic.DictionaryObject(
        {n("/Fields"): generic.ArrayObject(), n("/XFA"): writer.add_object(xfa)}
    )
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def verify(pdf: bytes, policy: ValidationPolicy) -> DocumentReport:
    return verify_bytes(pdf, policy, file_name="test.pdf")


# -- pdfsig -------------------------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    return require_command(name, hint="scripts/install-system-packages.sh test (poppler-utils, libnss3-tools)")


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
