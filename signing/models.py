"""What the signing package stores in SQL: keys, certificates, CRLs, time-stamp serial numbers and signatures made.

Private keys are never here: a :class:`SigningKey` row names a key held in the PKCS#11 token by its label.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, utcnow

__all__ = [
    "CertificateRole",
    "CertificateStatus",
    "CrlRecord",
    "CscGrant",
    "PkiCertificate",
    "SignatureRecord",
    "SigningKey",
    "SoleControlRecord",
    "TimestampRecord",
    "aware",
]


class CertificateRole:
    """What a certificate is for (the ``role`` column)."""

    ROOT_CA = "root-ca"
    ISSUING_CA = "issuing-ca"
    OCSP = "ocsp"
    TSA = "tsa"
    PERSON = "person"
    SEAL = "seal"
    EXTERNAL_CA = "external-ca"  # a CA certificate of an outside PKI, kept to build chains

    ALL = (ROOT_CA, ISSUING_CA, OCSP, TSA, PERSON, SEAL, EXTERNAL_CA)


class CertificateStatus:
    VALID = "valid"
    REVOKED = "revoked"


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes: every datetime this package stores is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SigningKey(Base):
    """A key pair in the token, by label; ``owner`` is ``uid:<login>``, ``unit:<code>`` or ``ca:<role>``."""

    __tablename__ = "signing_key"

    label: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PkiCertificate(Base):
    """A certificate issued by (or imported into) the platform's PKI."""

    __tablename__ = "signing_certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)  # lower-case hex, no leading zeros
    role: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(Text)  # human-readable, RFC 4514 order
    subject_uid: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    unit_code: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    # a seal's unit's entryUUID when issued: a new unit given a deleted unit's code is not sealed with its key
    # (directory.unit_identity); "" for a seal whose unit was gone when first bound, None until bound
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    issuer_serial: Mapped[str | None] = mapped_column(String(64), default=None)
    key_label: Mapped[str | None] = mapped_column(ForeignKey("signing_key.label"), default=None)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.VALID)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CrlRecord(Base):
    """A CRL as issued; ``id`` is the CRL number, so numbers increase across restarts and workers."""

    __tablename__ = "signing_crl"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_serial: Mapped[str] = mapped_column(String(64), index=True)
    this_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_update: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    der: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class TimestampRecord(Base):
    """One RFC 3161 time-stamp token issued; ``id`` is its serial number (unique across restarts and workers)."""

    __tablename__ = "signing_timestamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gen_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hash_algorithm: Mapped[str] = mapped_column(String(16))
    message_imprint: Mapped[str] = mapped_column(String(128))  # hex


class SignatureRecord(Base):
    """A signature the platform made; its ``id`` is the reference in the appearance's QR code."""

    __tablename__ = "signing_signature"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    signer_uid: Mapped[str] = mapped_column(String(255), index=True)
    certificate_serial: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "person" or "seal"
    unit_code: Mapped[str | None] = mapped_column(String(255), default=None)
    level: Mapped[str] = mapped_column(String(8))
    certify: Mapped[bool] = mapped_column(default=False)
    field_name: Mapped[str] = mapped_column(String(255))
    document_name: Mapped[str] = mapped_column(String(255), default="")
    input_sha256: Mapped[str] = mapped_column(String(64))
    output_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SoleControlRecord(Base):
    """A pending (then used) authorisation of the HSM key by its official's WebAuthn assertion.

    The assertion's challenge is SHA-256(nonce || the digest list): the row keeps both, so that the challenge is
    recomputed, never stored. ``used_at`` is set by one conditional UPDATE: an authorisation is used once.
    """

    __tablename__ = "signing_sole_control"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)  # random, URL-safe
    official: Mapped[str] = mapped_column(String(64), index=True)  # the official's sub (entryUUID)
    purpose: Mapped[str] = mapped_column(String(64))  # what asked for it ("document", "csc"…), for the audit
    digests: Mapped[str] = mapped_column(Text)  # the SHA-256 digests, hex, space-separated, in the order given
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CscGrant(Base):
    """A CSC credential authorisation (``oauth2/authorize``, scope ``credential``): its code, then its SAD.

    Written only after the official's WebAuthn assertion over the hashes was accepted (``authorisation_id`` is
    the :class:`SoleControlRecord` it used). The code and the SAD are kept as SHA-256 digests; each is claimed once
    by a conditional UPDATE (``exchanged_at``, ``used_at``).
    """

    __tablename__ = "signing_csc_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authorisation_id: Mapped[str] = mapped_column(String(43), unique=True)
    official: Mapped[str] = mapped_column(String(64), index=True)  # sub (entryUUID)
    client_id: Mapped[str] = mapped_column(String(255))
    credential_id: Mapped[str] = mapped_column(String(64))  # the certificate's serial
    hashes: Mapped[str] = mapped_column(Text)  # hex, space-separated, in the order authorised
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)  # PKCE S256
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exchanged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    sad_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    sad_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
