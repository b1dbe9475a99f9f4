"""Signed anchors of the audit log's head, kept outside the database, so a log that lost its newest entries shows it.

A chain that lost its tail is a shorter valid chain, and the sealed heads roll back with it when a database is
restored or a replica that had not received the last commits is promoted (asynchronous replication). An anchor
names, at one moment, each writer's last entry (its number in the writer's chain and its hash) and the log's
newest entry, signed with the instance's anchor key (anchor_keys.py: a key in the HSM, not in the database or the
settings) and carrying its public key. Written regularly to a folder on another disk or host (``antin audit
anchor`` from a timer), it lets ``antin audit verify`` say "the last N entries up to #S recorded at T are missing"
(as a Certificate Transparency log's signed tree head does, RFC 6962 §3.5).

A restore from a backup starts a new **epoch**: its first anchor says what the restore lost (``restore``) and
counts on from the folder's newest anchor's epoch, so later anchors and verifies go on from the restored log.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from antin.kernel.audit.anchor_keys import (
    AnchorSigner,
    TrustedKeys,
    key_id,
    legacy_key_id,
    signature_verifies,
)
from antin.kernel.audit.chain import as_utc, canonical_json
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database

__all__ = [
    "ANCHOR_FORMAT",
    "LEGACY_FORMAT",
    "Anchor",
    "AnchorError",
    "AnchoredHead",
    "anchor_document",
    "anchor_file_name",
    "latest_anchor_file",
    "load_anchor",
    "take_anchor",
    "write_anchor",
]

ANCHOR_FORMAT = "antin-audit-anchor/2"
LEGACY_FORMAT = "antin-audit-anchor/1"  # Ed25519 derived from the instance secret: still verified, never written
_V2_FIELDS = ("public_key", "epoch", "restore")


class AnchorError(Exception):
    """An anchor file that cannot be trusted: unreadable, malformed, or not signed by a trusted key."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"anchor {path} refused: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class AnchoredHead:
    """One writer's last entry when the anchor was taken."""

    writer: int
    writer_seq: int
    entry_hash: str


@dataclass(frozen=True)
class Anchor:
    """The log's head at one moment: its newest entry (``seq``, hash, when it was recorded) and every writer's."""

    seq: int
    entry_hash: str
    recorded_at: str | None  # when the newest entry was recorded (ISO 8601, UTC); None for an empty log
    anchored_at: str
    entries: int  # how many entries the writers' chains held
    writers: tuple[AnchoredHead, ...]
    key_id: str
    public_key: str = ""  # base64url DER SubjectPublicKeyInfo of the signing key ("" in the legacy format)
    epoch: int = 0  # restores since the folder's first anchor
    restore: dict[str, Any] | None = field(default=None, hash=False)  # what the restore that began the epoch lost
    format: str = ANCHOR_FORMAT

    def signed_payload(self) -> bytes:
        body = asdict(self)
        if self.format == LEGACY_FORMAT:
            for name in _V2_FIELDS:
                body.pop(name)
        return canonical_json(body).encode()

    def public_key_der(self) -> bytes:
        return _b64decode(self.public_key)


def take_anchor(
    database: Database,
    signer: AnchorSigner,
    clock: Callable[[], datetime],
    *,
    epoch: int = 0,
    restore: dict[str, Any] | None = None,
) -> tuple[Anchor, str]:
    """Read the heads (one transaction) and sign them: the anchor and its base64url signature.

    Its time is read after the heads, so every entry it names was recorded before it (the count of a lost tail
    that was written over relies on that)."""
    spki = signer.public_key()
    with database.session() as session:
        heads = session.scalars(select(AuditHead).where(AuditHead.id > 0, AuditHead.seq > 0).order_by(AuditHead.id))
        writers = tuple(AnchoredHead(h.id, h.seq, h.entry_hash) for h in heads)
        newest = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
        anchor = Anchor(
            seq=newest.seq if newest else 0,
            entry_hash=newest.entry_hash if newest else "",
            recorded_at=_iso(as_utc(newest.occurred_at)) if newest else None,
            anchored_at=_iso(clock()),
            entries=sum(head.writer_seq for head in writers),
            writers=writers,
            key_id=key_id(spki),
            public_key=_b64encode(spki),
            epoch=epoch,
            restore=restore,
        )
    return anchor, _b64encode(signer.sign(anchor.signed_payload()))


