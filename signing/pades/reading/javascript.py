"""Where a document runs JavaScript or launches programs: a viewer that runs them can change what a signed
document shows, or run something on the reader's computer.

The places become warnings of the document's report (``signing.validation.indications``) and change no verdict:
an action changes no signed byte.
"""

from __future__ import annotations

from collections.abc import Callable

from pyhanko.pdf_utils import generic

from signing.pades.reading.pdf_tree import entry, iter_fields, iter_pages, qualified_field_name

__all__ = ["javascript_places", "launch_places"]


_MAX_ACTIONS = 64  # an action chain (/Next) longer than this is not followed further


ActionTest = Callable[[generic.DictionaryObject], bool]


def _is_javascript(action: generic.DictionaryObject) -> bool:
    return bool(entry(action, "/S") == "/JavaScript" or "/JS" in action)


def _is_launch(action: generic.DictionaryObject) -> bool:
    return bool(entry(action, "/S") == "/Launch")


def _runs(action: generic.PdfObject | None, test: ActionTest, seen: int = 0) -> bool:
    """Whether an action, or one chained after it by ``/Next``, passes ``test``."""
    if isinstance(action, generic.ArrayObject):
        # an array is a /Next list of actions, or an /OpenAction destination ([page /Fit]: nothing runs); pyHanko's
        # ArrayObject cannot be sliced (its __getitem__ dereferences one index), so it is read index by index
        return any(_runs(action[i], test, seen + 1) for i in range(min(len(action), _MAX_ACTIONS)))
    if not isinstance(action, generic.DictionaryObject) or seen > _MAX_ACTIONS:
        return False
    if test(action):
        return True
    following = entry(action, "/Next")
    return following is not None and _runs(following, test, seen + 1)


def _additional_actions_run(node: generic.DictionaryObject, test: ActionTest) -> bool:
    actions = entry(node, "/AA")
    if not isinstance(actions, generic.DictionaryObject):
        return False
    return any(_runs(entry(actions, key), test) for key in actions)


def javascript_places(root: generic.DictionaryObject) -> tuple[str, ...]:
    """Where the document runs JavaScript: named scripts, the opening action, page, annotation and field actions.

    A viewer that runs them can change what a signed document shows without changing a signed byte.
    """
    names = entry(root, "/Names")
    scripts = ["document scripts"] if isinstance(names, generic.DictionaryObject) and "/JavaScript" in names else []
    return tuple(dict.fromkeys([*scripts, *_action_places(root, _is_javascript)]))


def launch_places(root: generic.DictionaryObject) -> tuple[str, ...]:
    """Where the document asks the viewer to launch a program or open a file (``/Launch`` actions)."""
    return _action_places(root, _is_launch)


def _action_places(root: generic.DictionaryObject, test: ActionTest) -> tuple[str, ...]:
    places: list[str] = []
    if _runs(entry(root, "/OpenAction"), test):
        places.append("opening action")
    if _additional_actions_run(root, test):
        places.append("document actions")
    pages = entry(root, "/Pages")
    if isinstance(pages, generic.DictionaryObject):
        for number, (page, _attrs) in enumerate(iter_pages(pages, {}), start=1):
            if _additional_actions_run(page, test):
                places.append(f"page {number} actions")
            for ref in entry(page, "/Annots", generic.ArrayObject()):
                annot = ref.get_object()
                if isinstance(annot, generic.DictionaryObject) and (
                    _runs(entry(annot, "/A"), test) or _additional_actions_run(annot, test)
                ):
                    name = qualified_field_name(annot)[0] if "/Parent" in annot or "/T" in annot else ""
                    places.append(f"page {number} {'field ' + repr(name) if name else 'annotation'} actions")
    form = entry(root, "/AcroForm")
    if isinstance(form, generic.DictionaryObject):
        for name, _type, node in iter_fields(entry(form, "/Fields", generic.ArrayObject()), "", ""):
            place = f"field {name!r} actions"
            if _additional_actions_run(node, test) and not any(place in p for p in places):
                places.append(place)
    return tuple(dict.fromkeys(places))
