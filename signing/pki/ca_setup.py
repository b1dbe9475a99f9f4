"""Setting up the CA: the root and issuing CA generated on first start (embedded default) or an outside-issued
CA imported (production), the OCSP responder and TSA certificates under it, the first CRLs and the PEM files in
``<data_dir>/pki/``."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from asn1crypto import pem
from sqlalchemy import select

from signing.errors import PkiError, PkiNotInitialisedError
from signing.models import CertificateRole, CertificateStatus, PkiCertificate, SigningKey
from signing.pki.builder import IssuerKey, build_certificate, build_name, new_serial
from signing.pki.certificates import CertificateInfo, load_certificates, serial_of
from signing.pki.profiles import COUNTRY, ca_extensions, ocsp_signer_extensions, tsa_extensions
from signing.pki.revocation import Revocation

__all__ = ["ISSUING_DAYS", "ISSUING_LABEL", "OCSP_DAYS", "ROOT_LABEL", "SERVICE_ROLES", "TSA_DAYS", "CaSetup"]

ROOT_LABEL = "antin-root-ca"
ISSUING_LABEL = "antin-issuing-ca"
SERVICE_ROLES = (CertificateRole.OCSP, CertificateRole.TSA)
OCSP_DAYS = 2 * 365  # the usual lifetimes of the service certificates (renewed routinely, `antin pki renew`)
TSA_DAYS = 5 * 365
ISSUING_DAYS = 10 * 365


class CaSetup(Revocation):
    """The setup part of the certificate authority (it publishes the first CRLs, so it builds on revocation)."""

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
                    not_after=now + timedelta(days=ISSUING_DAYS),
                    extensions=ca_extensions(
                        path_length=0, urls=self.urls, issuer_name="root", policy_oid=self.policy_oid
                    ),
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
        return [self._issue_service_certificate(role) for role in SERVICE_ROLES if self._current(role) is None]

    def _issue_service_certificate(self, role: str, days: int | None = None) -> CertificateInfo:
        """A new key in the token and a certificate for it from the issuing CA, for the OCSP responder or the TSA.

        ``days`` (default: the role's usual lifetime) is cut at the issuing CA's own end: nothing outlives its
        issuer. The newest valid certificate of a role is the one in use (:meth:`chain`)."""
        chain = self.chain()
        now = self.clock()
        common_name, extensions, usual_days = self._service_profile(role)
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
            not_after=min(now + timedelta(days=days or usual_days), chain.issuing.not_valid_after),
            extensions=extensions,
        )
        return self._store(cert, role, key_label=label, issuer_serial=serial_of(chain.issuing))

    def _service_profile(self, role: str) -> tuple[str, list[dict[str, Any]], int]:
        """The common name, extensions and usual lifetime in days of the OCSP responder's or the TSA's certificate."""
        if role == CertificateRole.OCSP:
            return f"{self.ca_name} OCSP Responder", ocsp_signer_extensions(self.urls, "issuing"), OCSP_DAYS
        if role == CertificateRole.TSA:
            extensions = tsa_extensions(self.urls, "issuing", policy_oid=self.policy_oid)
            return f"{self.ca_name} Time-Stamping Authority", extensions, TSA_DAYS
        raise PkiError(f"{role!r} is not a service certificate (ocsp or tsa)")

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
                issuing, CertificateRole.ISSUING_CA, key_label=label, issuer_serial=serial_of(parent), replace=True
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
