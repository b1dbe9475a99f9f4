"""SCIM filters (RFC 7644 §3.4.2.2) and attribute paths: parsed into a small tree, evaluated on a resource's JSON.

Attribute names are case-insensitive; a name may carry its schema URN (``urn:…:enterprise:2.0:User:department``).
Strings compare without case except ``id`` and ``externalId`` (caseExact in RFC 7643); ``meta.created`` and
``meta.lastModified`` compare as instants. A multi-valued attribute matches when one of its values does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from admin.scim.errors import ScimError

__all__ = ["ENTERPRISE", "AttrPath", "Compare", "Filter", "Logical", "matches", "parse_filter", "parse_path", "resolve"]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_PREFIXES = ("urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:")
COMPARISONS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
CASE_EXACT = frozenset({"id", "externalid"})
DATES = frozenset({"meta.created", "meta.lastmodified"})
MAX_FILTER = 2048


@dataclass(frozen=True)
class AttrPath:
    """``[schema:]attr[.sub]``; ``schema`` is the extension URN, lower-cased, or None for the core schema."""

    schema: str | None
    attr: str
    sub: str | None = None

    @property
    def dotted(self) -> str:
        return f"{self.attr}.{self.sub}" if self.sub else self.attr


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class Logical:
    op: str  # "and" or "or"
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``emails[type eq "work"]``: the values of a multi-valued attribute that pass ``inner``."""

    path: AttrPath
    inner: Filter


Filter = Compare | Present | Logical | Not | ValuePath

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\]])
      | (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)


def parse_path(text: str) -> AttrPath:
    """An attribute path: ``userName``, ``name.familyName``, ``urn:…:enterprise:2.0:User:employeeNumber``."""
    raw = text.strip()
    lowered = raw.lower()
    schema: str | None = None
    for prefix in CORE_PREFIXES:
        if lowered.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    else:
        if lowered.startswith(ENTERPRISE.lower()):
            schema = ENTERPRISE.lower()
            raw = raw[len(ENTERPRISE) :].lstrip(":")
            if not raw:
                raise ScimError.invalid_path(f"{text!r} names a schema, not an attribute")
    parts = raw.split(".")
    if len(parts) > 2 or not all(re.fullmatch(r"\$?[A-Za-z][\w-]*", p) for p in parts):
        raise ScimError.invalid_path(f"{text!r} is not an attribute path")
    return AttrPath(schema, parts[0].lower(), parts[1].lower() if len(parts) == 2 else None)


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER:
            raise ScimError.invalid_filter(f"the filter is over {MAX_FILTER} characters")
        self.tokens: list[tuple[str, str]] = []
        at = 0
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None or match.end() == at:
                if text[at:].strip() == "":
                    break
                raise ScimError.invalid_filter(f"cannot read the filter at {text[at : at + 20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            at = match.end()
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ScimError.invalid_filter("the filter ends too soon")
        self.at += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if (kind, value) != ("punct", punct):
            raise ScimError.invalid_filter(f"expected {punct!r}, found {value!r}")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() in words:
            self.at += 1
            return token[1].lower()
        return None

    def filter(self) -> Filter:
        left = self.conjunction()
        while self.keyword("or"):
            left = Logical("or", left, self.conjunction())
        return left

    def conjunction(self) -> Filter:
        left = self.negation()
        while self.keyword("and"):
            left = Logical("and", left, self.negation())
        return left

    def negation(self) -> Filter:
        if self.keyword("not"):
            self.expect("(")
            inner = self.filter()
            self.expect(")")
            return Not(inner)
        return self.atom()

    def atom(self) -> Filter:
        kind, value = self.take()
        if (kind, value) == ("punct", "("):
            inner = self.filter()
            self.expect(")")
            return inner
        if kind != "word":
            raise ScimError.invalid_filter(f"expected an attribute, found {value!r}")
        path = parse_path(value)
        if self.peek() == ("punct", "["):
            self.take()
            inner = self.filter()
            self.expect("]")
            return ValuePath(path, inner)
        op = self.keyword("pr", *COMPARISONS)
        if op is None:
            raise ScimError.invalid_filter(f"expected an operator after {value!r}")
        if op == "pr":
            return Present(path)
        return Compare(path, op, self.literal())

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            raise ScimError.invalid_filter(f"{value!r} is not a value (strings go in double quotes)") from None


def parse_filter(text: str) -> Filter:
    parser = _Parser(text)
    if not parser.tokens:
        raise ScimError.invalid_filter("the filter is empty")
    tree = parser.filter()
    left = parser.peek()
    if left is not None:
        raise ScimError.invalid_filter(f"unexpected {left[1]!r} in the filter")
    return tree


def _get(document: Mapping[str, Any], name: str) -> Any:
    for key, value in document.items():
        if key.lower() == name:
            return value
    return None


def resolve(resource: Mapping[str, Any], path: AttrPath) -> list[Any]:
    """The values at ``path`` (flattened over multi-valued attributes); [] when absent."""
    holder: Any = resource
    if path.schema is not None:
        holder = _get(resource, path.schema) or {}
    value = _get(holder, path.attr) if isinstance(holder, Mapping) else None
    values = value if isinstance(value, list) else [value]
    if path.sub is not None:
        values = [_get(v, path.sub) if isinstance(v, Mapping) else None for v in values]
    elif values and all(isinstance(v, Mapping) and "value" in v for v in values if v is not None):
        values = [v.get("value") if isinstance(v, Mapping) else v for v in values]  # emails eq "x": their values
    return [v for v in values if v is not None and v not in ("", [], {})]


def matches(resource: Mapping[str, Any], tree: Filter) -> bool:
    if isinstance(tree, Logical):
        if tree.op == "and":
            return matches(resource, tree.left) and matches(resource, tree.right)
        return matches(resource, tree.left) or matches(resource, tree.right)
    if isinstance(tree, Not):
        return not matches(resource, tree.inner)
    if isinstance(tree, Present):
        return bool(resolve(resource, tree.path))
    if isinstance(tree, ValuePath):
        holder = _get(resource, tree.path.schema) if tree.path.schema else resource
        items = _get(holder or {}, tree.path.attr)
        return any(
            isinstance(i, Mapping) and matches(i, tree.inner) for i in (items if isinstance(items, list) else [])
        )
    values = resolve(resource, tree.path)
    if tree.op == "ne":
        return not any(_compare(tree.path, v, "eq", tree.value) for v in values)
    return any(_compare(tree.path, v, tree.op, tree.value) for v in values)


def _compare(path: AttrPath, actual: Any, op: str, wanted: Any) -> bool:
    if path.dotted in DATES:
        actual, wanted = _instant(actual), _instant(wanted)
        if actual is None or wanted is None:
            return False
    elif isinstance(actual, bool) or isinstance(wanted, bool):
        return op == "eq" and actual == wanted
    elif isinstance(actual, str) and isinstance(wanted, str):
        if path.dotted not in CASE_EXACT:
            actual, wanted = actual.casefold(), wanted.casefold()
    elif not (isinstance(actual, int | float) and isinstance(wanted, int | float)):
        return False
    try:
        if op == "eq":
            return bool(actual == wanted)
        if op == "co":
            return isinstance(actual, str) and wanted in actual
        if op == "sw":
            return isinstance(actual, str) and actual.startswith(wanted)
        if op == "ew":
            return isinstance(actual, str) and actual.endswith(wanted)
        return bool({"gt": actual > wanted, "ge": actual >= wanted, "lt": actual < wanted, "le": actual <= wanted}[op])
    except TypeError:
        return False


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
