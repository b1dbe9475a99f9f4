"""The CRL lookup by serial number gives pyHanko's own answers, leaves indirect CRLs to pyHanko's walk, and refuses
what is no CRL."""

from __future__ import annotations

import datetime

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator.revinfo import validate_crl

from signing.pades.reading import crl_lookup

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
KEY = ec.generate_private_key(ec.SECP256R1())
CA = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ấn Tín CA")])
OTHER = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])


def _certificate(serial: int, issuer: x509.Name = CA) -> asn1_x509.Certificate:
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"cán bộ {serial}")]))
        .issuer_name(issuer)
        .public_key(KEY.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(KEY, hashes.SHA256())
    )
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _crl(serials: list[int], indirect: bool = False) -> bytes:
    builder = x509.CertificateRevocationListBuilder().issuer_name(CA).last_update(NOW).next_update(NOW)
    for serial in serials:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW)
        if indirect:
            entry = entry.add_extension(x509.CertificateIssuer([x509.DirectoryName(OTHER)]), critical=True)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _lookup(cert: asn1_x509.Certificate, crl: object) -> tuple[object, object]:
    crl_lookup.install()
    name = asn1_x509.Name.load(CA.public_bytes())
    issuer = cert.issuer
    result: tuple[object, object] = validate_crl.find_cert_in_list(cert, issuer, crl, name)
    return result


def test_the_index_answers_as_pyhankos_walk() -> None:
    der = _crl([5, 7, 11])
    indexed = crl_lookup.indexed(der)
    assert hasattr(indexed, "_antin_serial_index")
    for serial in (5, 6, 11, 12):
        cert = _certificate(serial)
        plain = crl_lookup.indexed(der)
        del plain._antin_serial_index  # type: ignore[attr-defined]
        walked = crl_lookup._walk(cert, cert.issuer, plain, asn1_x509.Name.load(CA.public_bytes()))
        assert _lookup(cert, indexed) == walked
    date, reason = _lookup(_certificate(7), indexed)
    assert date == NOW and reason.native == "unspecified"
    assert _lookup(_certificate(6), indexed) == (None, None)


def test_an_indirect_crl_is_left_to_the_walk() -> None:
    """Entries naming their own issuer: a serial of this CA's may be revoked under another's name, and the other
    way round; only pyHanko's walk knows, so no index is made."""
    indexed = crl_lookup.indexed(_crl([5], indirect=True))
    assert not hasattr(indexed, "_antin_serial_index")
    assert _lookup(_certificate(5, OTHER), indexed)[0] == NOW


def test_what_cryptography_cannot_read_as_a_crl_is_refused() -> None:
    """A SEQUENCE of 4 MB of zeros, which asn1crypto loads lazily as a CRL and pyHanko then parsed element by
    element (two million of them, +340 MiB) to sort the CRLs by date."""
    zeros = b"\x30\x84" + (4_000_000).to_bytes(4, "big") + bytes(4_000_000)
    with pytest.raises(ValueError):
        crl_lookup.indexed(zeros)
    assert crl_lookup.indexed(_crl([5])).native["tbs_cert_list"]["issuer"]["common_name"] == "Ấn Tín CA"
