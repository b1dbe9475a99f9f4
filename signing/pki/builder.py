"""Low-level X.509 assembly with asn1crypto, signed by a key in the :class:`~signing.keystore.KeyStore`.

``cryptography``'s builders need the private key in memory; ours is in the HSM, so certificates, CRLs, OCSP
responses and CSRs are assembled here and only their to-be-signed bytes go to the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import algos, core, csr, keys, x509

from signing.keystore import KeyStore, key_algorithm_of

__all__ = [
    "IssuerKey",
    "build_certificate",
    "build_csr",
    "build_name",
    "key_identifier",
    "new_serial",
    "serial_hex",
    "signature_algorithm",
    "x509_time",
]

# X.520 attributes that must be PrintableString (RFC 5280 appendix A); the rest are UTF8String.
_PRINTABLE = {"country_name", "serial_number", "dn_qualifier"}


@dataclass(frozen=True)
class IssuerKey:
    """What signs: a key label in the key store, its public key, and the issuer's name (None: self-signed)."""

    label: str
    public_key: bytes  # DER SubjectPublicKeyInfo
    name: x509.Name | None = None
    key_identifier: bytes | None = None


def build_name(attributes: Sequence[tuple[str, str]]) -> x509.Name:
    """A distinguished name with one attribute per RDN, in the order given (most general first)."""
    rdns = []
    for attr, value in attributes:
        if attr in _PRINTABLE:
            encoded: Any = core.PrintableString(value)
        elif attr == "email_address":
            encoded = core.IA5String(value)
        else:
            encoded = x509.DirectoryString(name="utf8_string", value=value)
        rdns.append(x509.RelativeDistinguishedName([x509.NameTypeAndValue({"type": attr, "value": encoded})]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def new_serial() -> int:
    """A random positive serial number of 127 bits (RFC 5280: at most 20 octets; CA/B: at least 64 random bits)."""
    return secrets.randbits(127) | (1 << 120)


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def x509_time(moment: datetime) -> x509.Time:
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    if moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


def signature_algorithm(public_key: bytes, hash_algorithm: str = "sha256") -> algos.SignedDigestAlgorithm:
    kind = key_algorithm_of(public_key)
    name = f"{hash_algorithm}_ecdsa" if kind == "ec" else f"{hash_algorithm}_rsa"
    return algos.SignedDigestAlgorithm({"algorithm": name})


def key_identifier(public_key: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bit string."""
    info = keys.PublicKeyInfo.load(public_key)
    return hashlib.sha1(info["public_key"].contents[1:]).digest()  # noqa: S324 (an identifier, not security)


def build_certificate(
    keystore: KeyStore,
    *,
    issuer: IssuerKey,
    subject: x509.Name,
    public_key: bytes,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    extensions: Sequence[dict[str, Any]],
) -> x509.Certificate:
    """Assemble a v3 certificate and have ``issuer.label`` sign it. SKI and AKI are added here."""
    sig_alg = signature_algorithm(issuer.public_key)
    ski = key_identifier(public_key)
    aki = issuer.key_identifier or key_identifier(issuer.public_key)
    all_extensions = [
        {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
        {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": aki}},
        *extensions,
    ]
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": sig_alg,
            "issuer": issuer.name if issuer.name is not None else subject,
            "validity": {"not_before": x509_time(not_before), "not_after": x509_time(not_after)},
            "subject": subject,
            "subject_public_key_info": keys.PublicKeyInfo.load(public_key),
            "extensions": all_extensions,
        }
    )
    signature = keystore.sign(issuer.label, tbs.dump(), "sha256")
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": sig_alg, "signature_value": signature})


def build_csr(keystore: KeyStore, *, label: str, subject: x509.Name, public_key: bytes) -> csr.CertificationRequest:
    """A PKCS#10 request for the key ``label``, to send to an outside CA."""
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": subject,
            "subject_pk_info": keys.PublicKeyInfo.load(public_key),
            "attributes": [],
        }
    )
    sig_alg = signature_algorithm(public_key)
    signature = keystore.sign(label, info.dump(), "sha256")
    return csr.CertificationRequest(
        {"certification_request_info": info, "signature_algorithm": sig_alg, "signature": signature}
    )