def anchor_document(anchor: Anchor, signature: str) -> dict[str, Any]:
    """The anchor as its file holds it (JSON)."""
    body = asdict(anchor)
    if anchor.format == LEGACY_FORMAT:
        for name in _V2_FIELDS:
            body.pop(name)
    return {"format": body.pop("format"), **body, "signature": signature}


def write_anchor(anchor: Anchor, signature: str, out: Path) -> Path:
    """Write the anchor to ``out`` (a file) or a new file in ``out`` (a folder); atomically, never half a file."""
    document = anchor_document(anchor, signature)
    if out.is_dir():
        out = out / anchor_file_name(anchor)
    partial = out.with_name(f".{out.name}.partial")
    with partial.open("w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())  # a power cut must not leave the newest anchor empty
    partial.replace(out)
    return out


def anchor_file_name(anchor: Anchor) -> str:
    """``anchor-<time>-<seq>.json``: names that sort by time (:func:`latest_anchor_file`)."""
    stamp = anchor.anchored_at.replace("-", "").replace(":", "").replace(".", "")
    return f"anchor-{stamp}-{anchor.seq}.json"


def latest_anchor_file(folder: Path) -> Path | None:
    """The newest anchor in a folder written by :func:`write_anchor` (its names sort by time)."""
    names = sorted(folder.glob("anchor-*.json")) if folder.is_dir() else []
    return names[-1] if names else None


def load_anchor(path: Path, trusted: TrustedKeys) -> Anchor:
    """Read an anchor and check its signature against the trusted keys; :class:`AnchorError` if it cannot be used.

    Reading the instance's own key may raise ``AnchorKeyError`` (the HSM locked or absent)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnchorError(path, f"cannot be read ({err})") from err
    try:
        anchor = _anchor_from(document)
        signature = _b64decode(str(document["signature"]))
        spki = anchor.public_key_der() if anchor.format == ANCHOR_FORMAT else b""
        if spki and key_id(spki) != anchor.key_id:
            raise ValueError("its key_id is not its public key's")
    except (KeyError, TypeError, ValueError, binascii.Error) as err:
        raise AnchorError(path, f"is not an audit anchor ({err})") from err
    if anchor.format == LEGACY_FORMAT:
        legacy = trusted.legacy
        if legacy is None or anchor.key_id != legacy_key_id(legacy):
            raise AnchorError(path, "it was signed by another key (another instance's secret, or forged)")
        if not signature_verifies(_legacy_spki(legacy), signature, anchor.signed_payload()):
            raise AnchorError(path, "its signature does not verify (altered or forged)")
        return anchor
    if trusted.find(anchor.key_id) != spki:
        raise AnchorError(
            path, f"it was signed by key {anchor.key_id}, not a trusted one (another instance's, or forged)"
        )
    if not signature_verifies(spki, signature, anchor.signed_payload()):
        raise AnchorError(path, "its signature does not verify (altered or forged)")
    return anchor


def _anchor_from(document: Any) -> Anchor:
    if not isinstance(document, dict) or document.get("format") not in (ANCHOR_FORMAT, LEGACY_FORMAT):
        raise ValueError(f"format is not {ANCHOR_FORMAT}")
    writers = tuple(
        AnchoredHead(_int(w["writer"]), _int(w["writer_seq"]), str(w["entry_hash"])) for w in document["writers"]
    )
    recorded = document["recorded_at"]
    legacy = document["format"] == LEGACY_FORMAT
    restore = None if legacy else document["restore"]
    if restore is not None and not isinstance(restore, dict):
        raise TypeError("restore is not an object")
    return Anchor(
        seq=_int(document["seq"]),
        entry_hash=str(document["entry_hash"]),
        recorded_at=None if recorded is None else str(recorded),
        anchored_at=str(document["anchored_at"]),
        entries=_int(document["entries"]),
        writers=writers,
        key_id=str(document["key_id"]),
        public_key="" if legacy else str(document["public_key"]),
        epoch=0 if legacy else _int(document["epoch"]),
        restore=restore,
        format=str(document["format"]),
    )


def _legacy_spki(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{value!r} is not a whole number")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
