"""Walking a revision's object tree: resolved entries, the page tree with inherited attributes, the field tree.

Shared by the snapshots (what each revision paints) and the search for JavaScript; every walk is bounded in depth,
since a hostile file can nest or loop its trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyhanko.pdf_utils import generic

__all__ = ["INHERITABLE", "MAX_DEPTH", "entry", "iter_fields", "iter_pages", "qualified_field_name"]

INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
"""The page attributes a page inherits from its ancestors in the page tree."""
MAX_DEPTH = 64
"""How deep a tree (pages, fields, nested objects) is followed before the file counts as hostile."""


def entry(obj: generic.PdfObject, key: str, default: Any = None) -> Any:
    """``obj[key]`` resolved (pyHanko's ``dict.get`` would return an unresolved indirect reference)."""
    if not isinstance(obj, generic.DictionaryObject):
        return default
    try:
        return obj[key]
    except KeyError:
        return default


def iter_pages(
    node: generic.DictionaryObject, inherited: dict[str, generic.PdfObject], depth: int = 0
) -> Iterator[tuple[generic.DictionaryObject, dict[str, generic.PdfObject]]]:
    if depth > MAX_DEPTH:
        raise ValueError("page tree too deep")
    attrs = dict(inherited)
    for key in INHERITABLE:
        if key in node:
            attrs[key] = node.raw_get(key)
    if entry(node, "/Type") == "/Pages" or "/Kids" in node:
        for kid in entry(node, "/Kids", generic.ArrayObject()):
            yield from iter_pages(kid.get_object(), attrs, depth + 1)
    else:
        yield node, attrs


def qualified_field_name(annot: generic.DictionaryObject) -> tuple[str, str]:
    """The fully qualified name and the (inherited) type of the field a widget belongs to."""
    parts: list[str] = []
    field_type = ""
    node: generic.DictionaryObject | None = annot
    seen = 0
    while node is not None and seen < MAX_DEPTH:
        seen += 1
        if "/T" in node:
            parts.append(str(node["/T"]))
        if not field_type and "/FT" in node:
            field_type = str(node["/FT"])
        parent = entry(node, "/Parent")
        node = parent if isinstance(parent, generic.DictionaryObject) else None
    return ".".join(reversed(parts)), field_type


def iter_fields(
    fields: generic.PdfObject, prefix: str, inherited_type: str, depth: int = 0
) -> Iterator[tuple[str, str, generic.DictionaryObject]]:
    if depth > MAX_DEPTH or not isinstance(fields, list):
        return
    for ref in fields:
        node = ref.get_object()
        if not isinstance(node, generic.DictionaryObject):
            continue
        if "/T" not in node:
            continue  # a bare widget, not a field
        name = f"{prefix}.{node['/T']}" if prefix else str(node["/T"])
        field_type = str(entry(node, "/FT", inherited_type))
        kids = entry(node, "/Kids")
        named_kids = [k for k in kids if "/T" in k.get_object()] if isinstance(kids, list) else []
        if named_kids:
            yield from iter_fields(generic.ArrayObject(named_kids), name, field_type, depth + 1)
        else:
            yield name, field_type, node
