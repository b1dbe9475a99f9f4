"""What the PDF reader found, before any judgement: plain values filled in by ``signing.pades.reading``.

The split keeps pyHanko behind one package (``signing.pades``) and lets the verdict logic
(``signing.validation.indications``) and the change analysis (``signing.pades.reading.changes``) be tested with
hand-made facts (``tests/signing/validation/test_indications_table.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "AnnotationSnapshot",
    "CertificateFacts",
    "DocumentFacts",
    "FieldSnapshot",
    "PageSnapshot",
    "RevisionFacts",
    "RevisionSnapshot",
    "SignatureFacts",
    "TimestampFacts",
]

SignatureKind = Literal["signature", "document-timestamp"]


@dataclass(frozen=True)
class CertificateFacts:
    """One certificate, as shown to people (names keep their Vietnamese diacritics)."""

    subject: str
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str
    common_name: str = ""
    key_algorithm: str = ""
    key_bits: int = 0
    self_signed: bool = False
    organization_identifier: str = ""
    """The subject's organizationIdentifier (2.5.4.97): a legal person's certificate (ETSI EN 319 412-3), as a
    unit's seal (``VN-UNIT-<code>``); an official's (a natural person's) has none."""

    @property
    def holder(self) -> str:
        """``seal`` (an organisation's certificate: the unit's seal) or ``official`` (a person's)."""
        return "seal" if self.organization_identifier else "official"


@dataclass(frozen=True)
class TimestampFacts:
    """An RFC 3161 time-stamp token attached to a signature (or a document time-stamp's own token)."""

    time: datetime | None
    """``genTime`` of the token."""

    ades_sub_indication: str
    """pyHanko's EN 319 102-1 sub-indication for the token (``OK`` when it passed)."""

    tsa: CertificateFacts | None = None
    intact: bool | None = None
    valid: bool | None = None
    trusted: bool | None = None
    digest_algorithm: str = ""
    message: str = ""


@dataclass(frozen=True)
class RevisionFacts:
    """One incremental revision of the file: where it ends and what the reader says it changed."""

    index: int
    end_offset: int
    """Offset just past this revision's ``%%EOF`` marker."""

    xref_objects: int = 0
    """How many objects this revision's cross-reference section (re)defines."""


@dataclass(frozen=True)
class AnnotationSnapshot:
    """An annotation as it contributes to what a reader displays and does."""

    object_id: int
    """Its object number, or -1 for an annotation dictionary written directly into the page's ``/Annots``."""

    subtype: str
    rect: tuple[float, ...]
    flags: int
    appearance_digest: str
    """Digest over every entry that can change what it paints (``/AP``, ``/AS``, ``/OC``, ``/MK``, colours,
    border, ``/DA``…): everything but back-pointers, bookkeeping, actions and a widget's field value."""

    field_name: str = ""
    """Fully qualified form field name for widget annotations."""

    field_type: str = ""
    action_digest: str = ""
    """Digest over ``/A`` and ``/AA``: what it does when clicked, shown, hidden…"""

    position: int = 0
    """Its place in the page's ``/Annots`` (identifies direct annotations, which have no object number)."""

    @property
    def key(self) -> tuple[str, int]:
        """What identifies it from one revision to the next."""
        return ("object", self.object_id) if self.object_id >= 0 else ("direct", self.position)

    @property
    def visible(self) -> bool:
        # Hidden (2) and NoView (32) annotations are not painted.
        return not (self.flags & 2 or self.flags & 32) and self.subtype not in ("/Popup", "/Link")


@dataclass(frozen=True)
class PageSnapshot:
    """A page's painted content: content streams, resources, boxes and rotation, without its annotations."""

    number: int
    content_digest: str
    annotations: tuple[AnnotationSnapshot, ...] = ()


@dataclass(frozen=True)
class FieldSnapshot:
    """A form field: its type, whether it holds a value, and a digest of that value."""

    name: str
    field_type: str
    value_digest: str
    has_value: bool
    flags: int = 0
    behaviour_digest: str = ""
    """Digest over the entries that decide how the field formats, computes and shows its value (``/AA``,
    ``/DA``, ``/Ff``, ``/Q``, ``/Opt``, ``/MaxLen``…), not the value itself."""


@dataclass(frozen=True)
class RevisionSnapshot:
    """Everything in one revision that changes what a person sees or what a form says."""

    revision: int
    pages: tuple[PageSnapshot, ...]
    fields: tuple[FieldSnapshot, ...]
    document_display_digest: str
    """Digest over catalog entries that change display or behaviour (optional content, actions, JavaScript)."""

    error: str = ""
    """Why the snapshot is incomplete, when reading this revision failed."""

    unreadable_objects: tuple[str, ...] = ()
    """Objects this revision shows that cannot be read (``"8 0 R"``): their content cannot be compared."""


@dataclass(frozen=True)
class SignatureFacts:
    """One signature or document time-stamp, as read and checked by pyHanko."""

    field_name: str
    kind: SignatureKind
    sub_filter: str
    byte_range: tuple[int, ...] = ()
    contents_offsets: tuple[int, int] | None = None
    """Start and end offsets of the ``/Contents`` hex string, ``<`` and ``>`` included."""

    signed_revision: int | None = None
    read_error: str = ""
    """Why the signature could not be read at all (a FORMAT_FAILURE)."""

    intact: bool | None = None
    """The digest of the byte ranges matches the signed digest."""

    crypto_valid: bool | None = None
    """The signature value verifies with the signer's public key."""

    digest_algorithm: str = ""
    signature_algorithm: str = ""
    ades_sub_indication: str = ""
    """pyHanko's EN 319 102-1 sub-indication for the signature (``OK`` when it passed)."""

    ades_message: str = ""
    signer: CertificateFacts | None = None
    chain: tuple[CertificateFacts, ...] = ()
    """From the signer up to the trust anchor, when a path to one was found."""

    trust_anchor: CertificateFacts | None = None
    revocation_status: Literal["good", "revoked", "unknown", "not-checked"] = "not-checked"
    revocation_time: datetime | None = None
    revocation_reason: str = ""
    revocation_sources: tuple[str, ...] = ()
    signing_time: datetime | None = None
    """The time the signer claims (``signingTime`` or ``/M``): not proven."""

    signature_timestamp: TimestampFacts | None = None
    content_timestamp: TimestampFacts | None = None
    best_signature_time: datetime | None = None
    """The earliest proof of existence pyHanko established for the signature."""

    coverage_level: str = ""
    """pyHanko's coverage: ENTIRE_FILE, ENTIRE_REVISION, CONTIGUOUS_BLOCK_FROM_START or UNCLEAR."""

    diff_level: str = ""
    """pyHanko's modification level (NONE, LTA_UPDATES, FORM_FILLING, ANNOTATIONS, OTHER)."""

    diff_message: str = ""
    changed_fields: tuple[str, ...] = ()
    docmdp: int | None = None
    """The DocMDP permission (1, 2 or 3) this signature imposes, if any."""

    certification: bool = False
    field_locks: tuple[str, ...] = ()
    """Fields locked by this signature's FieldMDP (``("*",)`` for all)."""

    field_lock_action: str = ""
    has_dss_validation_data: bool = False
    """The document security store holds revocation data added after this signature."""

    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentFacts:
    """The whole file as read: its revisions, signatures and, when changes follow a signature, snapshots."""

    file_size: int
    sha256: str
    revisions: tuple[RevisionFacts, ...]
    signatures: tuple[SignatureFacts, ...]
    snapshots: dict[int, RevisionSnapshot] = field(default_factory=dict)
    trailing_bytes: int = 0
    """Bytes after the last ``%%EOF`` marker that belong to no revision."""

    dss_present: bool = False
    dss_crls: int = 0
    dss_ocsps: int = 0
    dss_certs: int = 0
    dss_revisions: tuple[int, ...] = ()
    """The revisions that wrote the document security store."""

    revocation_ignored: str = ""
    """What of the document security store was left unread for the verifier's limits (empty: nothing)."""

    read_warning: str = ""
    """Set when the file needed repair to be read (for example only a prefix of it could be read)."""

    readable_size: int = 0
    """The bytes the reader could use; less than ``file_size`` when the tail is unreadable."""

    repairs: tuple[str, ...] = ()
    """Why and how the file's cross-reference data had to be rebuilt by scanning (empty for a sound file): the
    first entry is the error that stopped the ordinary reading."""

    javascript: tuple[str, ...] = ()
    """Where the document as opened runs JavaScript ("opening action", "page 2 annotation actions"…)."""

    javascript_unchecked: str = ""
    """Why the document could not be searched for active content (scripts, launch actions, attachments, XFA)."""

    launch_actions: tuple[str, ...] = ()
    """Where the document asks the viewer to launch a program or open a file (``/Launch`` actions)."""

    embedded_files: tuple[str, ...] = ()
    """The names of files embedded in the document (attachments)."""

    xfa: bool = False
    """Whether the document carries an XFA form, which some viewers show instead of the signed pages."""
