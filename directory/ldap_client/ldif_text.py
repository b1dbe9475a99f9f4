"""LDIF text read into :class:`LdifRecord` values (with the line each starts on) and written from entries."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import ldif

from directory.errors import InvalidInputError
from directory.ldap_client.values import LdifRecord, as_bytes, as_text

__all__ = ["read_ldif", "write_ldif"]


class _RecordingParser(ldif.LDIFParser):  # type: ignore[misc]
    def __init__(self, text: str) -> None:
        super().__init__(io.BytesIO(text.encode("utf-8")), process_url_schemes=[])
        self.records: list[LdifRecord] = []
        self._start = 1

    def _next_key_and_value(self) -> tuple[str | None, Any]:
        # Remember the line each record starts on; the parser reads one line ahead.
        key, value = super()._next_key_and_value()
        if key == "dn":
            self._start = max(1, self.line_counter - 1)
        return key, value

    def handle(self, dn: str, entry: dict[str, list[bytes]]) -> None:
        # python-ldap gives None for a "-" line (a change record's separator) and for a URL value ("attr:< url")
        if any(value is None for values in entry.values() for value in values):
            raise ValueError("a '-' line or a URL value (attr:< url): only entries with their values can be read")
        self.records.append(LdifRecord(self._start, dn, {k: as_text(v) for k, v in entry.items()}))


def read_ldif(text: str) -> list[LdifRecord]:
    """The content records of an LDIF text; a malformed file raises InvalidInputError naming the line."""
    parser = _RecordingParser(text)
    try:
        parser.parse()
    except (ValueError, KeyError) as err:
        raise InvalidInputError("ldif", f"line {parser.line_counter}: {err}") from err
    except EOFError:  # python-ldap's parser, when the file ends inside a record
        raise InvalidInputError("ldif", f"line {parser.line_counter}: the file ends inside a record") from None
    except (AttributeError, TypeError):  # python-ldap's parser on a URL "version:<" line, and the like
        raise InvalidInputError("ldif", f"line {parser.line_counter}: a line the LDIF reader cannot read") from None
    return parser.records


def write_ldif(entries: Sequence[tuple[str, Mapping[str, Sequence[str]]]]) -> str:
    """LDIF text of (dn, attributes) pairs; non-ASCII values are base64 as RFC 2849 requires."""
    out = io.StringIO()
    writer = ldif.LDIFWriter(out)
    for dn, attrs in entries:
        writer.unparse(dn, {k: as_bytes(v) for k, v in attrs.items() if v})
    return out.getvalue()
