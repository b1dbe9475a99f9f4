"""The platform's certification authority: root and issuing CA, OCSP and TSA certificates, officials' and seal
certificates, revocation, CRLs and OCSP answers.

In the embedded default the root and issuing CA are generated on first start, their keys in the token, their
certificates in the database and as PEM files in ``<data_dir>/pki/``. In production an issuing CA whose key is in
the HSM is imported instead (``antin pki import-ca``), with the outside root as trust anchor.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import pem, x509
from sqlalchemy import select

from antin.kernel.database import Database, utcnow
from directory.models import Person, UnitRef
from signing.errors import (
    CertificateNotFoundError,
    CertificateRevokedError,
    InvalidRequestError,
    PkiError,
    PkiNotInitialisedError,
    SignerNotAllowedError,
)
from signing.keystore import KeyAlgorithm, KeyStore
from signing.models import CertificateRole, CertificateStatus, CrlRecord, PkiCertificate, SigningKey, aware
from signing.pki.builder import (
    IssuerKey,
    build_certificate,
    build_csr,
    build_name,
    key_identifier,
    new_serial,
    serial_hex,
)
from signing.pki.crl import REVOCATION_REASONS, RevokedEntry, build_crl
from signing.pki.ocsp import CertStatus, OcspAuthority, OcspResponder
from signing.pki.profiles import (
    COUNTRY,
    PkiUrls,
    ca_extensions,
    end_entity_extensions,
    ocsp_signer_extensions,
    person_subject,
    seal_subject,
    tsa_extensions,
)

__all__ = ["CaChain", "CertificateAuthority", "CertificateInfo", "RevocationMaterial", "load_certificates"]

ROOT_LABEL = "antin-root-ca"
ISSUING_LABEL = "antin-issuing-ca"
CRL_LIFETIME = timedelta(days=7)
# A CRL is re-issued when less than this is left of its life, or when a revocation is newer than it.
CRL_REFRESH_MARGIN = timedelta(days=6)
REVOCATION_CACHE_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate as the CLI and API show it."""

    serial: str
    role: str
    subject: str
    subject_uid: str | None
    unit_code: str | None
    issuer_serial: str | None
    key_label: str | None
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    der: bytes

    @classmethod
    def of(cls, row: PkiCertificate) -> CertificateInfo:
        return cls(
            serial=row.serial,
            role=row.role,
            subject=row.subject,
            subject_uid=row.subject_uid,
            unit_code=row.unit_code,
            issuer_serial=row.issuer_serial,
            key_label=row.key_label,
            not_before=aware(row.not_before),
            not_after=aware(row.not_after),
            status=row.status,
            revoked_at=aware(row.revoked_at) if row.revoked_at else None,
            revocation_reason=row.revocation_reason,
            der=row.der,
        )

    @property
    def certificate(self) -> x509.Certificate:
        return x509.Certificate.load(self.der)

    @property
    def pem(self) -> str:
        return str(pem.armor("CERTIFICATE", self.der).decode())

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "role": self.role,
            "subject": self.subject,
            "uid": self.subject_uid,
            "unit": self.unit_code,
            "issuer_serial": self.issuer_serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "pem": self.pem,
        }


@dataclass(frozen=True)
class CaChain:
    """The CA certificates in use and the labels of the keys that sign with them."""

    root: x509.Certificate
    root_key: IssuerKey | None  # None when the root is an outside CA's
    issuing: x509.Certificate
    issuing_key: IssuerKey
    ocsp: x509.Certificate | None
    ocsp_label: str | None
    tsa: x509.Certificate | None
    tsa_label: str | None
    extra: tuple[x509.Certificate, ...] = ()  # other outside CA certificates (between issuing CA and root)

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.root]


