"""Signed anchors of the audit log's head, kept outside the database, so a log that lost its newest entries shows it.

A chain that lost its tail is a shorter valid chain, and the sealed heads roll back with it when a database is
restored or a replica that had not received the last commits is promoted (asynchronous replication). An anchor
names, at one moment, each writer's last entry (its number in the writer's chain and its hash) and the log's
newest entry, signed with an Ed25519 key derived from the instance secret (not stored in the database, like the
heads' seal key). Written regularly to a folder on another disk or host (``antin audit anchor`` from a timer), it
lets ``antin audit verify`` say "the last N entries up to #S recorded at T are missing" (as a Certificate
Transparency log's signed tree head does, RFC 6962 §3.5).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from antin.kernel.audit.chain import as_utc, canonical_json
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database

__all__ = [
    "ANCHOR_FORMAT",
    "Anchor",
    "AnchorError",
    "AnchoredHead",
    "anchor_key",
    "latest_anchor_file",
    "load_anchor",
    "take_anchor",
    "write_anchor",
]

ANCHOR_FORMAT = "antin-audit-anchor/1"


class AnchorError(Exception):
    """An anchor file that cannot be trusted: unreadable, malformed, or not signed by this instance's key."""

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

    def signed_payload(self) -> bytes:
        body = asdict(self)
        body["format"] = ANCHOR_FORMAT
        return canonical_json(body).encode()


def anchor_key(secret_key: str) -> Ed25519PrivateKey:
    """The instance's anchor signing key: derived from its secret, so it survives any loss of the database."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"antin audit anchor\0" + secret_key.encode()).digest())


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def take_anchor(database: Database, secret_key: str, clock: Callable[[], datetime]) -> tuple[Anchor, str]:
    """Read the heads (one transaction) and sign them: the anchor and its base64url signature.

    Its time is read after the heads, so every entry it names was recorded before it (the count of a lost tail
    that was written over relies on that)."""
    with database.session() as session:
        heads = session.scalars(select(AuditHead).where(AuditHead.id > 0, AuditHead.seq > 0).order_by(AuditHead.id))
        writers = tuple(AnchoredHead(h.id, h.seq, h.entry_hash) for h in heads)
        newest = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
        key = anchor_key(secret_key)
        anchor = Anchor(
            seq=newest.seq if newest else 0,
            entry_hash=newest.entry_hash if newest else "",
            recorded_at=_iso(as_utc(newest.occurred_at)) if newest else None,
            anchored_at=_iso(clock()),
            entries=sum(head.writer_seq for head in writers),
            writers=writers,
            key_id=key_id_of(key.public_key()),
        )
    signature = base64.urlsafe_b64encode(key.sign(anchor.signed_payload())).decode().rstrip("=")
    return anchor, signature


def write_anchor(anchor: Anchor, signature: str, out: Path) -> Path:
    """Write the anchor to ``out`` (a file) or a new file in ``out`` (a folder); atomically, never half a file."""
    document = {"format": ANCHOR_FORMAT, **asdict(anchor), "signature": signature}
    if out.is_dir():
        stamp = anchor.anchored_at.replace("-", "").replace(":", "").replace(".", "")
        out = out / f"anchor-{stamp}-{anchor.seq}.json"
    partial = out.with_name(f".{out.name}.partial")
    with partial.open("w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())  # a power cut must not leave the newest anchor empty
    partial.replace(out)
    return out


def latest_anchor_file(folder: Path) -> Path | None:
    """The newest anchor in a folder written by :func:`write_anchor` (its names sort by time)."""
    names = sorted(folder.glob("anchor-*.json")) if folder.is_dir() else []
    return names[-1] if names else None


def load_anchor(path: Path, secret_key: str) -> Anchor:
    """Read an anchor and check its signature with this instance's key; :class:`AnchorError` if it cannot be used."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnchorError(path, f"cannot be read ({err})") from err
    try:
        anchor = _anchor_from(document)
        signature = base64.urlsafe_b64decode(str(document["signature"]) + "==")
    except (KeyError, TypeError, ValueError, binascii.Error) as err:
        raise AnchorError(path, f"is not an audit anchor ({err})") from err
    public = anchor_key(secret_key).public_key()
    if anchor.key_id != key_id_of(public):
        raise AnchorError(path, "it was signed by another key (another instance's secret, or forged)")
    try:
        public.verify(signature, anchor.signed_payload())
    except InvalidSignature as err:
        raise AnchorError(path, "its signature does not verify (altered or forged)") from err
    return anchor


def _anchor_from(document: Any) -> Anchor:
    if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
        raise ValueError(f"format is not {ANCHOR_FORMAT}")
    writers = tuple(
        AnchoredHead(_int(w["writer"]), _int(w["writer_seq"]), str(w["entry_hash"])) for w in document["writers"]
    )
    recorded = document["recorded_at"]
    return Anchor(
        seq=_int(document["seq"]),
        entry_hash=str(document["entry_hash"]),
        recorded_at=None if recorded is None else str(recorded),
        anchored_at=str(document["anchored_at"]),
        entries=_int(document["entries"]),
        writers=writers,
        key_id=str(document["key_id"]),
    )


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{value!r} is not a whole number")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
