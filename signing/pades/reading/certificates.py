"""The facts of certificates: names as RFC 4514 text, keys, fingerprints, and the chains a signature shows."""

from __future__ import annotations

import hashlib

from asn1crypto import x509
from pyhanko_certvalidator.path import ValidationPath

from signing.pades.reading.facts import CertificateFacts
from signing.pades.reading.verifier_caches import FACTS_CACHE

__all__ = ["FACTS_CACHE", "certificate_facts", "certificate_facts_from_der", "embedded_chain", "path_facts"]


def _name(name: x509.Name) -> str:
    # RFC 4514 order and escaping, but UTF-8 text kept as is (asn1crypto's human_friendly reverses the order).
    parts = []
    for rdn in reversed(name.chosen):
        for attr in rdn:
            key = attr["type"].native
            short = {
                "common_name": "CN",
                "organization_name": "O",
                "organizational_unit_name": "OU",
                "country_name": "C",
                "locality_name": "L",
                "state_or_province_name": "ST",
                "serial_number": "serialNumber",
                "given_name": "GN",
                "surname": "SN",
                "title": "title",
                "email_address": "E",
                "domain_component": "DC",
                "user_id": "UID",
            }.get(key, key)
            value = attr["value"].native
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def _common_name(name: x509.Name) -> str:
    value = name.native.get("common_name", "")
    if isinstance(value, list):
        value = value[-1]
    return str(value)


def certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    """The facts of a parsed certificate (cached by its DER bytes)."""
    return _certificate_facts_of_der(cert.dump())


def _certificate_facts_of_der(der: bytes) -> CertificateFacts:
    return FACTS_CACHE.get_or_make(hashlib.sha256(der).digest(), len(der), lambda: _facts_of_der(der))


def _facts_of_der(der: bytes) -> CertificateFacts:
    cert = x509.Certificate.load(der)
    public_key = cert.public_key
    try:
        bits = int(public_key.bit_size)
    except Exception:  # unknown key types have no size we can judge
        bits = 0
    return CertificateFacts(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        serial_number=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
        sha256_fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        common_name=_common_name(cert.subject),
        key_algorithm=str(public_key.algorithm),
        key_bits=bits,
        self_signed=_self_issued(cert),
        organization_identifier=str(cert.subject.native.get("organization_identifier", "") or ""),
    )


def _self_issued(cert: x509.Certificate) -> bool:
    # Byte comparison: asn1crypto's Name equality runs LDAP string preparation, slow on Vietnamese names.
    return bool(cert.subject.dump() == cert.issuer.dump())


def certificate_facts_from_der(der: bytes) -> CertificateFacts:
    """The facts of one DER certificate (for reports about trust roots); ``ValueError`` when it is not one."""
    try:
        return _certificate_facts_of_der(bytes(der))
    except ValueError:
        raise
    except Exception as err:  # asn1crypto parses lazily: a broken certificate fails on first use
        raise ValueError(f"not a certificate: {err}") from err


def path_facts(path: ValidationPath | None) -> tuple[tuple[CertificateFacts, ...], CertificateFacts | None]:
    """The validated path from the signer up to the anchor, and the anchor; nothing when no path was found."""
    if path is None:
        return (), None
    certs = [certificate_facts(c) for c in path.iter_certs(include_root=True) if isinstance(c, x509.Certificate)]
    anchor_cert = getattr(path.trust_anchor, "certificate", None)
    anchor = certificate_facts(anchor_cert) if isinstance(anchor_cert, x509.Certificate) else None
    # The chain is shown from the signer up.
    return tuple(reversed(certs)), anchor


def embedded_chain(signer: x509.Certificate, others: list[x509.Certificate]) -> tuple[CertificateFacts, ...]:
    """The chain the signature carries, followed by issuer names (shown when no trusted path was found)."""
    chain = [signer]
    by_subject = {c.subject.dump(): c for c in others}
    current = signer
    while not _self_issued(current) and len(chain) < 10:
        issuer = by_subject.get(current.issuer.dump())
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return tuple(certificate_facts(c) for c in chain)
