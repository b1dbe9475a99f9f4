"""Issuance of end-entity certificates: officials' and units' seal certificates issued by the platform's CA, and
keys whose certificate an outside CA issues (a PKCS#10 request out, the certificate back in)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from asn1crypto import pem, x509
from sqlalchemy import select

from directory.models import Person, UnitRef
from signing.errors import PkiError, SignerNotAllowedError
from signing.models import CertificateRole, SigningKey
from signing.pki.builder import build_certificate, build_csr, new_serial
from signing.pki.certificates import CertificateInfo, load_certificates, serial_of
from signing.pki.profiles import end_entity_extensions, person_subject, seal_subject
from signing.pki.revocation import Revocation

__all__ = ["Issuance"]


class Issuance(Revocation):
    """The issuing part of the certificate authority (a new certificate supersedes, so revokes, the previous one)."""

    def issue_for_person(self, person: Person) -> CertificateInfo:
        """A new signing certificate for an official, its key generated in the token; the previous one is superseded."""
        if not person.active:
            raise SignerNotAllowedError(person.uid, "the account is not active")
        label = self._ensure_key(f"person-{person.uid}-{secrets.token_hex(6)}", f"uid:{person.uid}")
        public = self.keystore.public_key(label)
        cert = self._issue(
            person_subject(person, self.organisation),
            public,
            end_entity_extensions(self.urls, "issuing", email=person.mail, policy_oid=self.policy_oid),
        )
        previous = self.certificates(role=CertificateRole.PERSON, uid=person.uid, valid_only=True)
        info = self._store(
            cert, CertificateRole.PERSON, key_label=label, issuer_serial=serial_of(self.chain().issuing), uid=person.uid
        )
        for old in previous:
            self.revoke(old.serial, "superseded")
        return info

    def issue_seal(
        self, unit: UnitRef, path_above: Sequence[UnitRef] = (), *, unit_uuid: str | None = None
    ) -> CertificateInfo:
        """A new seal certificate for a unit (``path_above``: the units above it, top down; ``unit_uuid``: its
        entryUUID, which the seal is bound to: only that unit's earlier seals are superseded)."""
        label = self._ensure_key(f"seal-{unit.code}-{secrets.token_hex(6)}", f"unit:{unit.code}")
        public = self.keystore.public_key(label)
        cert = self._issue(
            seal_subject(unit, path_above, self.organisation),
            public,
            end_entity_extensions(self.urls, "issuing", policy_oid=self.policy_oid),
        )
        previous = self.certificates(
            role=CertificateRole.SEAL, unit_code=unit.code, unit_uuid=unit_uuid, valid_only=True
        )
        info = self._store(
            cert,
            CertificateRole.SEAL,
            key_label=label,
            issuer_serial=serial_of(self.chain().issuing),
            unit_code=unit.code,
            unit_uuid=unit_uuid,
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
