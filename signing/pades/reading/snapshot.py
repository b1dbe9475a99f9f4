"""Snapshots of what each revision of a PDF displays, for the change analysis beyond pyHanko's.

pyHanko's difference analysis reasons about which objects an update may touch; it accepts a changed value of
an existing form field as "form filling" (the shadow "replace" attack). We also compare what is painted: each
page's content streams and resources, each annotation's appearance, rectangle and flags, and each form field's
value, as digests over the objects as they stand in that revision. Two revisions that paint differently have
different digests; comparing digests is exact, needs no rasteriser, and costs one hash of the page objects.

Digests follow references (resolved inside the revision being examined) and skip back-pointers and bookkeeping
entries that change nothing on screen (``/Parent``, ``/StructParents``, ``/PieceInfo``…).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

from signing.pades.reading.facts import AnnotationSnapshot, FieldSnapshot, PageSnapshot, RevisionSnapshot
from signing.pades.reading.pdf_tree import INHERITABLE, MAX_DEPTH, entry, iter_fields, iter_pages, qualified_field_name

__all__ = ["snapshot_revision"]

# Entries that point back up the tree or carry bookkeeping: they change nothing a reader paints.
_SKIPPED_KEYS = frozenset(
    {
        "/Parent",
        "/P",
        "/StructParent",
        "/StructParents",
        "/PieceInfo",
        "/LastModified",
        "/Metadata",
        "/Popup",
        "/IRT",
        "/Dest",
        "/ID",
        "/Annots",
        "/B",
        "/Thumb",
        "/Tabs",
    }
)
# A page's own entries that are not what it paints or does: its annotations are compared one by one, and
# /Type and the inherited entries are taken care of separately.
_PAGE_SKIPPED = _SKIPPED_KEYS | {"/Type", *INHERITABLE}
# An annotation's entries that are bookkeeping; a widget's /V is its field's value, compared with the fields.
_ANNOTATION_SKIPPED = _SKIPPED_KEYS | {"/M", "/NM", "/Type", "/Rect", "/F", "/V", "/Kids", "/T"}
_ACTION_KEYS = frozenset({"/A", "/AA"})
# The entries of a form field that decide how its value is formatted, computed and shown.
_FIELD_BEHAVIOUR_KEYS = ("/AA", "/DA", "/DS", "/Ff", "/Q", "/Opt", "/MaxLen", "/TI", "/Lock", "/SV", "/DV")
_DOCUMENT_DISPLAY_KEYS = ("/OCProperties", "/OpenAction", "/AA", "/Collection", "/NeedsRendering")


class _Digester:
    """Digests PDF objects within one revision, memoising indirect objects by reference."""

    def __init__(
        self,
        resolver: HistoricalResolver,
        data_cache: dict[object, bytes] | None = None,
        *,
        hash_stream_data: bool = True,
    ) -> None:
        self.resolver = resolver
        self.memo: dict[tuple[int, int], bytes] = {}
        self.active: set[tuple[int, int]] = set()
        # Stream data digests by the object's place in the file: the same place holds the same bytes in every
        # revision, so a 10 MB content stream is hashed once however many revisions are compared.
        self.data_cache: dict[object, bytes] = data_cache if data_cache is not None else {}
        # Without hashing, a stream's data is identified by its offset and length: equal tokens are equal bytes
        # (the same bytes of the same file), but equal bytes written elsewhere give different tokens, so a
        # difference found this way must be confirmed with hashing (see snapshot_revision).
        self.hash_stream_data = hash_stream_data
        self.unreadable: list[str] = []
        self._location: object = None

    def digest(self, obj: generic.PdfObject, depth: int = 0) -> bytes:
        h = hashlib.sha256()
        self._feed(h, obj, depth)
        return h.digest()

    def _feed(self, h: hashlib._Hash, obj: generic.PdfObject, depth: int) -> None:
        if depth > MAX_DEPTH:
            h.update(b"<deep>")
            return
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in self.memo:
                h.update(self.memo[key])
                return
            if key in self.active:
                h.update(b"<cycle>")
                return
            self.active.add(key)
            try:
                where: object = self.resolver.reader.xrefs.get_historical_ref(
                    generic.Reference(obj.idnum, obj.generation), self.resolver.revision
                )
                try:
                    target = obj.get_object()
                except Exception:  # an object a reader must repair differs from the one signed
                    # Readers recover such objects in their own ways (the "hide" shadow attack points a shown
                    # image at a stream with a wrong /Length): it counts as a change wherever it was readable,
                    # and where it is unreadable in both revisions nobody can tell what changed.
                    value = hashlib.sha256(b"<unreadable object at %s>" % str(where).encode()).digest()
                    self.unreadable.append(f"{obj.idnum} {obj.generation} R")
                else:
                    if isinstance(target, generic.StreamObject):
                        self._location = where
                    value = self.digest(target, depth + 1)
            finally:
                self.active.discard(key)
            self.memo[key] = value
            h.update(value)
            return
        if isinstance(obj, generic.StreamObject):
            location, self._location = self._location, None
            h.update(b"S")
            self._feed_dict(h, obj, depth)
            if not self.hash_stream_data and isinstance(location, int):
                h.update(b"@%d:%d" % (location, len(obj.encoded_data)))
                return
            cached = self.data_cache.get(location) if location is not None else None
            if cached is None:
                cached = hashlib.sha256(obj.encoded_data).digest()
                if location is not None:
                    self.data_cache[location] = cached
            h.update(cached)
        elif isinstance(obj, generic.DictionaryObject):
            h.update(b"D")
            self._feed_dict(h, obj, depth)
        elif isinstance(obj, generic.ArrayObject):
            h.update(b"A%d" % len(obj))
            for item in obj:
                self._feed(h, item, depth + 1)
        elif isinstance(obj, generic.TextStringObject | generic.ByteStringObject):
            h.update(b"T" + obj.original_bytes + b"\x00")
        elif isinstance(obj, generic.NullObject) or obj is None:
            h.update(b"null\x00")
        else:
            h.update(type(obj).__name__.encode() + str(obj).encode() + b"\x00")

    def _feed_dict(self, h: hashlib._Hash, obj: generic.DictionaryObject, depth: int) -> None:
        # A stream's /Length counts too, followed through a reference within this revision: pyHanko reads a
        # stream's data with the newest /Length, so a later update that shortens it changes what every revision
        # seems to hold, and only the length itself tells the revisions apart.
        for key in sorted(k for k in obj if k not in _SKIPPED_KEYS):
            h.update(key.encode() + b"=")
            self._feed(h, obj.raw_get(key), depth + 1)


def _hex(data: bytes) -> str:
    return data.hex()[:32]


def _entries_digest(digester: _Digester, obj: generic.DictionaryObject, keys: Iterable[str]) -> str:
    h = hashlib.sha256()
    for key in sorted(keys):
        if key in obj:
            h.update(key.encode() + b"=" + digester.digest(obj.raw_get(key)))
    return _hex(h.digest())


def _annotation(digester: _Digester, ref: generic.PdfObject, position: int) -> AnnotationSnapshot:
    object_id = ref.idnum if isinstance(ref, generic.IndirectObject) else -1
    annot = ref.get_object()
    if not isinstance(annot, generic.DictionaryObject):
        raise ValueError("an annotation is not a dictionary")
    rect = tuple(round(float(v), 2) for v in entry(annot, "/Rect", ()))
    flags = int(entry(annot, "/F", 0))
    # Every entry counts unless known to be bookkeeping: an annotation without /AP is painted by the reader from
    # its colours, border and text (/C, /IC, /BS, /DA…), so a list of "display keys" would always miss one.
    shown = [k for k in annot if k not in _ANNOTATION_SKIPPED and k not in _ACTION_KEYS]
    subtype = str(entry(annot, "/Subtype", ""))
    name, field_type = qualified_field_name(annot) if subtype == "/Widget" else ("", "")
    return AnnotationSnapshot(
        object_id=object_id,
        subtype=subtype,
        rect=rect,
        flags=flags,
        appearance_digest=_entries_digest(digester, annot, shown),
        field_name=name,
        field_type=field_type,
        action_digest=_entries_digest(digester, annot, _ACTION_KEYS),
        position=position,
    )


def _page(
    digester: _Digester, number: int, page: generic.DictionaryObject, attrs: dict[str, generic.PdfObject]
) -> PageSnapshot:
    h = hashlib.sha256()
    for key in INHERITABLE:
        value = attrs.get(key)
        if value is not None:
            h.update(key.encode() + digester.digest(value))
    # Every other entry of the page counts (/Contents, /Group, /UserUnit, /AA actions, /VP, /Trans…).
    h.update(b"|" + _entries_digest(digester, page, [k for k in page if k not in _PAGE_SKIPPED]).encode())
    annots = entry(page, "/Annots", generic.ArrayObject())
    if isinstance(annots, generic.IndirectObject):
        annots = annots.get_object()
    snapshots = (
        tuple(_annotation(digester, ref, position) for position, ref in enumerate(annots))
        if isinstance(annots, list)
        else ()
    )
    return PageSnapshot(number=number, content_digest=_hex(h.digest()), annotations=snapshots)


def _fields(digester: _Digester, root: generic.DictionaryObject) -> tuple[FieldSnapshot, ...]:
    form = entry(root, "/AcroForm")
    if not isinstance(form, generic.DictionaryObject):
        return ()
    out: list[FieldSnapshot] = []
    for name, field_type, node in iter_fields(entry(form, "/Fields", generic.ArrayObject()), "", ""):
        has_value = "/V" in node
        if field_type == "/Sig":
            # A signature's value is the signature dictionary, covered by the signature itself.
            value_digest = _signature_value_kind(node) if has_value else ""
        else:
            value = node.raw_get("/V") if has_value else generic.NullObject()
            has_value = has_value and str(value.get_object()) not in ("", "/Off")
            value_digest = _hex(digester.digest(value))
        out.append(
            FieldSnapshot(
                name=name,
                field_type=field_type,
                value_digest=value_digest,
                has_value=has_value,
                flags=int(entry(node, "/Ff", 0)),
                behaviour_digest=_entries_digest(digester, node, _FIELD_BEHAVIOUR_KEYS),
            )
        )
    return tuple(out)


def _signature_value_kind(node: generic.DictionaryObject) -> str:
    """``timestamp`` for a document time-stamp, ``signed`` for any other signature value."""
    value = entry(node, "/V")
    if isinstance(value, generic.DictionaryObject) and (
        entry(value, "/Type") == "/DocTimeStamp" or entry(value, "/SubFilter") == "/ETSI.RFC3161"
    ):
        return "timestamp"
    return "signed"


def _document_display(digester: _Digester, root: generic.DictionaryObject) -> str:
    h = hashlib.sha256()
    for key in _DOCUMENT_DISPLAY_KEYS:
        if key in root:
            h.update(key.encode() + digester.digest(root.raw_get(key)))
    names = entry(root, "/Names")
    if isinstance(names, generic.DictionaryObject) and "/JavaScript" in names:
        h.update(b"/JavaScript" + digester.digest(names.raw_get("/JavaScript")))
    form = entry(root, "/AcroForm")
    if isinstance(form, generic.DictionaryObject):
        for key in ("/XFA", "/NeedAppearances"):
            if key in form:
                h.update(key.encode() + digester.digest(form.raw_get(key)))
    return _hex(h.digest())


def snapshot_revision(
    reader: PdfFileReader,
    revision: int,
    data_cache: dict[object, bytes] | None = None,
    *,
    hash_stream_data: bool = True,
) -> RevisionSnapshot:
    """What ``revision`` displays; reading errors give a snapshot with ``error`` set, never an exception.

    Pass the same ``data_cache`` for every revision of one file to hash each stream's bytes once. With
    ``hash_stream_data=False`` streams are identified by where their bytes lie: two such snapshots that agree
    display the same thing; where they differ, compare snapshots taken with hashing (the bytes may be equal).
    """
    try:
        resolver = reader.get_historical_resolver(revision)
        digester = _Digester(resolver, data_cache, hash_stream_data=hash_stream_data)
        root = resolver.root
        pages = tuple(
            _page(digester, number, page, attrs)
            for number, (page, attrs) in enumerate(iter_pages(root["/Pages"].get_object(), {}), start=1)
        )
        fields = _fields(digester, root)
        display = _document_display(digester, root)
        return RevisionSnapshot(
            revision=revision,
            pages=pages,
            fields=fields,
            document_display_digest=display,
            unreadable_objects=tuple(sorted(set(digester.unreadable))),
        )
    except Exception as err:  # any reader failure makes the snapshot unusable, never a pass
        return RevisionSnapshot(
            revision=revision, pages=(), fields=(), document_display_digest="", error=f"{type(err).__name__}: {err}"
        )
