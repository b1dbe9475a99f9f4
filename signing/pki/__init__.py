"""The platform's PKI: certification authority, certificate profiles, CRLs and the OCSP responder."""

from signing.pki.authority import CaChain, CertificateAuthority, CertificateInfo, RevocationMaterial, load_certificates
from signing.pki.crl import REVOCATION_REASONS
from signing.pki.profiles import PkiUrls

__all__ = [
    "REVOCATION_REASONS",
    "CaChain",
    "CertificateAuthority",
    "CertificateInfo",
    "PkiUrls",
    "RevocationMaterial",
    "load_certificates",
]
