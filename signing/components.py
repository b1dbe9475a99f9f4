"""The parts of an instance's signing service, built once on first use and kept: the PKCS#11 key store, the CA,
the TSA and the PAdES engine, with the CA's setup on first start. :class:`~signing.service.SigningService` builds
on this with officials, seals and signing."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from asn1crypto import x509

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from directory.instance import directory_service
from directory.protocol import UserDirectory
from signing.errors import PkiNotInitialisedError
from signing.keystore import KeyStore, keystore_for
from signing.pki import CertificateAuthority, CertificateInfo, PkiUrls, Renewal, RevocationMaterial
from signing.settings import HsmSettings, SigningSettings
from signing.tsa import TimeStampAuthority, database_serials

if TYPE_CHECKING:
    from signing.pades import PadesEngine

__all__ = ["SigningComponents", "keystore_for"]


class SigningComponents:
    """The instance's key store, CA, TSA and PAdES engine, each built on first use."""

    def __init__(
        self,
        instance: Instance,
        *,
        directory: Callable[[], UserDirectory] | None = None,
        keystore: KeyStore | None = None,
    ) -> None:
        self.instance = instance
        self.settings = instance.settings
        self._directory = directory or (lambda: directory_service(instance))
        self._keystore = keystore
        self._lock = threading.RLock()
        self._tsa: TimeStampAuthority | None = None
        self._engine: PadesEngine | None = None

    # -- components --------------------------------------------------------------------------------------

    @cached_property
    def keystore(self) -> KeyStore:
        return self._keystore or keystore_for(self.instance)

    @property
    def directory(self) -> UserDirectory:
        return self._directory()

    @cached_property
    def urls(self) -> PkiUrls:
        return PkiUrls(self.settings.core.issuer)

    @cached_property
    def ca(self) -> CertificateAuthority:
        s = self.settings.section(SigningSettings)
        return CertificateAuthority(
            self.instance.database,
            self.keystore,
            urls=self.urls,
            key_algorithm=self.settings.section(HsmSettings).key_type,
            ca_name=s.ca_name,
            organisation=s.organisation,
            pem_dir=self.instance.data_dir / "pki",
            certificate_days=s.certificate_days,
            clock=self.instance.clock,
            policy_oid=s.policy_oid,
        )

    @property
    def tsa(self) -> TimeStampAuthority:
        """The TSA with the newest TSA certificate: built again when it was renewed (here or by another worker)."""
        chain = self.ca.chain()
        with self._lock:
            current = self._tsa
            if (
                current is None
                or current.key_label != chain.tsa_label
                or current.chain[0].dump() != chain.issuing.dump()  # the issuing CA renewed: tokens carry it
            ):
                if chain.tsa is None or chain.tsa_label is None:
                    raise PkiNotInitialisedError()
                current = self._tsa = TimeStampAuthority(
                    self.keystore,
                    key_label=chain.tsa_label,
                    certificate=chain.tsa,
                    chain=[chain.issuing, *chain.extra],
                    serials=database_serials(self.instance.database),
                    clock=self.instance.clock,
                    policy=self.settings.section(SigningSettings).policy_oid,  # the TSA's policy is the platform's
                )
                self._engine = None  # it embeds the TSA's certificate
            return current

    @property
    def engine(self) -> PadesEngine:
        external = self.settings.section(SigningSettings).tsa_url
        tsa = None if external else self.tsa  # first: a renewed TSA rebuilds the engine
        with self._lock:
            if self._engine is None:
                from signing.pades import PadesEngine  # pyHanko loads with the first signature, not with the app

                if tsa is None:
                    self._engine = PadesEngine(self.keystore, tsa_url=external, revocation=self._revocation)
                else:
                    self._engine = PadesEngine(
                        self.keystore,
                        timestamp=tsa.respond,
                        tsa_certificates=[tsa.certificate.dump()],
                        revocation=self._revocation,
                    )
            return self._engine

    def _forget_tsa(self) -> None:
        with self._lock:
            self._tsa = None
            self._engine = None

    def _revocation(self, certificates: Sequence[bytes]) -> RevocationMaterial:
        return self.ca.revocation_material([x509.Certificate.load(c) for c in certificates])

    def ensure_pki(self) -> list[CertificateInfo]:
        """Generate the CA on first start (embedded default); safe when several workers start at once."""
        if self.ca.is_initialised():
            return []
        lock_path = self.instance.ensure_data_dir() / ".pki-init.lock"
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                created = self.ca.initialise()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        for cert in created:
            self._audit(
                AuditEvent.PKI_CERTIFICATE_ISSUE, actor="system", subject=cert.serial, details={"role": cert.role}
            )
        self._forget_tsa()
        return created

    def renew_ca_certificate(
        self, role: str, *, days: int | None = None, actor: str = "system", details: dict[str, Any] | None = None
    ) -> Renewal:
        """Renew the OCSP responder's or the TSA's certificate (a new key in the token), audited with both serials.

        This process signs with the new certificate at once; other workers and hosts within
        :data:`~signing.pki.store.CHAIN_RECHECK_SECONDS` (they look at the database that often)."""
        renewal = self.ca.renew(role, days=days)
        self._audit(
            AuditEvent.PKI_CA_RENEW,
            actor=actor,
            subject=renewal.current.serial,
            details={
                "role": role,
                "serial_before": renewal.previous.serial,
                "serial_after": renewal.current.serial,
                "not_after_before": renewal.previous.not_after.isoformat(),
                "not_after_after": renewal.current.not_after.isoformat(),
                **(details or {}),
            },
        )
        self._forget_tsa()
        return renewal

    def check(self) -> None:
        """Raise unless the token and the CA can be used (for ``/readyz``)."""
        self.keystore.check()
        self.ca.chain()

    def close(self) -> None:
        if "keystore" in self.__dict__:
            self.keystore.close()

    def _audit(self, event: AuditEvent, *, actor: str | None, subject: str | None, details: dict[str, Any]) -> None:
        self.instance.audit.record(event, actor=actor, subject=subject, details=details)
