"""The platform's PKI: certification authority, certificate profiles, CRLs and the OCSP responder."""

from signing.pki.authority import CaChain, CertificateAuthority, CertificateInfo, RevocationMaterial, load_certificates
from signing.pki.crl import REVOCATION_REASONS
from signing.pki.profiles import PkiUrls
from signing.pki.renewal import RENEWABLE_ROLES, Renewal

__all__ = [
    "RENEWABLE_ROLES",
    "REVOCATION_REASONS",
    "CaChain",
    "CertificateAuthority",
    "CertificateInfo",
    "PkiUrls",
    "Renewal",
    "RevocationMaterial",
    "load_certificates",
]
