"""Revocation: revoking certificates, the status OCSP answers, CRLs issued when stale or after a revocation, and
the revocation material (OCSP responses and CRLs) a B-LT signature embeds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import x509
from sqlalchemy import select

from signing.errors import CertificateNotFoundError, InvalidRequestError, PkiError
from signing.models import CertificateRole, CertificateStatus, CrlRecord, PkiCertificate, aware
from signing.pki.builder import serial_hex
from signing.pki.certificates import CertificateInfo, RevocationMaterial, serial_of
from signing.pki.crl import REVOCATION_REASONS, RevokedEntry, build_crl
from signing.pki.ocsp import CertStatus, OcspAuthority, OcspResponder
from signing.pki.store import CertificateStore

__all__ = ["CRL_LIFETIME", "CRL_REFRESH_MARGIN", "REVOCATION_CACHE_ENTRIES", "REVOCATION_CACHE_TTL", "Revocation"]

CRL_LIFETIME = timedelta(days=7)
# A CRL is re-issued when less than this is left of its life, or when a revocation is newer than it.
CRL_REFRESH_MARGIN = timedelta(days=6)
REVOCATION_CACHE_TTL = timedelta(minutes=5)
# signer chains whose revocation material a process keeps: one per official who signed in the last few minutes,
# so without a bound it grew with every official who ever signed through this process
REVOCATION_CACHE_ENTRIES = 1_000


class Revocation(CertificateStore):
    """The revocation part of the certificate authority."""

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
        return self.get(serial_of(ca))

    def issuer_serials(self, ca: x509.Certificate, *, fresh: bool = False) -> frozenset[str]:
        """The serials of every certificate of ``ca``'s key: a CA certificate renewed with the same key
        (``antin pki renew issuing``) is the same CA, and what it issued under the previous certificate is its own.

        Kept per process; ``fresh`` reads them again (another worker may have renewed the CA a moment ago)."""
        with self._lock:
            known = None if fresh else self._issuer_serials.get(ca.sha256)
        if known is not None:
            return known
        public = ca.public_key.dump()
        with self.database.session() as s:
            rows = s.execute(
                select(PkiCertificate.serial, PkiCertificate.der).where(
                    PkiCertificate.role.in_((CertificateRole.ROOT_CA, CertificateRole.ISSUING_CA))
                )
            ).all()
        serials = frozenset(
            {serial_of(ca)} | {serial for serial, der in rows if x509.Certificate.load(der).public_key.dump() == public}
        )
        with self._lock:
            self._issuer_serials[ca.sha256] = serials
        return serials

    def status_of(self, ca: x509.Certificate, serial: int) -> CertStatus:
        """Status of certificate ``serial`` issued by ``ca`` (what OCSP answers)."""
        with self.database.session() as s:
            row = s.scalars(select(PkiCertificate).where(PkiCertificate.serial == serial_hex(serial))).first()
            if row is None:
                return CertStatus("unknown")
            issuer, status, revoked_at, reason = row.issuer_serial, row.status, row.revoked_at, row.revocation_reason
        known = issuer is None or issuer in self.issuer_serials(ca)
        if not known and issuer not in self.issuer_serials(ca, fresh=True):  # another worker renewed the CA?
            return CertStatus("unknown")
        if status == CertificateStatus.REVOKED and revoked_at is not None:
            return CertStatus("revoked", aware(revoked_at), reason)
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
        ca_serial = serial_of(ca)
        ca_serials = self.issuer_serials(ca, fresh=True)  # complete: a CRL is issued rarely and must miss nothing
        now = self.clock()
        with self._lock, self.database.session() as s:
            revoked_rows = [
                r
                for r in s.scalars(
                    select(PkiCertificate).where(
                        PkiCertificate.issuer_serial.in_(ca_serials), PkiCertificate.status == CertificateStatus.REVOKED
                    )
                )
                if r.revoked_at is not None
            ]
            latest = s.scalars(
                select(CrlRecord).where(CrlRecord.issuer_serial == ca_serial).order_by(CrlRecord.id.desc())
            ).first()
            if (
                latest is not None
                and latest.der
                and aware(latest.this_update) <= now  # not one dated ahead (the clock was stepped back since)
                and aware(latest.next_update) - now > CRL_REFRESH_MARGIN
                # revocations are never undone, so a CRL listing as many as there are misses none; dates cannot
                # tell (both are whole seconds, and a revocation committed late carries the time it began)
                and _entries_in(latest.der) == len(revoked_rows)
            ):
                return latest.der
            this_update = now.replace(microsecond=0)
            record = CrlRecord(issuer_serial=ca_serial, this_update=this_update, next_update=this_update + CRL_LIFETIME)
            s.add(record)
            s.flush()  # the row's id is the CRL number
            entries = [
                RevokedEntry(int(r.serial, 16), aware(r.revoked_at), r.revocation_reason or "unspecified")
                for r in revoked_rows
                if r.revoked_at is not None  # always (filtered above): said again for the type checker
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
        chain = self.chain()  # first: a renewal seen there forgets the responder built from the previous chain
        with self._lock:
            if self._ocsp is None:
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
            self._keep_revocation_material(key, (now + REVOCATION_CACHE_TTL, material), now)
        return material

    def _keep_revocation_material(
        self, key: tuple[bytes, ...], entry: tuple[datetime, RevocationMaterial], now: datetime
    ) -> None:
        """Under the lock: at the bound, the expired entries go, then the oldest kept (insertion order)."""
        cache = self._revocation_cache
        cache.pop(key, None)  # a renewed entry moves to the young end
        if len(cache) >= REVOCATION_CACHE_ENTRIES:
            for stale in [k for k, (until, _material) in cache.items() if until <= now]:
                del cache[stale]
            while len(cache) >= REVOCATION_CACHE_ENTRIES:
                del cache[next(iter(cache))]
        cache[key] = entry

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


def _entries_in(der: bytes) -> int:
    """How many certificates a CRL lists."""
    return len(asn1_crl.CertificateList.load(der)["tbs_cert_list"]["revoked_certificates"])
