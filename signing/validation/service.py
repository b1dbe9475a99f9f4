"""Verify a PDF: refuse unusable input early and cheaply, then read, judge and report.

Both entry points check size and header before anything else, so that a 200 MB upload or a file that is not a
PDF is refused in microseconds without being read into memory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from antin.kernel.settings import Settings
from signing.pades import reading
from signing.pades.reading.errors import UnusableInputError
from signing.pades.reading.policy import ValidationPolicy
from signing.settings import SigningSettings
from signing.validation.indications import judge_document
from signing.validation.models import DocumentReport
from signing.validation.trust_list import trust_list_dir

__all__ = [
    "DEFAULT_MAX_BYTES",
    "load_trust_roots",
    "platform_root_files",
    "policy_from_settings",
    "trust_state",
    "verify_bytes",
    "verify_file",
    "verify_stream",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# A PDF header may follow up to 1 KiB of junk (ISO 32000-2, 7.5.2 tolerance that readers implement).
_HEADER_WINDOW = 1024


def platform_root_files(settings: Settings) -> list[Path]:
    """The platform CA's root certificate, written by ``signing.pki`` into ``<data_dir>/pki/root-ca.pem``, and the
    outside CAs the operator trusts (``antin pki trust add``, :mod:`signing.validation.trust_list`)."""
    path = settings.data_dir / "pki" / "root-ca.pem"
    trusted = trust_list_dir(settings)
    outside = sorted(trusted.glob("*.pem")) if trusted.is_dir() else []
    return ([path] if path.is_file() else []) + outside


def trust_state(settings: Settings) -> tuple[float, float]:
    """Changes when the platform root or the trust list changes (a cached policy is then built again)."""
    stamps = []
    for path in (settings.data_dir / "pki" / "root-ca.pem", trust_list_dir(settings)):
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:
            stamps.append(0.0)
    return stamps[0], stamps[1]


def load_trust_roots(paths: Iterable[Path]) -> tuple[bytes, ...]:
    """DER certificates from PEM (one or many per file) or DER files; a bad file raises ``ValueError``."""
    out: list[bytes] = []
    for path in paths:
        data = Path(path).read_bytes()
        try:
            if b"-----BEGIN" in data:
                certs = x509.load_pem_x509_certificates(data)
            else:
                certs = [x509.load_der_x509_certificate(data)]
        except ValueError as err:
            raise ValueError(f"{path}: not a PEM or DER certificate ({err})") from None
        out.extend(c.public_bytes(Encoding.DER) for c in certs)
    return tuple(dict.fromkeys(out))


def policy_from_settings(settings: Settings, extra_roots: Sequence[Path] = ()) -> ValidationPolicy:
    """The policy of this instance: the platform CA, ``ANTIN_SIGNING_TRUST_ROOTS`` and ``extra_roots``."""
    roots = load_trust_roots(
        [*platform_root_files(settings), *settings.section(SigningSettings).trust_roots, *extra_roots]
    )
    signing = settings.section(SigningSettings)
    return ValidationPolicy(
        trust_roots=roots,
        fetch_revocation=signing.verify_fetch_revocation,
        max_revocation_bytes=signing.verify_revocation_max_mb * 1024 * 1024,
        max_revocation_items=signing.verify_revocation_max_items,
        max_dss_certificates=signing.verify_dss_max_certificates,
    )


def _check_header(head: bytes) -> None:
    if b"%PDF-" not in head[:_HEADER_WINDOW]:
        raise UnusableInputError("not-pdf", "no %PDF- header")


def verify_stream(
    stream: IO[bytes],
    size: int,
    policy: ValidationPolicy,
    *,
    file_name: str = "document.pdf",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DocumentReport:
    """Verify ``size`` bytes of a seekable binary stream."""
    if size == 0:
        raise UnusableInputError("empty")
    if size > max_bytes:
        raise UnusableInputError("too-large", f"{size} bytes; the limit is {max_bytes}")
    stream.seek(0)
    _check_header(stream.read(_HEADER_WINDOW))
    moment = policy.validation_time or datetime.now(UTC)
    facts = reading.examine_pdf(stream, size, policy)  # pyHanko loads with the first document verified
    anchors = []
    for der in policy.trust_roots:
        try:
            anchors.append(reading.certificate_facts_from_der(der))
        except ValueError:
            continue
    return judge_document(facts, policy, file_name=file_name, validation_time=moment, trust_anchors=anchors)


def verify_file(path: Path, policy: ValidationPolicy, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DocumentReport:
    """Verify a file on disk; its size is checked before it is opened for reading."""
    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise UnusableInputError("unreadable", f"{path}: {err.strerror}") from None
    if size > max_bytes:
        raise UnusableInputError("too-large", f"{size} bytes; the limit is {max_bytes}")
    with open(path, "rb") as fh:
        return verify_stream(fh, size, policy, file_name=Path(path).name, max_bytes=max_bytes)


def verify_bytes(
    data: bytes, policy: ValidationPolicy, *, file_name: str = "document.pdf", max_bytes: int = DEFAULT_MAX_BYTES
) -> DocumentReport:
    """Verify a document held in memory (an upload already bounded by the size limit)."""
    return verify_stream(io.BytesIO(data), len(data), policy, file_name=file_name, max_bytes=max_bytes)
