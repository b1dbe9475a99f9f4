"""The signing service of one instance, over its parts in :mod:`signing.components` (key store, CA, TSA, PAdES engine).

The CLI, the REST API and the admin console call this; it finds the signer in the directory, picks the
certificate (the official's, or the unit's seal applied by a records-office clerk), draws the appearance, signs,
keeps a record (whose id the QR code carries) and writes the audit trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from directory.models import Person, UnitRef
from directory.unit_identity import UNIT_GONE, UnitIdentities
from signing.appearance import (
    DEFAULT_FONT,
    Appearance,
    VisibleBox,
    find_image,
    official_appearance,
    seal_appearance,
    verification_url,
)
from signing.components import SigningComponents
from signing.errors import (
    CertificateNotFoundError,
    InvalidDocumentError,
    InvalidRequestError,
    KeyNotFoundError,
    SignerNotAllowedError,
    SignerNotFoundError,
)
from signing.models import SignatureRecord, aware
from signing.pades import LEVELS, Level, PadesOptions, SignerMaterial
from signing.pki import CertificateInfo
from signing.settings import SigningSettings

if TYPE_CHECKING:
    from signing.sole_control import Authorisation

__all__ = ["SignOutcome", "SignRequest", "SigningService", "signing_service"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.signing"
CHUNK = 1 << 20


@dataclass(frozen=True)
class SignRequest:
    """What to sign and how; ``signer_uid`` is the official (or, with ``seal_unit``, the records-office clerk)."""

    signer_uid: str
    level: Level | None = None
    """PAdES level; None uses the ``signing.default_level`` setting."""
    seal_unit: str | None = None
    """Code of the unit whose seal to apply instead of the official's own signature."""
    certify: bool = False
    reason: str | None = None
    location: str | None = None
    visible: VisibleBox | None = None
    document_name: str = ""
    seal_register: str | None = None
    """With ``seal_unit``: the number and date the records office gave, shown on the seal (``Số: 12/QĐ-TU …``)."""


@dataclass(frozen=True)
class SignOutcome:
    reference: str
    field_name: str
    level: str
    kind: str  # "person" or "seal"
    signer_uid: str
    signer_name: str
    unit_code: str | None
    certificate_serial: str
    signed_at: datetime
    certified: bool
    locked: bool
    verification_url: str

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "field": self.field_name,
            "level": self.level,
            "kind": self.kind,
            "signer": self.signer_uid,
            "signer_name": self.signer_name,
            "unit": self.unit_code,
            "certificate_serial": self.certificate_serial,
            "signed_at": self.signed_at.isoformat(),
            "certified": self.certified,
            "locked": self.locked,
            "verification_url": self.verification_url,
        }