@dataclass(frozen=True)
class RevocationMaterial:
    """Everything a validator needs offline about a chain: DER certificates, OCSP responses and CRLs."""

    trust_roots: tuple[bytes, ...]
    certificates: tuple[bytes, ...]
    ocsp_responses: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    complete: bool  # False when a certificate of the chain is not ours: a validator must fetch the rest online


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or several) or DER bytes; :class:`PkiError` when there are none."""
    try:
        if pem.detect(data):
            return [
                x509.Certificate.load(der)
                for kind, _h, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"
            ]
        return [x509.Certificate.load(data)]
    except (ValueError, TypeError) as err:
        raise PkiError(f"not a certificate: {err}") from None


def _subject_text(cert: x509.Certificate) -> str:
    return str(cert.subject.human_friendly)


def _serial(cert: x509.Certificate) -> str:
    return serial_hex(cert.serial_number)


class CertificateAuthority:
    def __init__(
        self,
        database: Database,
        keystore: KeyStore,
        *,
        urls: PkiUrls,
        key_algorithm: KeyAlgorithm = "ec-p256",
        ca_name: str = "Ấn Tín",
        organisation: str = "Đảng Cộng sản Việt Nam",
        pem_dir: Path | None = None,
        certificate_days: int = 730,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.keystore = keystore
        self.urls = urls
        self.key_algorithm: KeyAlgorithm = key_algorithm
        self.ca_name = ca_name
        self.organisation = organisation
        self.pem_dir = pem_dir
        self.certificate_days = certificate_days
        self.clock = clock
        self._chain: CaChain | None = None
        self._ocsp: OcspResponder | None = None
        self._revocation_cache: dict[tuple[bytes, ...], tuple[datetime, RevocationMaterial]] = {}
        self._lock = threading.RLock()

    # -- the CA chain ------------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        try:
            self.chain()
        except PkiNotInitialisedError:
            return False
        return True

    def chain(self) -> CaChain:
        with self._lock:
            if self._chain is None:
                self._chain = self._load_chain()
            return self._chain

    def _load_chain(self) -> CaChain:
        with self.database.session() as s:
            rows = {
                role: s.scalars(
                    select(PkiCertificate)
                    .where(PkiCertificate.role == role, PkiCertificate.status == CertificateStatus.VALID)
                    .order_by(PkiCertificate.id.desc())
                ).first()
                for role in (
                    CertificateRole.ROOT_CA,
                    CertificateRole.ISSUING_CA,
                    CertificateRole.OCSP,
                    CertificateRole.TSA,
                )
            }
            extra = s.scalars(select(PkiCertificate).where(PkiCertificate.role == CertificateRole.EXTERNAL_CA)).all()
            root, issuing = rows[CertificateRole.ROOT_CA], rows[CertificateRole.ISSUING_CA]
            if root is None or issuing is None or issuing.key_label is None:
                raise PkiNotInitialisedError()
            ocsp_row, tsa_row = rows[CertificateRole.OCSP], rows[CertificateRole.TSA]
            root_cert = x509.Certificate.load(root.der)
            issuing_cert = x509.Certificate.load(issuing.der)
            return CaChain(
                root=root_cert,
                root_key=self._issuer_key(root.key_label, root_cert) if root.key_label else None,
                issuing=issuing_cert,
                issuing_key=self._issuer_key(issuing.key_label, issuing_cert),
                ocsp=x509.Certificate.load(ocsp_row.der) if ocsp_row else None,
                ocsp_label=ocsp_row.key_label if ocsp_row else None,
                tsa=x509.Certificate.load(tsa_row.der) if tsa_row else None,
                tsa_label=tsa_row.key_label if tsa_row else None,
                extra=tuple(x509.Certificate.load(r.der) for r in extra),
            )

    @staticmethod
    def _issuer_key(label: str, cert: x509.Certificate) -> IssuerKey:
        return IssuerKey(
            label=label,
            public_key=cert.public_key.dump(),
            name=cert.subject,
            key_identifier=cert.key_identifier or key_identifier(cert.public_key.dump()),
        )

    def _forget_chain(self) -> None:
        with self._lock:
            self._chain = None
            self._ocsp = None
            self._revocation_cache.clear()

    def initialise(self) -> list[CertificateInfo]:
        """Create whatever is missing of root CA, issuing CA, OCSP responder and TSA certificates (idempotent)."""
        created: list[CertificateInfo] = []
        with self._lock:
            now = self.clock()
            root = self._current(CertificateRole.ROOT_CA)
            if root is None:
                label = self._ensure_key(ROOT_LABEL, "ca:root")
                public = self.keystore.public_key(label)
                subject = build_name(
                    [
                        ("country_name", COUNTRY),
                        ("organization_name", self.organisation),
                        ("common_name", f"{self.ca_name} Root CA"),
                    ]
                )
                cert = build_certificate(
                    self.keystore,
                    issuer=IssuerKey(label=label, public_key=public),
                    subject=subject,
                    public_key=public,
                    serial=new_serial(),
                    not_before=now - timedelta(minutes=5),
                    not_after=now + timedelta(days=20 * 365),
                    extensions=ca_extensions(path_length=None, urls=None, issuer_name=None),
                )
                root = self._store(cert, CertificateRole.ROOT_CA, key_label=label, issuer_serial=None)
                created.append(root)
            if self._current(CertificateRole.ISSUING_CA) is None:
                if root.key_label is None:
                    raise PkiNotInitialisedError()
                label = self._ensure_key(ISSUING_LABEL, "ca:issuing")
                public = self.keystore.public_key(label)
                subject = build_name(
                    [
                        ("country_name", COUNTRY),
                        ("organization_name", self.organisation),
                        ("common_name", f"{self.ca_name} Issuing CA"),
                    ]
                )
                root_cert = root.certificate
                cert = build_certificate(
                    self.keystore,
                    issuer=self._issuer_key(root.key_label, root_cert),
                    subject=subject,
                    public_key=public,
                    serial=new_serial(),
                    not_before=now - timedelta(minutes=5),
                    not_after=now + timedelta(days=10 * 365),
                    extensions=ca_extensions(path_length=0, urls=self.urls, issuer_name="root"),
                )
                created.append(
                    self._store(cert, CertificateRole.ISSUING_CA, key_label=label, issuer_serial=root.serial)
                )
            self._forget_chain()
            created.extend(self._ensure_service_certificates())
            self._forget_chain()
            self._write_pem_files()
            self._publish_crls()
        return created

    def _ensure_service_certificates(self) -> list[CertificateInfo]:
        created = []
        chain = self.chain()
        now = self.clock()
        for role, common_name, extensions, days in (
            (
                CertificateRole.OCSP,
                f"{self.ca_name} OCSP Responder",
                ocsp_signer_extensions(self.urls, "issuing"),
                2 * 365,
            ),
            (
                CertificateRole.TSA,
                f"{self.ca_name} Time-Stamping Authority",
                tsa_extensions(self.urls, "issuing"),
                5 * 365,
            ),
        ):
            if self._current(role) is not None:
                continue
            label = self._ensure_key(f"antin-{role}-{secrets.token_hex(4)}", f"ca:{role}")
            public = self.keystore.public_key(label)
            subject = build_name(
                [("country_name", COUNTRY), ("organization_name", self.organisation), ("common_name", common_name)]
            )
            cert = build_certificate(
                self.keystore,
                issuer=chain.issuing_key,
                subject=subject,
                public_key=public,
                serial=new_serial(),
                not_before=now - timedelta(minutes=5),
                not_after=min(now + timedelta(days=days), chain.issuing.not_valid_after),
                extensions=extensions,
            )
            created.append(self._store(cert, role, key_label=label, issuer_serial=_serial(chain.issuing)))
        return created

    def import_ca(self, certificate: bytes, chain: bytes = b"", key_label: str | None = None) -> list[CertificateInfo]:
        """Make an outside-issued CA certificate, whose key is already in the token, the issuing CA.

        ``chain`` holds the outside root (self-signed: the trust anchor) and any CA certificates in between. The
        previous CA certificates are kept to build the chains of earlier signatures; the previous OCSP responder
        and TSA certificates are superseded, and new ones are issued under the imported CA.
        """
        issuing = load_certificates(certificate)[0]
        if not issuing.ca:
            raise PkiError("the certificate to import is not a CA certificate (basicConstraints cA is false)")
        others = load_certificates(chain) if chain else []
        roots = [c for c in others if c.self_signed in ("yes", "maybe")]
        if not roots:
            raise PkiError("give the outside root certificate with --chain (it becomes the trust anchor)")
        root = roots[0]
        public = issuing.public_key.dump()
        label = key_label or self._label_for_public_key(public)
        if label is None or not self.keystore.has_key(label):
            raise PkiError(
                "the CA's private key is not in the token: import it with the HSM's tools and pass --key-label"
            )
        if self.keystore.public_key(label) != public:
            raise PkiError(f"the key {label!r} in the token does not match the certificate")
        now = self.clock().replace(microsecond=0)
        with self._lock, self.database.session() as s:
            for row in s.scalars(select(PkiCertificate).where(PkiCertificate.status == CertificateStatus.VALID)):
                if row.role in (CertificateRole.ROOT_CA, CertificateRole.ISSUING_CA):
                    row.role = CertificateRole.EXTERNAL_CA
                elif row.role in (CertificateRole.OCSP, CertificateRole.TSA):
                    row.status, row.revoked_at, row.revocation_reason = CertificateStatus.REVOKED, now, "superseded"
            if s.get(SigningKey, label) is None:
                s.add(SigningKey(label=label, owner="ca:issuing", algorithm="imported", public_key=public))
        created = [self._store(root, CertificateRole.ROOT_CA, key_label=None, issuer_serial=None, replace=True)]
        for other in others:
            if other.dump() != root.dump():
                created.append(self._store(other, CertificateRole.EXTERNAL_CA, key_label=None, issuer_serial=None))
        parent = next((c for c in others if c.subject == issuing.issuer), root)
        created.append(
            self._store(
                issuing, CertificateRole.ISSUING_CA, key_label=label, issuer_serial=_serial(parent), replace=True
            )
        )
        self._forget_chain()
        created.extend(self._ensure_service_certificates())
        self._forget_chain()
        self._write_pem_files()
        self._publish_crls()
        return created

    def _publish_crls(self) -> None:
        """Issue the first CRLs with the CA: validators that judge a signature at its own time want revocation
        data older than it, so a CRL must exist before the first signature, not appear when first asked for."""
        chain = self.chain()
        self.crl("issuing")
        if chain.root_key is not None:
            self.crl("root")

    def _write_pem_files(self) -> None:
        if self.pem_dir is None:
            return
        chain = self.chain()
        self.pem_dir.mkdir(parents=True, exist_ok=True)
        files = {
            "root-ca.pem": [chain.root],
            "issuing-ca.pem": [chain.issuing],
            "ca-chain.pem": [chain.issuing, *chain.extra, chain.root],
        }
        if chain.ocsp:
            files["ocsp.pem"] = [chain.ocsp]
        if chain.tsa:
            files["tsa.pem"] = [chain.tsa]
        for name, certs in files.items():
            (self.pem_dir / name).write_text("".join(pem.armor("CERTIFICATE", c.dump()).decode() for c in certs))

    # -- storage helpers ---------------------------------------------------------------------------------

    def _ensure_key(self, label: str, owner: str) -> str:
        if not self.keystore.has_key(label):
            public = self.keystore.generate_key(label, self.key_algorithm)
            with self.database.session() as s:
                if s.get(SigningKey, label) is None:
                    s.add(SigningKey(label=label, owner=owner, algorithm=self.key_algorithm, public_key=public))
        return label

    def _label_for_public_key(self, public_key: bytes) -> str | None:
        with self.database.session() as s:
            row = s.scalars(select(SigningKey).where(SigningKey.public_key == public_key)).first()
            return row.label if row else None

    def _current(self, role: str) -> CertificateInfo | None:
        with self.database.session() as s:
            row = s.scalars(
                select(PkiCertificate)
                .where(PkiCertificate.role == role, PkiCertificate.status == CertificateStatus.VALID)
                .order_by(PkiCertificate.id.desc())
            ).first()
            return CertificateInfo.of(row) if row else None

    def _store(
        self,
        cert: x509.Certificate,
        role: str,
        *,
        key_label: str | None,
        issuer_serial: str | None,
        uid: str | None = None,
        unit_code: str | None = None,
        replace: bool = False,
    ) -> CertificateInfo:
        with self.database.session() as s:
            existing = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == _serial(cert))).first()
            if existing is not None:
                if not replace and existing.der == cert.dump() and existing.role == role:
                    return CertificateInfo.of(existing)
                s.delete(existing)
                s.flush()
            row = PkiCertificate(
                serial=_serial(cert),
                role=role,
                subject=_subject_text(cert),
                subject_uid=uid,
                unit_code=unit_code,
                issuer_serial=issuer_serial,
                key_label=key_label,
                der=cert.dump(),
                not_before=cert.not_valid_before,
                not_after=cert.not_valid_after,
                status=CertificateStatus.VALID,
            )
            s.add(row)
            s.flush()
            info = CertificateInfo.of(row)
        if key_label is not None and self.keystore.has_key(key_label):
            self.keystore.store_certificate(key_label, cert.dump())
        return info

    # -- end-entity certificates -------------------------------------------------------------------------

    def issue_for_person(self, person: Person) -> CertificateInfo:
        """A new signing certificate for an official, its key generated in the token; the previous one is superseded."""
        if not person.active:
            raise SignerNotAllowedError(person.uid, "the account is not active")
        label = self._ensure_key(f"person-{person.uid}-{secrets.token_hex(6)}", f"uid:{person.uid}")
        public = self.keystore.public_key(label)
        cert = self._issue(
            person_subject(person, self.organisation),
            public,
            end_entity_extensions(self.urls, "issuing", email=person.mail),
        )
        previous = self.certificates(role=CertificateRole.PERSON, uid=person.uid, valid_only=True)
        info = self._store(
            cert, CertificateRole.PERSON, key_label=label, issuer_serial=_serial(self.chain().issuing), uid=person.uid
        )
        for old in previous:
            self.revoke(old.serial, "superseded")
        return info

    def issue_seal(self, unit: UnitRef, path_above: Sequence[UnitRef] = ()) -> CertificateInfo:
        """A new seal certificate for a unit (``path_above``: the units above it, top down)."""
        label = self._ensure_key(f"seal-{unit.code}-{secrets.token_hex(6)}", f"unit:{unit.code}")
        public = self.keystore.public_key(label)
        cert = self._issue(
            seal_subject(unit, path_above, self.organisation), public, end_entity_extensions(self.urls, "issuing")
        )
        previous = self.certificates(role=CertificateRole.SEAL, unit_code=unit.code, valid_only=True)
        info = self._store(
            cert,
            CertificateRole.SEAL,
            key_label=label,
            issuer_serial=_serial(self.chain().issuing),
            unit_code=unit.code,
        )
        for old in previous:
            self.revoke(old.serial, "superseded")
        return info

    def _issue(self, subject: x509.Name, public_key: bytes, extensions: list[dict[str, Any]]) -> x509.Certificate:
        chain = self.chain()
        now = self.clock()
        return build_certificate(
            self.keystore,
            issuer=chain.issuing_key,
            subject=subject,
            public_key=public_key,
            serial=new_serial(),
            not_before=now - timedelta(minutes=5),
            not_after=min(now + timedelta(days=self.certificate_days), chain.issuing.not_valid_after),
            extensions=extensions,
        )

    def csr_for_person(self, person: Person) -> str:
        """A key generated in the token for ``person`` and a PKCS#10 request (PEM) for an outside CA to sign."""
        label = self._ensure_key(f"person-{person.uid}-{secrets.token_hex(6)}", f"uid:{person.uid}")
        public = self.keystore.public_key(label)
        request = build_csr(
            self.keystore, label=label, subject=person_subject(person, self.organisation), public_key=public
        )
        return str(pem.armor("CERTIFICATE REQUEST", request.dump()).decode())

    def import_certificate(self, certificate: bytes, chain: bytes = b"") -> CertificateInfo:
        """Import a certificate an outside CA issued for a key in the token (made with :meth:`csr_for_person`)."""
        cert = load_certificates(certificate)[0]
        public = cert.public_key.dump()
        with self.database.session() as s:
            key = s.scalars(select(SigningKey).where(SigningKey.public_key == public)).first()
            if key is None:
                raise PkiError("no key in the token matches this certificate: make the request with `antin pki csr`")
            label, owner = key.label, key.owner
        if not owner.startswith(("uid:", "unit:")):
            raise PkiError("this key belongs to the CA; use `antin pki import-ca`")
        for other in load_certificates(chain) if chain else []:
            self._store(other, CertificateRole.EXTERNAL_CA, key_label=None, issuer_serial=None)
        role, uid, unit = (
            (CertificateRole.PERSON, owner[4:], None)
            if owner.startswith("uid:")
            else (CertificateRole.SEAL, None, owner[5:])
        )
        info = self._store(cert, role, key_label=label, issuer_serial=None, uid=uid, unit_code=unit)
        self._forget_chain()
        return info

    # -- lookups -----------------------------------------------------------------------------------------

    def certificates(
        self,
        *,
        role: str | None = None,
        uid: str | None = None,
        unit_code: str | None = None,
        valid_only: bool = False,
    ) -> list[CertificateInfo]:
        query = select(PkiCertificate).order_by(PkiCertificate.id)
        if role is not None:
            query = query.where(PkiCertificate.role == role)
        if uid is not None:
            query = query.where(PkiCertificate.subject_uid == uid)
        if unit_code is not None:
            query = query.where(PkiCertificate.unit_code == unit_code)
        if valid_only:
            query = query.where(PkiCertificate.status == CertificateStatus.VALID)
        with self.database.session() as s:
            return [CertificateInfo.of(row) for row in s.scalars(query)]

    def get(self, serial: str) -> CertificateInfo:
        serial = serial.lower().removeprefix("0x").lstrip("0") or "0"
        with self.database.session() as s:
            row = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == serial)).first()
            if row is None:
                raise CertificateNotFoundError(f"serial {serial}")
            return CertificateInfo.of(row)

    def signing_certificate(self, *, uid: str | None = None, unit_code: str | None = None) -> CertificateInfo | None:
        """The newest valid, unexpired certificate of an official (``uid``) or a unit's seal (``unit_code``)."""
        role = CertificateRole.PERSON if uid is not None else CertificateRole.SEAL
        now = self.clock()
        found = [
            c
            for c in self.certificates(role=role, uid=uid, unit_code=unit_code)
            if c.key_label is not None and c.not_after > now
        ]
        if not found:
            return None
        valid = [c for c in found if c.status == CertificateStatus.VALID]
        if not valid:
            newest = found[-1]
            raise CertificateRevokedError(newest.serial, newest.revocation_reason)
        return valid[-1]

    def chain_for(self, cert: CertificateInfo) -> list[x509.Certificate]:
        """The CA certificates above ``cert``, issuer first, up to and including the root."""
        chain = self.chain()
        pool = [chain.issuing, *chain.extra, chain.root]
        out: list[x509.Certificate] = []
        current = cert.certificate
        for _ in range(8):
            if current.self_signed in ("yes", "maybe") and current.dump() != cert.der:
                break
            issuer = next(
                (c for c in pool if c.subject == current.issuer and c.dump() not in [o.dump() for o in out]), None
            )
            if issuer is None:
                break
            out.append(issuer)
            current = issuer
        return out

    # -- revocation --------------------------------------------------------------------------------------

    def revoke(self, serial: str, reason: str = "unspecified") -> CertificateInfo:
        if reason not in REVOCATION_REASONS:
            raise InvalidRequestError("reason", f"must be one of {', '.join(REVOCATION_REASONS)}")
        info = self.get(serial)
        if info.role in (CertificateRole.ROOT_CA, CertificateRole.ISSUING_CA):
            raise PkiError("a CA certificate cannot be revoked from here")
        with self.database.session() as s:
            row = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == info.serial)).one()
            if row.status != CertificateStatus.REVOKED:
                row.status = CertificateStatus.REVOKED
                row.revoked_at = self.clock().replace(microsecond=0)
                row.revocation_reason = reason
            info = CertificateInfo.of(row)
        with self._lock:
            self._revocation_cache.clear()
        if info.role in (CertificateRole.OCSP, CertificateRole.TSA):
            self._forget_chain()
        return info

    def revoke_person(self, uid: str, reason: str = "privilege-withdrawn") -> list[CertificateInfo]:
        """Revoke every valid certificate of an official: call it when the account is disabled or leaves."""
        return [
            self.revoke(c.serial, reason)
            for c in self.certificates(role=CertificateRole.PERSON, uid=uid, valid_only=True)
        ]

    def _ca_row(self, ca: x509.Certificate) -> CertificateInfo:
        return self.get(_serial(ca))

    def status_of(self, ca: x509.Certificate, serial: int) -> CertStatus:
        """Status of certificate ``serial`` issued by ``ca`` (what OCSP answers)."""
        ca_serial = _serial(ca)
        with self.database.session() as s:
            row = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == serial_hex(serial))).first()
            if row is None or (row.issuer_serial is not None and row.issuer_serial != ca_serial):
                return CertStatus("unknown")
            if row.status == CertificateStatus.REVOKED and row.revoked_at is not None:
                return CertStatus("revoked", aware(row.revoked_at), row.revocation_reason)
            return CertStatus("good")

    def crl(self, ca_name: str) -> bytes:
        """The current CRL (DER) of ``root`` or ``issuing``; issued anew when stale or after a revocation."""
        chain = self.chain()
        if ca_name == "root":
            ca, key = chain.root, chain.root_key
        elif ca_name == "issuing":
            ca, key = chain.issuing, chain.issuing_key
        else:
            raise CertificateNotFoundError(f"CRL {ca_name!r}")
        if key is None:
            raise CertificateNotFoundError(f"CRL {ca_name!r} (the root is an outside CA: ask it)")
        ca_serial = _serial(ca)
        now = self.clock()
        with self._lock, self.database.session() as s:
            revoked_rows = s.scalars(
                select(PkiCertificate).where(
                    PkiCertificate.issuer_serial == ca_serial, PkiCertificate.status == CertificateStatus.REVOKED
                )
            ).all()
            latest = s.scalars(
                select(CrlRecord).where(CrlRecord.issuer_serial == ca_serial).order_by(CrlRecord.id.desc())
            ).first()
            newest_revocation = max((aware(r.revoked_at) for r in revoked_rows if r.revoked_at), default=None)
            if (
                latest is not None
                and latest.der
                and aware(latest.next_update) - now > CRL_REFRESH_MARGIN
                and (newest_revocation is None or newest_revocation < aware(latest.this_update))
            ):
                return latest.der
            this_update = now.replace(microsecond=0)
            record = CrlRecord(issuer_serial=ca_serial, this_update=this_update, next_update=this_update + CRL_LIFETIME)
            s.add(record)
            s.flush()  # the row's id is the CRL number
            entries = [
                RevokedEntry(int(r.serial, 16), aware(r.revoked_at), r.revocation_reason or "unspecified")
                for r in revoked_rows
                if r.revoked_at is not None
            ]
            crl = build_crl(
                self.keystore,
                issuer=key,
                issuer_name=ca.subject,
                number=record.id,
                this_update=this_update,
                next_update=record.next_update,
                revoked=entries,
            )
            record.der = crl.dump()
            return record.der

    # -- OCSP ----------------------------------------------------------------------------------------------

    def ocsp_responder(self) -> OcspResponder:
        with self._lock:
            if self._ocsp is None:
                chain = self.chain()
                authorities = []
                if chain.ocsp is not None and chain.ocsp_label is not None:
                    authorities.append(
                        OcspAuthority(chain.issuing, chain.ocsp_label, chain.ocsp.public_key.dump(), chain.ocsp)
                    )
                else:
                    authorities.append(
                        OcspAuthority(chain.issuing, chain.issuing_key.label, chain.issuing_key.public_key, None)
                    )
                if chain.root_key is not None:
                    authorities.append(OcspAuthority(chain.root, chain.root_key.label, chain.root_key.public_key, None))
                ca_labels = {chain.issuing.sha256: chain.issuing_key.label}
                if chain.root_key is not None:
                    ca_labels[chain.root.sha256] = chain.root_key.label
                self._ocsp = OcspResponder(
                    self.keystore, authorities, self.status_of, clock=self.clock, ca_labels=ca_labels
                )
            return self._ocsp

    def revocation_material(self, certificates: Sequence[CertificateInfo | x509.Certificate]) -> RevocationMaterial:
        """OCSP responses for ``certificates`` and the CRLs above them, for a B-LT signature made offline.

        Kept for a few minutes (OCSP responses live a day; responders commonly pre-produce them) and forgotten at
        once when this process revokes anything; the signing service refuses revoked signers before it gets here.
        """
        certs = [item.certificate if isinstance(item, CertificateInfo) else item for item in certificates]
        key = tuple(c.sha256 for c in certs)
        now = self.clock()
        with self._lock:
            cached = self._revocation_cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        material = self._fresh_revocation_material(certs)
        with self._lock:
            self._revocation_cache[key] = (now + REVOCATION_CACHE_TTL, material)
        return material

    def _fresh_revocation_material(self, certificates: Sequence[x509.Certificate]) -> RevocationMaterial:
        chain = self.chain()
        responder = self.ocsp_responder()
        ocsps: list[bytes] = []
        complete = True
        for cert in certificates:
            if cert.ocsp_no_check_value is not None:
                continue  # a delegated OCSP responder's certificate needs no status (RFC 6960 §4.2.2.2.1)
            if cert.issuer == chain.issuing.subject:
                ocsps.append(responder.response_for(chain.issuing, cert.serial_number))
            else:
                complete = False
        crls = [self.crl("issuing")]
        if chain.root_key is not None and chain.issuing.issuer == chain.root.subject:
            crls.append(self.crl("root"))
        else:
            complete = False
        return RevocationMaterial(
            trust_roots=(chain.root.dump(),),
            certificates=tuple(c.dump() for c in (chain.issuing, *chain.extra)),
            ocsp_responses=tuple(ocsps),
            crls=tuple(crls),
            complete=complete,
        )
