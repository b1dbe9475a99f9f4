"""Active content beside scripts: files embedded in the document and XFA forms.

An embedded file (an attachment, in the ``/EmbeddedFiles`` name tree or a file-attachment annotation) is bytes a
reader may open outside the signed pages, and an XFA form is content some viewers render instead of the pages
that were signed. Neither changes a verdict; both are warnings of the document's report.
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic

from signing.pades.reading.pdf_tree import entry, iter_pages

__all__ = ["embedded_files", "has_xfa"]

_MAX_NAMES = 1000  # names read from a name tree; the count beyond is still reported as "more"
_MAX_DEPTH = 32


def _name_tree_names(node: generic.PdfObject, found: list[str], depth: int = 0) -> None:
    if not isinstance(node, generic.DictionaryObject) or depth > _MAX_DEPTH or len(found) >= _MAX_NAMES:
        return
    names = entry(node, "/Names")
    if isinstance(names, generic.ArrayObject):
        for index in range(0, min(len(names), 2 * _MAX_NAMES), 2):  # pyHanko's arrays cannot be sliced
            found.append(str(names[index])[:200])
    for kid in entry(node, "/Kids", generic.ArrayObject()):
        _name_tree_names(kid.get_object(), found, depth + 1)


def embedded_files(root: generic.DictionaryObject) -> tuple[str, ...]:
    """The document's attachments: names in the ``/EmbeddedFiles`` tree, then file-attachment annotations."""
    found: list[str] = []
    names = entry(root, "/Names")
    if isinstance(names, generic.DictionaryObject):
        _name_tree_names(entry(names, "/EmbeddedFiles"), found)
    pages = entry(root, "/Pages")
    if isinstance(pages, generic.DictionaryObject):
        for number, (page, _attrs) in enumerate(iter_pages(pages, {}), start=1):
            for ref in entry(page, "/Annots", generic.ArrayObject()):
                annot = ref.get_object()
                if isinstance(annot, generic.DictionaryObject) and entry(annot, "/Subtype") == "/FileAttachment":
                    found.append(f"attachment on page {number}")
    return tuple(dict.fromkeys(found))


def has_xfa(root: generic.DictionaryObject) -> bool:
    form = entry(root, "/AcroForm")
    return isinstance(form, generic.DictionaryObject) and entry(form, "/XFA") is not None
