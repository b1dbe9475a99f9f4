"""Where a document runs JavaScript: a viewer that runs it can change what a signed document shows.

The places become a warning of the document's report (``signing.validation.indications``) and change no verdict:
a script changes no signed byte.
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic

from signing.pades.reading.pdf_tree import entry, iter_fields, iter_pages, qualified_field_name

__all__ = ["javascript_places"]


_MAX_ACTIONS = 64  # an action chain (/Next) longer than this is not followed further


def _runs_javascript(action: generic.PdfObject, seen: int = 0) -> bool:
    """Whether an action, or one chained after it by ``/Next``, runs JavaScript."""
    if isinstance(action, generic.ArrayObject):
        return any(_runs_javascript(a.get_object(), seen + 1) for a in action[:_MAX_ACTIONS])
    if not isinstance(action, generic.DictionaryObject) or seen > _MAX_ACTIONS:
        return False
    if entry(action, "/S") == "/JavaScript" or "/JS" in action:
        return True
    following = entry(action, "/Next")
    return following is not None and _runs_javascript(following, seen + 1)


def _additional_actions_run_javascript(node: generic.DictionaryObject) -> bool:
    actions = entry(node, "/AA")
    if not isinstance(actions, generic.DictionaryObject):
        return False
    return any(_runs_javascript(entry(actions, key)) for key in actions)


def javascript_places(root: generic.DictionaryObject) -> tuple[str, ...]:
    """Where the document runs JavaScript: named scripts, the opening action, page, annotation and field actions.

    A viewer that runs them can change what a signed document shows without changing a signed byte.
    """
    places: list[str] = []
    names = entry(root, "/Names")
    if isinstance(names, generic.DictionaryObject) and "/JavaScript" in names:
        places.append("document scripts")
    if _runs_javascript(entry(root, "/OpenAction")):
        places.append("opening action")
    if _additional_actions_run_javascript(root):
        places.append("document actions")
    pages = entry(root, "/Pages")
    if isinstance(pages, generic.DictionaryObject):
        for number, (page, _attrs) in enumerate(iter_pages(pages, {}), start=1):
            if _additional_actions_run_javascript(page):
                places.append(f"page {number} actions")
            for ref in entry(page, "/Annots", generic.ArrayObject()):
                annot = ref.get_object()
                if isinstance(annot, generic.DictionaryObject) and (
                    _runs_javascript(entry(annot, "/A")) or _additional_actions_run_javascript(annot)
                ):
                    name = qualified_field_name(annot)[0] if "/Parent" in annot or "/T" in annot else ""
                    places.append(f"page {number} {'field ' + repr(name) if name else 'annotation'} actions")
    form = entry(root, "/AcroForm")
    if isinstance(form, generic.DictionaryObject):
        for name, _type, node in iter_fields(entry(form, "/Fields", generic.ArrayObject()), "", ""):
            place = f"field {name!r} actions"
            if _additional_actions_run_javascript(node) and not any(place in p for p in places):
                places.append(place)
    return tuple(dict.fromkeys(places))
