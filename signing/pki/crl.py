"""Certificate revocation lists (RFC 5280 §5), signed in the token by the CA that issued the certificates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import crl, x509

from signing.keystore import KeyStore
from signing.pki.builder import IssuerKey, key_identifier, signature_algorithm, x509_time

__all__ = ["REVOCATION_REASONS", "RevokedEntry", "build_crl"]

# The reasons `antin pki revoke --reason` accepts (RFC 5280 CRLReason, kebab-case); certificateHold is left out
# on purpose: a suspended official gets a new certificate, never an un-revoked one.
REVOCATION_REASONS = (
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "privilege-withdrawn",
)


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: str  # one of REVOCATION_REASONS


def build_crl(
    keystore: KeyStore,
    *,
    issuer: IssuerKey,
    issuer_name: x509.Name,
    number: int,
    this_update: datetime,
    next_update: datetime,
    revoked: Sequence[RevokedEntry],
) -> crl.CertificateList:
    sig_alg = signature_algorithm(issuer.public_key)
    entries = [
        {
            "user_certificate": entry.serial,
            "revocation_date": x509_time(entry.revoked_at.replace(microsecond=0)),
            "crl_entry_extensions": [
                {"extn_id": "crl_reason", "critical": False, "extn_value": entry.reason.replace("-", "_")}
            ],
        }
        for entry in revoked
    ]
    tbs = crl.TbsCertList(
        {
            "version": "v2",
            "signature": sig_alg,
            "issuer": issuer_name,
            "this_update": x509_time(this_update.replace(microsecond=0)),
            "next_update": x509_time(next_update.replace(microsecond=0)),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": number},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": issuer.key_identifier or key_identifier(issuer.public_key)},
                },
            ],
        }
    )
    signature = keystore.sign(issuer.label, tbs.dump(), "sha256")
    return crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": sig_alg, "signature": signature})
