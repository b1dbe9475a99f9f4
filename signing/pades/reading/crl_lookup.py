"""A large CRL searched by serial number in ``cryptography``'s Rust parser instead of entry by entry.

pyhanko-certvalidator 0.33 looks a certificate up in a CRL by walking every entry in Python (``find_cert_in_list``
in ``pyhanko_certvalidator.revinfo.validate_crl``): 7 s for 100,000 entries on a busy machine, on every
verification, since a CRL that large is not cached (:mod:`.dss`). For a CRL :func:`indexed` was given, the
replacement asks ``cryptography`` first; when the serial number is absent it answers "not revoked" at once, exactly
what the walk would have answered, and in every other case (the serial found, a certificate of another issuer, an
indirect CRL whose entries name issuers of their own, an attribute certificate) it runs pyHanko's own walk. It is
installed when ``signing.pades.reading`` is imported; nothing changes for a CRL that was not indexed.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import x509 as asn1_x509
from asn1crypto.crl import CertificateList, CRLEntryExtensionId
from cryptography import x509
from pyhanko_certvalidator.revinfo import validate_crl

__all__ = ["indexed", "install"]

_ATTRIBUTE = "_antin_serial_index"
# An entry with this extension names the issuer of the entries after it (an indirect CRL): those must be walked.
_CERTIFICATE_ISSUER = CRLEntryExtensionId("certificate_issuer").dump()
_walk = validate_crl.find_cert_in_list


def indexed(der: bytes) -> CertificateList:
    """``der`` parsed lazily by asn1crypto, with ``cryptography``'s parse kept beside it for the lookup.

    Raises ``ValueError`` when ``cryptography`` cannot read it as a CRL: asn1crypto's lazy parse accepts any
    SEQUENCE, and pyHanko, sorting the CRLs by date, then parses whatever it holds element by element (a 4 MB
    "CRL" of zeros is two million of them: +340 MB and 3 s).
    """
    parsed = x509.load_der_x509_crl(der)
    crl = CertificateList.load(der)
    if _CERTIFICATE_ISSUER not in der:
        setattr(crl, _ATTRIBUTE, parsed)
    return crl


def _find_cert_in_list(
    cert: Any, cert_issuer_name: asn1_x509.Name, certificate_list: CertificateList, crl_authority_name: asn1_x509.Name
) -> tuple[Any, Any]:
    index = getattr(certificate_list, _ATTRIBUTE, None)
    if (
        index is not None
        and isinstance(cert, asn1_x509.Certificate)
        and cert_issuer_name.dump() == crl_authority_name.dump()
        and index.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    ):
        return None, None
    return _walk(cert, cert_issuer_name, certificate_list, crl_authority_name)  # type: ignore[no-any-return]


def install() -> None:
    """Route pyHanko's CRL lookup through the index (idempotent)."""
    validate_crl.find_cert_in_list = _find_cert_in_list
