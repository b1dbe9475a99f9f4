"""Versions of what administrators change, so that two of them cannot overwrite each other silently.

A version is an entity tag (RFC 9110 §8.8.3) computed from what the administrator sees of the resource: any change
anyone makes to it (through the API, SCIM, the console or the CLI) gives another tag. A change names the tag it was
made against (``If-Match``); :func:`check_version` refuses it when the resource moved on. For an official's edit the
directory also makes the write conditional on the entry's entryCSN read with the version (an LDAP assertion,
RFC 4528), so a change that lands between the check and the write is refused too; other changes (a move, a unit
renamed, a member added) are checked on the read alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from admin.errors import PreconditionFailedError, PreconditionRequiredError

__all__ = ["check_version", "etag_of"]


def etag_of(document: Mapping[str, Any]) -> str:
    """A weak entity tag of a resource's JSON form (weak: equal meaning, not equal bytes)."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return 'W/"' + hashlib.sha256(canonical.encode()).hexdigest()[:24] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith(("W/", "w/")) else tag


def check_version(current: str, if_match: str | None, *, required: bool = False) -> None:
    """Raise unless ``if_match`` (an If-Match header's value: tags, comma-separated, or ``*``) names ``current``.

    No ``if_match`` passes unless ``required``. Tags compare weakly: ``W/"x"`` and ``"x"`` are the same version.
    """
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequiredError()
        return
    if if_match.strip() == "*":
        return
    if _opaque(current) not in {_opaque(tag) for tag in if_match.split(",") if tag.strip()}:
        raise PreconditionFailedError(current)
