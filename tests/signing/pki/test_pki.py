"""The PKI as outside tools see it: certificates read by `cryptography` and `openssl`, CRLs, OCSP answered to
`openssl ocsp` over HTTP, keys that the token refuses to export, a CSR for an outside CA and its certificate."""

from __future__ import annotations

import io
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from directory.instance import use_directory
from signing.errors import InvalidRequestError, PkiError
from signing.pades import PadesOptions, SignerMaterial
from signing.service import SignRequest
from tests.components import require_command
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts


def load(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def test_first_start_creates_a_two_level_ca_with_pem_files(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    pki = platform.data_dir / "pki"
    for name in ("root-ca.pem", "issuing-ca.pem", "ca-chain.pem", "ocsp.pem", "tsa.pem"):
        assert (pki / name).is_file(), name
    root = x509.load_pem_x509_certificate((pki / "root-ca.pem").read_bytes())
    issuing = x509.load_pem_x509_certificate((pki / "issuing-ca.pem").read_bytes())
    assert root.issuer == root.subject
    assert issuing.issuer == root.subject
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    result = subprocess.run(
        [
            openssl,
            "verify",
            "-CAfile",
            str(pki / "root-ca.pem"),
            "-untrusted",
            str(pki / "issuing-ca.pem"),
            str(pki / "issuing-ca.pem"),
            str(pki / "tsa.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert platform.service.ensure_pki() == []  # a second start creates nothing


def test_an_officials_certificate_is_built_from_the_directory(platform: Platform, plain_pdf: bytes) -> None:
    info = platform.service.issue_certificate("an", actor="test")
    cert = load(info.der)
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn Ấn"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Tỉnh ủy Hà Tĩnh"
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)] == ["Văn phòng Tỉnh ủy"]
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Chánh Văn phòng"
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "HT-0042"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.content_commitment and usage.value.digital_signature
    assert not usage.value.key_cert_sign
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    urls = {d.access_method._name: d.access_location.value for d in aia}
    assert urls == {"OCSP": f"{platform.base_url}/pki/ocsp", "caIssuers": f"{platform.base_url}/pki/ca/issuing.cer"}
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == f"{platform.base_url}/pki/crl/issuing.crl"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name
    ) == ["an@ht.dcs.vn"]
    # A new certificate supersedes the old one, which is revoked.
    again = platform.service.issue_certificate("an", actor="test")
    assert platform.service.ca.get(info.serial).revocation_reason == "superseded"
    assert platform.service.ca.signing_certificate(uid="an") == again


def test_seal_and_service_certificates(platform: Platform) -> None:
    seal = load(platform.service.issue_seal("HT-VP", clerk_uid="binh", actor="test").der)
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Văn phòng Tỉnh ủy"
    assert seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == "VN-UNIT-HT-VP"
    chain = platform.service.ca.chain()
    tsa = load(chain.tsa.dump() if chain.tsa else b"")
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    responder = load(chain.ocsp.dump() if chain.ocsp else b"")
    assert list(responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING
    ]
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)


def test_keys_are_generated_in_the_token_and_cannot_be_exported(platform: Platform) -> None:
    tool = require_command("pkcs11-tool", hint="scripts/install-system-packages.sh (package opensc)")
    from signing.hsm import find_softhsm_module

    env = {**os.environ, "SOFTHSM2_CONF": str(platform.data_dir / "softhsm" / "softhsm2.conf")}
    listing = subprocess.run(
        [
            tool,
            "--module",
            str(find_softhsm_module()),
            "--token-label",
            "antin-test",
            "--login",
            "--pin",
            "1234",
            "--list-objects",
            "--type",
            "privkey",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    blocks = [b for b in listing.split("Private Key Object") if "label:" in b]
    assert len(blocks) >= 4  # root, issuing, OCSP, TSA at least
    for block in blocks:
        assert "never extractable" in block and "sensitive" in block, block
    assert "antin-root-ca" in listing


def test_revocation_shows_in_the_crl_and_in_openssl_ocsp(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    info = platform.service.issue_certificate("khoa", actor="test")
    pki = platform.data_dir / "pki"
    cert_pem = tmp_path / "khoa.pem"
    cert_pem.write_text(info.pem)

    def ask() -> str:
        result = subprocess.run(
            [
                openssl,
                "ocsp",
                "-issuer",
                str(pki / "issuing-ca.pem"),
                "-cert",
                str(cert_pem),
                "-url",
                f"{platform.base_url}/pki/ocsp",
                "-CAfile",
                str(pki / "root-ca.pem"),
                "-verify_other",
                str(pki / "issuing-ca.pem"),
                "-resp_text",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return result.stdout + result.stderr

    before = ask()
    assert f"{cert_pem}: good" in before
    platform.service.revoke(info.serial, "affiliation-changed", actor="test")
    after = ask()
    assert f"{cert_pem}: revoked" in after and "Reason: affiliationChanged" in after
    # The CRL names it too, with the reason, and openssl checks the CRL's signature.
    crl_der = platform.service.ca.crl("issuing")
    crl = x509.load_der_x509_crl(crl_der)
    entry = crl.get_revoked_certificate_by_serial_number(int(info.serial, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.affiliation_changed
    (tmp_path / "issuing.crl").write_bytes(crl_der)
    checked = subprocess.run(
        [
            openssl,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "issuing.crl"),
            "-CAfile",
            str(pki / "ca-chain.pem"),
            "-noout",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "verify OK" in checked.stdout + checked.stderr


def test_ocsp_says_unknown_for_a_serial_it_never_issued(platform: Platform, tmp_path: Path) -> None:
    openssl = require_command("openssl")
    pki = platform.data_dir / "pki"
    result = subprocess.run(
        [
            openssl,
            "ocsp",
            "-issuer",
            str(pki / "issuing-ca.pem"),
            "-serial",
            "0x1234567",
            "-url",
            f"{platform.base_url}/pki/ocsp",
            "-CAfile",
            str(pki / "root-ca.pem"),
            "-verify_other",
            str(pki / "issuing-ca.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert "0x1234567: unknown" in result.stdout, result.stderr


def test_crl_numbers_increase(platform: Platform) -> None:
    first = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    info = platform.service.issue_certificate("lan", actor="test")
    platform.service.revoke(info.serial, "cessation-of-operation", actor="test")
    second = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    number = x509.CRLNumber
    assert (
        second.extensions.get_extension_for_class(number).value.crl_number
        > first.extensions.get_extension_for_class(number).value.crl_number
    )


def test_a_crl_dated_ahead_of_the_clock_is_not_served_again(platform: Platform) -> None:
    """A CRL issued while the clock ran ahead (then stepped back, as NTP may) would be "too recent" to validators."""
    clock = platform.instance.clock
    try:
        clock.advance(timedelta(days=30))
        ahead = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    finally:
        clock.reset()
    current = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    assert ahead.last_update_utc > datetime.now(UTC) + timedelta(days=29)
    assert current.last_update_utc <= datetime.now(UTC)


def test_an_unknown_revocation_reason_is_refused(platform: Platform) -> None:
    info = platform.service.issue_seal("HT-VP", clerk_uid="binh", actor="test")
    with pytest.raises(InvalidRequestError):
        platform.service.revoke(info.serial, "because")


def test_csr_for_an_outside_ca_and_import_of_its_certificate(platform: Platform, plain_pdf: bytes) -> None:
    """The Government Cipher Committee's flow: our key in the token, their CA signs, we sign with it."""
    person = platform.service.person("dung")
    csr = x509.load_pem_x509_csr(platform.service.ca.csr_for_person(person).encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Phạm Thị Dung"
    # An outside CA, made here with `cryptography`.
    outside_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ban Cơ yếu Chính phủ (thử nghiệm)")])
    now = datetime.now(UTC)
    outside_root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(outside_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(outside_key, hashes.SHA256())
    )
    issued = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(name)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(outside_key, hashes.SHA256())
    )
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    info = platform.service.ca.import_certificate(pem(issued), pem(outside_root))
    assert info.subject_uid == "dung" and info.issuer_serial is None
    # Sign with the imported certificate (B-B: the outside CA publishes no revocation data here).
    out = io.BytesIO()
    material = SignerMaterial(
        info.key_label or "", info.der, tuple(c.dump() for c in platform.service.ca.chain_for(info))
    )
    platform.service.engine.sign(material, io.BytesIO(plain_pdf), out, PadesOptions(level="B-B"))
    [verdict] = ades_verdicts(out.getvalue(), [outside_root.public_bytes(serialization.Encoding.DER)])
    # Chain and signature check out; revocation cannot be known without the outside CA's CRL.
    assert verdict.status == "INDETERMINATE" and verdict.sub_indication in (
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "TRY_LATER",
    )
    with pytest.raises(PkiError):
        platform.service.ca.import_certificate(pem(outside_root))  # no key of ours matches


def test_service_signatures_use_the_newest_certificate(platform: Platform, plain_pdf: bytes) -> None:
    first = platform.sign_bytes(plain_pdf, SignRequest("an", level="B-B"))
    current = platform.service.ca.signing_certificate(uid="an")
    assert current is not None
    from pyhanko.pdf_utils.reader import PdfFileReader

    [sig] = PdfFileReader(io.BytesIO(first), strict=False).embedded_regular_signatures
    assert format(sig.signer_cert.serial_number, "x") == current.serial


def test_an_outside_issuing_ca_can_replace_the_generated_one(tmp_path: Path, plain_pdf: bytes) -> None:
    """Production: the issuing CA's key is in the HSM, its certificate comes from an outside root."""
    import signing.models  # noqa: F401
    from antin.kernel.database import Base
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from signing.keystore import FileKeyStore
    from signing.service import SigningService
    from tests.signing.conftest import people

    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "ERROR"}))
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    use_directory(instance, people())
    service = SigningService(instance, keystore=FileKeyStore(tmp_path / "keys"))
    service.ensure_pki()
    old_root = service.ca.chain().root
    # The key is made "in the HSM", the outside root (here: `cryptography`) certifies it.
    spki = service.keystore.generate_key("gcc-issuing", "ec-p256")
    outside_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Root CA (thử nghiệm)")])
    now = datetime.now(UTC)

    def builder(subject: x509.Name, public: object) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root_name)
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        )

    outside_root = builder(root_name, outside_key.public_key()).sign(outside_key, hashes.SHA256())
    issuing_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn phòng Trung ương Issuing CA")])
    issuing = builder(issuing_name, serialization.load_der_public_key(spki)).sign(outside_key, hashes.SHA256())
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    with pytest.raises(PkiError):
        service.import_ca(pem(issuing))  # no root given
    created = service.import_ca(pem(issuing), pem(outside_root), "gcc-issuing", actor="test")
    assert {c.role for c in created} >= {"root-ca", "issuing-ca", "ocsp", "tsa"}
    chain = service.ca.chain()
    assert chain.root.dump() == outside_root.public_bytes(serialization.Encoding.DER)
    assert chain.root_key is None and chain.issuing.subject.native["common_name"] == "Văn phòng Trung ương Issuing CA"
    # Officials now get certificates from the imported CA, and sign B-T with the new TSA.
    signed = io.BytesIO()
    service.sign(io.BytesIO(plain_pdf), signed, SignRequest("an", level="B-T"))
    material = service.ca.revocation_material([service.ca.signing_certificate(uid="an").certificate])  # type: ignore[union-attr]
    root_crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_name)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .sign(outside_key, hashes.SHA256())
    )
    [verdict] = ades_verdicts(
        signed.getvalue(),
        [outside_root.public_bytes(serialization.Encoding.DER)],
        crls=[*material.crls, root_crl.public_bytes(serialization.Encoding.DER)],
        ocsps=[*material.ocsp_responses, *service.ca.revocation_material([chain.tsa]).ocsp_responses],  # type: ignore[list-item]
    )
    assert verdict.status == "PASSED", verdict
    assert old_root.dump() in [c.der for c in service.ca.certificates(role="external-ca")]
    instance.close()


def test_the_ca_follows_the_instance_clock(tmp_path: Path) -> None:
    """Validity, revocation time and the CRL's dates come from ``instance.clock``: a test moves time in one place."""
    import signing.models  # noqa: F401
    from antin.kernel.database import Base
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from signing.keystore import FileKeyStore
    from signing.service import SigningService
    from tests.signing.conftest import people

    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "ERROR"}))
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    use_directory(instance, people())
    service = SigningService(instance, keystore=FileKeyStore(tmp_path / "keys"))
    service.ensure_pki()
    instance.clock.advance(timedelta(days=400))
    later = datetime.now(UTC) + timedelta(days=400)

    issued = service.issue_certificate("an")
    assert abs(issued.not_before + timedelta(minutes=5) - later) < timedelta(minutes=1)
    revoked = service.revoke(issued.serial, "key-compromise")
    assert revoked.revoked_at is not None and abs(revoked.revoked_at - later) < timedelta(minutes=1)
    crl = x509.load_der_x509_crl(service.ca.crl("issuing"))
    assert abs(crl.last_update_utc - later) < timedelta(minutes=1)
    entry = crl.get_revoked_certificate_by_serial_number(int(issued.serial, 16))
    assert entry is not None and abs(entry.revocation_date_utc - later) < timedelta(minutes=1)


def test_the_certificate_policy_oid_comes_from_the_settings(tmp_path: Path) -> None:
    """[signing] policy_oid names the policy in every certificate the CA issues and in its time-stamps."""
    import signing.models  # noqa: F401
    from antin.kernel.database import Base
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from signing.keystore import FileKeyStore
    from signing.service import SigningService
    from signing.settings import SigningSettings
    from tests.signing.conftest import people

    policy = "1.2.704.1001.7.1"
    env = {"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "ERROR", "ANTIN_SIGNING_POLICY_OID": policy}
    instance = Instance(load_settings(env))
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    use_directory(instance, people())
    service = SigningService(instance, keystore=FileKeyStore(tmp_path / "keys"))
    service.ensure_pki()

    chain = service.ca.chain()
    issued = [service.issue_certificate("an").der, chain.issuing.dump()]
    assert chain.tsa is not None
    issued.append(chain.tsa.dump())
    for der in issued:
        policies = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.CertificatePolicies)
        assert [p.policy_identifier.dotted_string for p in policies.value] == [policy]
    assert service.tsa.policy == policy

    assert SigningSettings(policy_oid="1.2.704.1001.7.1").problems() == {}
    for bad in ("", "2", "3.1", "1.2.704.x", "1.40.5", "1.02.3"):
        assert "policy_oid" in SigningSettings(policy_oid=bad).problems(), bad


def test_revocation_material_kept_for_at_most_its_bound_of_signers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The B-LT revocation material a process keeps (one entry per signer's chain) stays within its bound however
    many officials sign: it grew with every official who ever signed through the process (the soak's worker
    memory). The bound is made 3 here so that 7 officials pass it; each still gets their own certificate's answer."""
    from asn1crypto import ocsp

    import signing.models
    import signing.pki.revocation
    from antin.kernel.database import Base
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from signing.keystore import FileKeyStore
    from signing.service import SigningService
    from tests.signing.conftest import people

    monkeypatch.setattr(signing.pki.revocation, "REVOCATION_CACHE_ENTRIES", 3)
    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "ERROR"}))
    upgrade(instance.database)
    Base.metadata.create_all(instance.database.engine)
    use_directory(instance, people())
    service = SigningService(instance, keystore=FileKeyStore(tmp_path / "keys"))
    service.ensure_pki()
    ca = service.ca
    assert ca is not None
    officials = ("an", "binh", "cuong", "dung", "hanh", "khoa", "lan")
    for uid in officials:
        issued = service.issue_certificate(uid)
        material = ca.revocation_material([issued])
        [answer] = [ocsp.OCSPResponse.load(der) for der in material.ocsp_responses]
        single = answer["response_bytes"]["response"].parsed["tbs_response_data"]["responses"][0]
        assert single["cert_id"]["serial_number"].native == int(issued.serial, 16)
        assert len(ca._revocation_cache) <= 3
    # the latest officials' material is still kept: a signer's second signature costs no OCSP response
    again = ca.signing_certificate(uid="lan")
    assert again is not None
    assert ca.revocation_material([again]) is material
    instance.close()


