"""StartTLS and LDAPS with a CA file, against a slapd with a certificate made for the test."""

from __future__ import annotations

import datetime
import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from directory.errors import DirectoryUnavailableError
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd, SlapdTls
from tests.components import require_command
from tests.directory.conftest import BASE_DN, SERVICE_PASSWORD, config_for


def make_ca(folder: Path, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, path


@pytest.fixture
def tls_slapd(tmp_path: Path) -> Iterator[tuple[ManagedSlapd, Path]]:
    require_command("slapd")
    ca, ca_key, ca_file = make_ca(tmp_path, "test-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ManagedSlapd(
        tmp_path / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD, tls=SlapdTls(cert_file, key_file)
    )
    server.start()
    yield server, ca_file
    server.stop()


def test_start_tls_and_ldaps_with_the_ca(tls_slapd: tuple[ManagedSlapd, Path]) -> None:
    server, ca_file = tls_slapd
    start_tls = LdapDirectory(config_for(server, start_tls=True, ca_file=ca_file))
    start_tls.check()
    start_tls.close()
    assert server.ldaps_uri is not None
    ldaps = LdapDirectory(config_for(server, uris=(server.ldaps_uri,), ca_file=ca_file))
    ldaps.check()
    ldaps.close()


def test_an_untrusted_certificate_is_refused_quickly(tls_slapd: tuple[ManagedSlapd, Path], tmp_path: Path) -> None:
    server, _ = tls_slapd
    _, _, other_ca = make_ca(tmp_path, "other-ca")
    for config in (
        config_for(server, start_tls=True, ca_file=other_ca),
        config_for(server, uris=(server.ldaps_uri,), ca_file=other_ca),
    ):
        directory = LdapDirectory(config)
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailableError):
            directory.check()
        assert time.monotonic() - started < 2.0
        directory.close()
