"""The audit chain's arithmetic: entry hashes, each writer's first link, and the seals of the heads.

Shared by the appender (service.py) and the verifier (verify.py) so that both compute exactly the same values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, Protocol

GENESIS = "0" * 64
REGISTER_ID = 0  # the audit_head row that counts the writers; writers are numbered from 1


def head_key(secret_key: str) -> bytes:
    return hashlib.sha256(b"antin audit head\0" + secret_key.encode()).digest()


def genesis_of(writer: int) -> str:
    """The ``prev_hash`` of a writer's first entry. Writer 1 starts where the single chain of old started, so
    the entries written before there were writers are its chain unchanged."""
    if writer == 1:
        return GENESIS
    return hashlib.sha256(f"antin audit writer {writer}".encode()).hexdigest()


def writer_seal(key: bytes, writer: int, seq: int, hash_: str) -> str:
    return _mac(key, f"writer {writer}:{seq}:{hash_}")


def legacy_seal(key: bytes, seq: int, hash_: str) -> str:
    """The single head's seal from before there were writers: valid only while there is no register."""
    return _mac(key, f"{seq}:{hash_}")


def register_seal(key: bytes, writers: int, hash_: str) -> str:
    return _mac(key, f"writers:{writers}:{hash_}")


def _mac(key: bytes, message: str) -> str:
    return hmac.digest(key, message.encode(), "sha256").hex()  # one-shot: the same HMAC, no object per seal


# json.dumps with these options builds an encoder per call; this one is json.dumps's own, built once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def as_utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ChainedFields(Protocol):
    """What an entry's hash covers: a stored entry (``AuditEntry``) or one about to be appended."""

    @property
    def writer_seq(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def details(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...


def entry_hash(entry: ChainedFields) -> str:
    fields = [
        entry.writer_seq,
        as_utc(entry.occurred_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        entry.event,
        entry.actor,
        entry.subject,
        entry.client_id,
        entry.ip,
        entry.details,
        entry.prev_hash,
    ]
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()
