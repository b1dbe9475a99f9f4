"""Search filters and DNs: values escaped into them (RFC 4515, RFC 4514), DNs taken apart and compared."""

from __future__ import annotations

from collections.abc import Iterable

import ldap
import ldap.dn
import ldap.filter

from directory.errors import InvalidInputError

__all__ = [
    "dn_parent",
    "dn_rdn_value",
    "equality_terms",
    "escape_dn_value",
    "explode_dn",
    "filter_format",
    "normalize_dn",
]


def filter_format(template: str, *values: str) -> str:
    """A search filter with every ``%s`` replaced by an escaped value (RFC 4515)."""
    return str(ldap.filter.filter_format(template, list(values)))


def equality_terms(pairs: Iterable[tuple[str, str]]) -> str:
    """``(attr=value)`` for each pair, the value escaped (RFC 4515), one after the other: the inside of an ``(|…)``.

    An import's uniqueness check names 1,500 values a search; this escapes each once, without a template.
    """
    escape = ldap.filter.escape_filter_chars
    return "".join(f"({attr}={escape(value)})" for attr, value in pairs)


def escape_dn_value(value: str) -> str:
    """One RDN value escaped for a DN string (RFC 4514): ``,+"\\<>;=#`` and leading/trailing spaces."""
    return str(ldap.dn.escape_dn_chars(value))


def explode_dn(dn: str) -> list[tuple[str, str]]:
    """The (attribute, value) pairs of a DN from the leaf to the root (multi-valued RDNs: first AVA)."""
    try:
        return [(rdn[0][0], rdn[0][1]) for rdn in ldap.dn.str2dn(dn)]
    except (ldap.DECODING_ERROR, UnicodeDecodeError) as err:  # a hex escape such as \ca that is not UTF-8
        raise InvalidInputError("dn", f"not a valid DN: {dn!r}") from err


def dn_parent(dn: str) -> str:
    parts = ldap.dn.str2dn(dn)
    return str(ldap.dn.dn2str(parts[1:]))


def dn_rdn_value(dn: str) -> str:
    return explode_dn(dn)[0][1]


def normalize_dn(dn: str) -> str:
    """A DN in a form fit for comparing (attribute names and values lower-cased, spacing removed)."""
    try:
        parts = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        return dn.strip().lower()
    return str(ldap.dn.dn2str([[(a.lower(), v.lower(), f) for a, v, f in rdn] for rdn in parts]))
