"""The operator's trust list: outside CAs (the national government CA system, another PKI) that verification trusts.

Each CA certificate is a PEM file named by its SHA-256 fingerprint in ``<data_dir>/pki/trusted/``, beside the
platform's own root; :func:`~signing.validation.service.policy_from_settings` reads them with the
``signing.trust_roots`` files. ``antin pki trust add|list|remove`` keep the folder; the /verify page notices a
change by the folder's modification time and builds its policy again. Only CA certificates are accepted: a trust
anchor that is an end-entity certificate would make any signature with that one key "trusted".
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from antin.kernel.settings import Settings

__all__ = ["TrustListError", "TrustedCa", "add_trusted", "list_trusted", "remove_trusted", "trust_list_dir"]


class TrustListError(ValueError):
    """A file that cannot join the trust list, or a fingerprint that names no (or more than one) entry."""


@dataclass(frozen=True)
class TrustedCa:
    fingerprint: str  # SHA-256 of the DER certificate, lower-case hex
    subject: str
    not_after: datetime
    path: Path

    def to_json(self) -> dict[str, str]:
        return {"sha256": self.fingerprint, "subject": self.subject, "not_after": self.not_after.isoformat()}


def trust_list_dir(settings: Settings) -> Path:
    return settings.data_dir / "pki" / "trusted"


def _entry(cert: x509.Certificate, path: Path) -> TrustedCa:
    fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    return TrustedCa(fingerprint, cert.subject.rfc4514_string(), cert.not_valid_after_utc, path)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def add_trusted(settings: Settings, data: bytes, *, source: str = "") -> list[TrustedCa]:
    """Add the CA certificate(s) in ``data`` (PEM, one or many, or DER); return the entries added or present."""
    try:
        certs = (
            x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
        )
    except ValueError as err:
        raise TrustListError(f"{source or 'the file'}: not a PEM or DER certificate ({err})") from None
    refused = [c.subject.rfc4514_string() for c in certs if not _is_ca(c)]
    if refused:
        raise TrustListError(f"not a CA certificate (basicConstraints cA is not set): {'; '.join(refused)}")
    folder = trust_list_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    added = []
    for cert in certs:
        entry = _entry(cert, folder / "placeholder")
        path = folder / f"{entry.fingerprint}.pem"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(cert.public_bytes(Encoding.PEM))
        os.replace(temporary, path)  # whole or absent: verification may read the folder meanwhile
        added.append(_entry(cert, path))
    return added


def list_trusted(settings: Settings) -> list[TrustedCa]:
    folder = trust_list_dir(settings)
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.pem")):
        try:
            entries.append(_entry(x509.load_pem_x509_certificate(path.read_bytes()), path))
        except ValueError:
            continue  # not ours to judge here: verification reports a bad file when it loads the list
    return entries


def remove_trusted(settings: Settings, fingerprint: str) -> TrustedCa:
    """Remove the entry whose SHA-256 fingerprint is (or starts with, at least 8 digits) ``fingerprint``."""
    wanted = fingerprint.lower().replace(":", "").strip()
    if len(wanted) < 8:
        raise TrustListError("give at least the first 8 hex digits of the SHA-256 fingerprint")
    matches = [e for e in list_trusted(settings) if e.fingerprint.startswith(wanted)]
    if not matches:
        raise TrustListError(f"no trusted CA has the fingerprint {wanted}")
    if len(matches) > 1:
        raise TrustListError(f"{len(matches)} trusted CAs start with {wanted}: give more digits")
    matches[0].path.unlink()
    return matches[0]