class SigningService(SigningComponents):
    """Officials' and seals' certificates, signing and the record of each signature (the CLI, API, admin use it)."""

    _seals_bound = False  # seals of earlier versions bound to their unit's entryUUID (once per process)

    # -- people and certificates -------------------------------------------------------------------------

    def person(self, uid: str) -> Person:
        person = self.directory.find_by_login(uid)
        if person is None:
            raise SignerNotFoundError(uid)
        return person

    def issue_certificate(
        self, uid: str, *, actor: str = "system", details: Mapping[str, Any] | None = None
    ) -> CertificateInfo:
        """``details``: more for the audit entry (the admin service adds the certificates valid before and after)."""
        person = self.person(uid)
        cert = self.ca.issue_for_person(person)
        self._audit(
            AuditEvent.PKI_CERTIFICATE_ISSUE,
            actor=actor,
            subject=person.uid,
            details={"serial": cert.serial, "role": cert.role, **(details or {})},
        )
        return cert

    def issue_seal(self, unit_code: str, *, clerk_uid: str, actor: str = "system") -> CertificateInfo:
        """Issue a unit's seal certificate; ``clerk_uid`` names a member of the unit (the unit path is theirs)."""
        clerk = self.person(clerk_uid)
        unit, above = _unit_in_path(clerk, unit_code)
        cert = self.ca.issue_seal(unit, above, unit_uuid=self.seal_unit_uuid(unit.code))
        self._audit(
            AuditEvent.PKI_CERTIFICATE_ISSUE,
            actor=actor,
            subject=f"unit:{unit_code}",
            details={"serial": cert.serial, "role": cert.role},
        )
        return cert

    def import_ca(
        self, certificate: bytes, chain: bytes = b"", key_label: str | None = None, *, actor: str = "system"
    ) -> list[CertificateInfo]:
        created = self.ca.import_ca(certificate, chain, key_label)
        for cert in created:
            self._audit(AuditEvent.PKI_CA_IMPORT, actor=actor, subject=cert.serial, details={"role": cert.role})
        self._forget_tsa()
        return created

    def timestamp_for_client(self, request_der: bytes, *, client: str | None) -> bytes:
        """Answer a time-stamp request that came over HTTP (tokens made for our own signatures are not audited
        one by one: the signature's audit entry covers them)."""
        response = self.tsa.respond(request_der)
        self._audit(AuditEvent.TSA_TOKEN_ISSUE, actor=client, subject=None, details={"bytes": len(response)})
        return response

    def revoke(
        self, serial: str, reason: str, *, actor: str = "system", details: Mapping[str, Any] | None = None
    ) -> CertificateInfo:
        cert = self.ca.revoke(serial, reason)
        self._audit(
            AuditEvent.PKI_CERTIFICATE_REVOKE,
            actor=actor,
            subject=cert.subject_uid or cert.unit_code or cert.serial,
            details={"serial": cert.serial, "reason": reason, **(details or {})},
        )
        return cert

    def on_account_disabled(
        self, uid: str, *, actor: str = "system", reason: str = "privilege-withdrawn"
    ) -> list[CertificateInfo]:
        """Revoke an official's certificates: the admin and directory layers call this when an account is
        suspended, retired or deleted, so that nothing more can be signed in their name."""
        revoked = self.ca.revoke_person(uid, reason)
        for cert in revoked:
            self._audit(
                AuditEvent.PKI_CERTIFICATE_REVOKE,
                actor=actor,
                subject=uid,
                details={"serial": cert.serial, "reason": reason},
            )
        return revoked

    def seal_unit_uuid(self, unit_code: str) -> str:
        """The entryUUID of the unit that has ``unit_code`` now, the one its seals are bound to (a seal of a deleted
        unit that had the code is another unit's: never used, nor superseded, for this one). Seals issued before
        seals were bound are bound first, once per process."""
        self.bind_legacy_seals()
        unit_uuid = UnitIdentities(self.directory).uuid_of(unit_code)
        if unit_uuid == UNIT_GONE:
            raise SignerNotAllowedError("-", f"there is no unit {unit_code!r}")
        return unit_uuid

    def bind_legacy_seals(self) -> None:
        """Once per process: bind the seals issued before seals kept their unit's entryUUID (a seal whose unit is
        gone by then is bound to none), before any unit can be given a gone unit's code and its seal."""
        if not self._seals_bound:
            self.ca.bind_seals(UnitIdentities(self.directory).current)
            self._seals_bound = True

    def official_certificate(self, person: Person, *, actor: str) -> CertificateInfo:
        """The official's current certificate, issued first when there is none and ``auto_issue`` is on."""
        return self._person_certificate(person, actor)

    def _person_certificate(self, person: Person, actor: str) -> CertificateInfo:
        cert = self.ca.signing_certificate(uid=person.uid)
        if cert is not None:
            return cert
        if not self.settings.section(SigningSettings).auto_issue:
            raise CertificateNotFoundError(f"official {person.uid} (issue one with `antin pki issue --uid`)")
        # Two signings that start at once (two workers, two hosts) would each issue, the second superseding
        # (revoking) the first one's certificate: one issues, the other waits and takes the winner's.
        with self.instance.database.exclusive(f"signing:certificate:uid:{person.uid}"):
            cert = self.ca.signing_certificate(uid=person.uid)
            if cert is not None:
                return cert
            cert = self.ca.issue_for_person(person)
            self._audit(
                AuditEvent.PKI_CERTIFICATE_ISSUE,
                actor=actor,
                subject=person.uid,
                details={"serial": cert.serial, "role": cert.role},
            )
            return cert

    def _seal_certificate(self, clerk: Person, unit_code: str, actor: str) -> tuple[CertificateInfo, UnitRef]:
        unit, above = _unit_in_path(clerk, unit_code)
        prefix = self.settings.section(SigningSettings).seal_group_prefix
        if prefix and not any(group.startswith(prefix) for group in clerk.groups):
            raise SignerNotAllowedError(clerk.uid, f"only the records office ({prefix}… groups) may apply a seal")
        unit_uuid = self.seal_unit_uuid(unit.code)
        cert = self.ca.signing_certificate(unit_code=unit.code, unit_uuid=unit_uuid)
        if cert is not None:
            return cert, unit
        if not self.settings.section(SigningSettings).auto_issue:
            raise CertificateNotFoundError(f"the seal of unit {unit_code}")
        with self.instance.database.exclusive(f"signing:certificate:unit:{unit_uuid}"):  # as for an official's
            cert = self.ca.signing_certificate(unit_code=unit.code, unit_uuid=unit_uuid)
            if cert is None:
                cert = self.ca.issue_seal(unit, above, unit_uuid=unit_uuid)
                self._audit(
                    AuditEvent.PKI_CERTIFICATE_ISSUE,
                    actor=actor,
                    subject=f"unit:{unit_code}",
                    details={"serial": cert.serial, "role": cert.role},
                )
        return cert, unit

    # -- signing -------------------------------------------------------------------------------------------

    def sign(
        self,
        source: BinaryIO,
        output: BinaryIO,
        request: SignRequest,
        *,
        actor: str | None = None,
        authorisation: Authorisation | None = None,
    ) -> SignOutcome:
        """Sign the PDF in ``source`` (a seekable file) into ``output`` (seekable); nothing is written on error.

        With ``authorisation`` (the official's WebAuthn approval, :mod:`signing.sole_control`), the document's
        SHA-256 must be one it approved and the signer the official who approved it, else
        :class:`~signing.errors.SoleControlRefused`.
        """
        actor = actor or request.signer_uid
        level: Level = request.level or self.settings.section(SigningSettings).default_level
        if level not in LEVELS:
            raise InvalidRequestError("level", f"must be one of {', '.join(LEVELS)}")
        self._check_size(source)
        person = self.person(request.signer_uid)
        if not person.active:
            raise SignerNotAllowedError(person.uid, "the account is suspended, retired or locked")
        input_digest = _sha256(source)
        if authorisation is not None:
            authorisation.require(bytes.fromhex(input_digest), official=person.entry_uuid)
        reference = str(uuid.uuid4())
        qr = verification_url(self.settings.core.issuer, reference)
        now = self.instance.clock.now()
        unit: UnitRef | None = None
        appearance: Appearance | None
        if request.seal_unit:
            cert, unit = self._seal_certificate(person, request.seal_unit, actor)
            appearance = seal_appearance(
                unit,
                now,
                qr_url=qr,
                font=self._font,
                image_png=find_image(self._image_dir, f"seal-{unit.code}"),
                clerk=person,
                register=request.seal_register,
            )
        else:
            cert = self._person_certificate(person, actor)
            appearance = official_appearance(
                person, now, qr_url=qr, font=self._font, image_png=find_image(self._image_dir, person.uid)
            )
        if cert.key_label is None or not self.keystore.has_key(cert.key_label):
            raise KeyNotFoundError(cert.key_label or cert.serial)
        material = SignerMaterial(cert.key_label, cert.der, tuple(c.dump() for c in self.ca.chain_for(cert)))
        options = PadesOptions(
            level=level,
            certify=request.certify,
            field_name=f"AnTin-{reference[:8]}",
            reason=request.reason,
            location=request.location,
            visible=request.visible,
            appearance=appearance if request.visible else None,
        )
        result = self.engine.sign(material, source, output, options)
        outcome = SignOutcome(
            reference=reference,
            field_name=result.field_name,
            level=level,
            kind="seal" if unit else "person",
            signer_uid=person.uid,
            signer_name=person.full_name,
            unit_code=unit.code if unit else None,
            certificate_serial=cert.serial,
            signed_at=result.signing_time,
            certified=result.certified,
            locked=result.locked,
            verification_url=qr,
        )
        with self.instance.database.session() as s:
            s.add(
                SignatureRecord(
                    id=reference,
                    signer_uid=person.uid,
                    certificate_serial=cert.serial,
                    kind=outcome.kind,
                    unit_code=outcome.unit_code,
                    level=level,
                    certify=request.certify,
                    field_name=result.field_name,
                    document_name=request.document_name[:255],
                    input_sha256=input_digest,
                    output_sha256=_sha256(output),
                    created_at=result.signing_time,
                )
            )
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_SIGN,
            actor=actor,
            subject=person.uid,
            details={
                "reference": reference,
                "document": request.document_name,
                "sha256": input_digest,
                "level": level,
                "seal": outcome.unit_code,
                "serial": cert.serial,
                **({"authorisation": authorisation.id} if authorisation else {}),
            },
        )
        return outcome

    def sign_file(
        self, source: Path, destination: Path, request: SignRequest, *, actor: str | None = None
    ) -> SignOutcome:
        """Sign ``source`` into ``destination``, written atomically (a temporary file, renamed when complete)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".signing-", suffix=".pdf", dir=destination.parent)
        try:
            with open(source, "rb") as src, os.fdopen(fd, "w+b") as out:
                outcome = self.sign(
                    src, out, replace(request, document_name=request.document_name or source.name), actor=actor
                )
            os.replace(temp_name, destination)
            return outcome
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

    def sign_batch(
        self, documents: Sequence[tuple[Path, Path]], request: SignRequest, *, actor: str | None = None
    ) -> list[SignOutcome]:
        """Sign several documents in turn; the token session, key handle and parsed certificates are reused."""
        return [self.sign_file(src, dst, request, actor=actor) for src, dst in documents]

    def describe_signature(self, reference: str) -> dict[str, str] | None:
        """What the platform recorded about a signature it made (the QR code's ``id``), for the /verify page."""
        with self.instance.database.session() as s:
            record = s.get(SignatureRecord, reference)
            if record is None:
                return None
            return {
                "reference": record.id,
                "signer": record.signer_uid,
                "kind": record.kind,
                "unit": record.unit_code or "",
                "level": record.level,
                "certificate_serial": record.certificate_serial,
                "signed_at": aware(record.created_at).isoformat(),
                "document": record.document_name,
                "sha256_signed": record.output_sha256,
            }

    # -- helpers -------------------------------------------------------------------------------------------

    @property
    def max_bytes(self) -> int:
        return self.settings.section(SigningSettings).max_document_mb * 1024 * 1024

    def _check_size(self, source: BinaryIO) -> None:
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        if size > self.max_bytes:
            raise InvalidDocumentError(
                "too-large",
                f"the PDF is {size / 1048576:.0f} MB; the limit is {self.max_bytes // 1048576} MB",
            )

    @cached_property
    def _font(self) -> Path:
        font = self.settings.section(SigningSettings).font or DEFAULT_FONT
        if not font.is_file():
            raise InvalidRequestError(
                "font", f"{font} does not exist (install fonts-dejavu-core or set ANTIN_SIGNING_FONT)"
            )
        return font

    @cached_property
    def _image_dir(self) -> Path:
        return self.settings.section(SigningSettings).image_dir or (self.instance.data_dir / "signing" / "images")


def _unit_in_path(person: Person, unit_code: str) -> tuple[UnitRef, tuple[UnitRef, ...]]:
    """The unit ``unit_code`` among ``person``'s units, with the units above it (top down)."""
    path = list(person.unit_path) or ([person.unit] if person.unit else [])
    for index, unit in enumerate(path):
        if unit.code == unit_code:
            return unit, tuple(reversed(path[index + 1 :]))
    raise SignerNotAllowedError(person.uid, f"is not a member of unit {unit_code!r}, so may not apply its seal")


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def signing_service(instance: Instance) -> SigningService:
    """The instance's signing service, created on first use and kept in ``instance.extensions``."""
    return instance.service(EXTENSION_KEY, SigningService)
