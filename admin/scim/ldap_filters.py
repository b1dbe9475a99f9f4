"""A SCIM filter turned into an LDAP filter that slapd can answer from its indexes, so that a search does not read
every official within reach to test each one here.

The LDAP filter is a *superset*: every official the SCIM filter matches is among those slapd returns, and the
filter is still matched exactly on each one's resource afterwards (:func:`admin.scim.filters.matches`). So a part
that LDAP cannot say the same way (``ne``, ``gt``, ``not``, ``active``, ``meta.lastModified``, a value path, a
number) is dropped from an ``and`` (the rest still narrows) and makes an ``or`` unnarrowed (None: every official).
LDAP's matching rules for these attributes ignore case (as SCIM does for them) and are looser than exact (spaces,
a telephone number's punctuation), which only widens the superset.
"""

from __future__ import annotations

from admin.scim.filters import ENTERPRISE, Compare, Filter, Logical, Present
from directory.ldap_client import filter_format

__all__ = ["superset_filter"]

# (schema, attr.sub) → the LDAP attributes that hold it; several: any of them (displayName falls back to cn)
_ATTRIBUTES: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, "username"): ("uid",),
    (None, "name.formatted"): ("cn",),
    (None, "name.familyname"): ("sn",),
    (None, "name.givenname"): ("givenName",),
    (None, "displayname"): ("displayName", "cn"),
    (None, "emails"): ("mail",),
    (None, "emails.value"): ("mail",),
    (None, "phonenumbers"): ("telephoneNumber",),
    (None, "phonenumbers.value"): ("telephoneNumber",),
    (None, "title"): ("antinPosition",),
    (ENTERPRISE.lower(), "employeenumber"): ("employeeNumber",),
}
_PATTERNS = {"eq": "(%s=%%s)", "sw": "(%s=%%s*)", "ew": "(%s=*%%s)", "co": "(%s=*%%s*)"}


def superset_filter(tree: Filter) -> str | None:
    """An LDAP filter that every official matching ``tree`` passes; None when it cannot narrow anything."""
    if isinstance(tree, Compare):
        return _compare(tree)
    if isinstance(tree, Present):
        attributes = _ATTRIBUTES.get((tree.path.schema, tree.path.dotted))
        return _any([f"({a}=*)" for a in attributes]) if attributes else None
    if isinstance(tree, Logical):
        left, right = superset_filter(tree.left), superset_filter(tree.right)
        if tree.op == "and":
            parts = [p for p in (left, right) if p is not None]
            return parts[0] if len(parts) == 1 else (f"(&{''.join(parts)})" if parts else None)
        return f"(|{left}{right})" if left is not None and right is not None else None
    return None  # not, a value path: left to the exact match


def _compare(tree: Compare) -> str | None:
    attributes = _ATTRIBUTES.get((tree.path.schema, tree.path.dotted))
    pattern = _PATTERNS.get(tree.op)
    if not attributes or pattern is None or not isinstance(tree.value, str) or not tree.value:
        return None
    return _any([filter_format(pattern % a, tree.value) for a in attributes])


def _any(terms: list[str]) -> str:
    return terms[0] if len(terms) == 1 else f"(|{''.join(terms)})"