def test_a_crl_is_issued_once_after_a_revocation_even_within_its_second(platform: Platform) -> None:
    """Revocation times and CRL dates are whole seconds: a CRL issued in the second of a revocation must not be
    issued again on every later fetch (the status page then showed a CRL that the URL no longer served)."""
    info = platform.service.issue_certificate("lan", actor="test")
    revoked = platform.service.revoke(info.serial, "cessation-of-operation", actor="test")
    assert revoked.revoked_at is not None
    clock = platform.instance.clock
    try:
        clock.advance(revoked.revoked_at + timedelta(milliseconds=100) - clock.now())  # the revocation's second
        listing = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
        clock.advance(timedelta(seconds=1))
        again = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    finally:
        clock.reset()
    assert listing.get_revoked_certificate_by_serial_number(int(info.serial, 16)) is not None
    number = x509.CRLNumber
    assert (
        again.extensions.get_extension_for_class(number).value.crl_number
        == listing.extensions.get_extension_for_class(number).value.crl_number
    )
    # and the next revocation still gets a new CRL that lists it
    other = platform.service.issue_certificate("lan", actor="test")
    platform.service.revoke(other.serial, "key-compromise", actor="test")
    newer = x509.load_der_x509_crl(platform.service.ca.crl("issuing"))
    assert newer.get_revoked_certificate_by_serial_number(int(other.serial, 16)) is not None
