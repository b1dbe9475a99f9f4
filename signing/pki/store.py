"""The CA's certificate store: the CA chain in use, the keys it generated in the token, certificate rows and
lookups. The base of :class:`~signing.pki.authority.CertificateAuthority`; setup, issuance and revocation build
on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from asn1crypto import x509
from sqlalchemy import func, select

from antin.kernel.caches import CacheSize, register_instance_cache
from antin.kernel.database import Database
from signing.errors import CertificateNotFoundError, CertificateRevokedError, PkiNotInitialisedError
from signing.keystore import KeyAlgorithm, KeyStore
from signing.models import CertificateRole, CertificateStatus, PkiCertificate, SigningKey
from signing.pki.builder import IssuerKey, key_identifier
from signing.pki.certificates import CaChain, CertificateInfo, RevocationMaterial, serial_of
from signing.pki.ocsp import OcspResponder
from signing.pki.profiles import POLICY_OID, PkiUrls
from signing.shared_certificates import parsed_whole
from signing.unit_binding import CurrentUnits, bind_legacy_rows

__all__ = ["CHAIN_RECHECK_SECONDS", "CertificateStore"]

# How often a process asks the database whether the CA's own certificates changed (a renewal or an import by another
# worker or host): one small query, so that every worker signs with a renewed OCSP or TSA certificate within this.
CHAIN_RECHECK_SECONDS = 30.0
_CHAIN_ROLES = (
    CertificateRole.ROOT_CA,
    CertificateRole.ISSUING_CA,
    CertificateRole.OCSP,
    CertificateRole.TSA,
    CertificateRole.EXTERNAL_CA,
)


def _subject_text(cert: x509.Certificate) -> str:
    return str(cert.subject.human_friendly)


class CertificateStore:
    """Certificates and keys of the CA in the database and the token, and the CA chain read from them."""

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
        clock: Callable[[], datetime],
        policy_oid: str = POLICY_OID,
    ) -> None:
        """``clock``: the instance's clock (``instance.clock``): validity periods, revocation times, CRL and OCSP
        times and the newest-valid-certificate choice all follow it."""
        self.database = database
        self.keystore = keystore
        self.urls = urls
        self.key_algorithm: KeyAlgorithm = key_algorithm
        self.ca_name = ca_name
        self.organisation = organisation
        self.pem_dir = pem_dir
        self.certificate_days = certificate_days
        self.clock = clock
        self.policy_oid = policy_oid  # in the certificatePolicies of every certificate issued from now on
        # Caches shared by the CA's parts (revocation keeps the OCSP responder and recent revocation material).
        self._chain: CaChain | None = None
        self._chain_version: tuple[object, ...] = ()
        self._chain_checked_at = 0.0  # time.monotonic() of the last look at the database
        self.chain_recheck = CHAIN_RECHECK_SECONDS
        self._ocsp: OcspResponder | None = None
        self._revocation_cache: dict[tuple[bytes, ...], tuple[datetime, RevocationMaterial]] = {}
        register_instance_cache("ca-revocation-material", self, lambda ca: CacheSize(len(ca._revocation_cache)))
        self._issuer_serials: dict[bytes, frozenset[str]] = {}  # a CA certificate's SHA-256: the serials of its key
        self._lock = threading.RLock()

    # -- the CA chain ------------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        try:
            self.chain()
        except PkiNotInitialisedError:
            return False
        return True

    def chain(self) -> CaChain:
        """The CA chain in use, read again when another process renewed or imported one of its certificates."""
        with self._lock:
            if self._chain is not None and time.monotonic() - self._chain_checked_at >= self.chain_recheck:
                if self._read_chain_version() != self._chain_version:
                    self._forget_chain()
                self._chain_checked_at = time.monotonic()
            if self._chain is None:
                version = self._read_chain_version()
                self._chain = self._load_chain()
                self._chain_version, self._chain_checked_at = version, time.monotonic()
            return self._chain

    def _read_chain_version(self) -> tuple[object, ...]:
        """What changes when a CA, OCSP or TSA certificate is added, revoked or re-roled: the newest id and count."""
        with self.database.session() as s:
            newest, count = s.execute(
                select(func.max(PkiCertificate.id), func.count(PkiCertificate.id)).where(
                    PkiCertificate.role.in_(_CHAIN_ROLES), PkiCertificate.status == CertificateStatus.VALID
                )
            ).one()
        return (newest, count)

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
            root_cert = parsed_whole(root.der)
            issuing_cert = parsed_whole(issuing.der)
            return CaChain(
                root=root_cert,
                root_key=self._issuer_key(root.key_label, root_cert) if root.key_label else None,
                issuing=issuing_cert,
                issuing_key=self._issuer_key(issuing.key_label, issuing_cert),
                ocsp=parsed_whole(ocsp_row.der) if ocsp_row else None,
                ocsp_label=ocsp_row.key_label if ocsp_row else None,
                tsa=parsed_whole(tsa_row.der) if tsa_row else None,
                tsa_label=tsa_row.key_label if tsa_row else None,
                extra=tuple(parsed_whole(r.der) for r in extra),
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
            self._issuer_serials.clear()

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
        unit_uuid: str | None = None,
        replace: bool = False,
    ) -> CertificateInfo:
        with self.database.session() as s:
            existing = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == serial_of(cert))).first()
            if existing is not None:
                if not replace and existing.der == cert.dump() and existing.role == role:
                    return CertificateInfo.of(existing)
                s.delete(existing)
                s.flush()
            row = PkiCertificate(
                serial=serial_of(cert),
                role=role,
                subject=_subject_text(cert),
                subject_uid=uid,
                unit_code=unit_code,
                unit_uuid=unit_uuid,
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

    # -- lookups -----------------------------------------------------------------------------------------

    def certificates(
        self,
        *,
        role: str | None = None,
        uid: str | None = None,
        unit_code: str | None = None,
        unit_uuid: str | None = None,
        valid_only: bool = False,
    ) -> list[CertificateInfo]:
        """``unit_uuid``: only the seals of that very unit (not those of a deleted unit that had its code)."""
        query = select(PkiCertificate).order_by(PkiCertificate.id)
        if role is not None:
            query = query.where(PkiCertificate.role == role)
        if uid is not None:
            query = query.where(PkiCertificate.subject_uid == uid)
        if unit_code is not None:
            query = query.where(PkiCertificate.unit_code == unit_code)
        if unit_uuid is not None:
            query = query.where(PkiCertificate.unit_uuid == unit_uuid)
        if valid_only:
            query = query.where(PkiCertificate.status == CertificateStatus.VALID)
        with self.database.session() as s:
            return [CertificateInfo.of(row) for row in s.scalars(query)]

    def bind_seals(self, current: CurrentUnits) -> None:
        """Bind the seals issued before seals kept their unit's entryUUID to the unit that has their code now, so
        that a unit created later with a gone unit's code does not get its seal."""
        role = PkiCertificate.role == CertificateRole.SEAL
        bind_legacy_rows(self.database, PkiCertificate.unit_code, PkiCertificate.unit_uuid, current, role)

    def get(self, serial: str) -> CertificateInfo:
        serial = serial.lower().removeprefix("0x").lstrip("0") or "0"
        with self.database.session() as s:
            row = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == serial)).first()
            if row is None:
                raise CertificateNotFoundError(f"serial {serial}")
            return CertificateInfo.of(row)

    def signing_certificate(
        self, *, uid: str | None = None, unit_code: str | None = None, unit_uuid: str | None = None
    ) -> CertificateInfo | None:
        """The newest valid, unexpired certificate of an official (``uid``) or a unit's seal (``unit_code``, and
        ``unit_uuid``: of that very unit)."""
        role = CertificateRole.PERSON if uid is not None else CertificateRole.SEAL
        now = self.clock()
        found = [
            c
            for c in self.certificates(role=role, uid=uid, unit_code=unit_code, unit_uuid=unit_uuid)
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
