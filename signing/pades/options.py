"""What a signature is asked for and what it gives, without pyHanko: the signing service, the CLI and the pages
name levels and build options without loading the signer (``signing.pades.sign``) until a document is signed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from signing.appearance import Appearance, VisibleBox

__all__ = ["LEVELS", "DocumentFacts", "Level", "PadesOptions", "PadesResult", "SignerMaterial"]

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass(frozen=True)
class SignerMaterial:
    """Who signs: the key's label in the key store, the DER certificate and the CA certificates above it."""

    key_label: str
    certificate: bytes
    chain: tuple[bytes, ...]


@dataclass(frozen=True)
class PadesOptions:
    level: Level = "B-B"
    """PAdES baseline level."""
    certify: bool = False
    """Certify an unsigned document (DocMDP 2: form filling and signing still allowed), or lock a signed one
    (every form field locked, DocMDP 2: only signatures may be added)."""
    field_name: str | None = None
    """Name of the new signature field (unique in the document); generated when None."""
    reason: str | None = None
    location: str | None = None
    visible: VisibleBox | None = None
    """Where the visible appearance goes; None for an invisible signature."""
    appearance: Appearance | None = None
    """What the visible appearance shows; required with ``visible``."""


@dataclass(frozen=True)
class PadesResult:
    field_name: str
    signing_time: datetime
    level: Level
    certified: bool
    locked: bool


@dataclass(frozen=True)
class DocumentFacts:
    pages: int
    signatures: int
    certified: bool
    locked: bool  # certified or locked with "no changes": nothing more may be signed
