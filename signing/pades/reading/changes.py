"""What each revision added after a signature changed, judged by what a person would see.

The input is two :class:`~signing.pades.reading.facts.RevisionSnapshot` values (digests of every page's painted
content, every annotation's appearance, every form field's value); the output is a list of :class:`Change`.
Rules, from harmless to fatal:

- ``info``: a signature or document time-stamp added, a signature field added for it, an empty form field
  filled in (what DocMDP level 2 permits);
- ``warning``: an annotation (comment, stamp, drawing) or a non-signature form field added; a change that
  could not be analysed. Reported always; the policy decides whether it keeps a signature from passing;
- ``failure``: pages added or removed, a page's content or resources changed, an annotation that was there at
  signing changed or removed, a form field that held a value at signing given another value (the shadow
  "replace" attack), optional content, actions or JavaScript changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from signing.pades.reading.facts import AnnotationSnapshot, FieldSnapshot, RevisionSnapshot

__all__ = ["Change", "Severity", "compare_revisions"]

Severity = Literal["info", "warning", "failure"]


@dataclass(frozen=True)
class Change:
    """One change made by one revision."""

    revision: int
    kind: str
    severity: Severity
    description: str
    description_vi: str
    page: int | None = None
    field: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "kind": self.kind,
            "severity": self.severity,
            "description": self.description,
            "description_vi": self.description_vi,
            "page": self.page,
            "field": self.field or None,
        }


AnnotationKey = tuple[int, str, int]
"""An annotation's identity across revisions: (0, "object", number), or (page, "direct", position) for an
annotation dictionary written directly into a page's ``/Annots`` (it has no object number)."""


def _annotations(snapshot: RevisionSnapshot) -> dict[AnnotationKey, tuple[int, AnnotationSnapshot]]:
    out: dict[AnnotationKey, tuple[int, AnnotationSnapshot]] = {}
    for page in snapshot.pages:
        for annotation in page.annotations:
            kind, number = annotation.key
            out[(0 if kind == "object" else page.number, kind, number)] = (page.number, annotation)
    return out


def _fields(snapshot: RevisionSnapshot) -> dict[str, FieldSnapshot]:
    return {f.name: f for f in snapshot.fields}


def compare_revisions(before: RevisionSnapshot, after: RevisionSnapshot) -> list[Change]:
    """The changes ``after`` (the next revision) made to ``before``."""
    rev = after.revision
    if before.error or after.error:
        why = before.error or after.error
        return [
            Change(
                rev,
                "unreadable-revision",
                "warning",
                f"revision {rev} could not be analysed: {why}",
                f"không phân tích được lần sửa đổi {rev}: {why}",
            )
        ]
    out: list[Change] = []
    unreadable = sorted(set(before.unreadable_objects) | set(after.unreadable_objects))
    if unreadable:
        listed = ", ".join(unreadable[:10]) + ("…" if len(unreadable) > 10 else "")
        out.append(
            Change(
                rev,
                "unreadable-object",
                "warning",
                f"objects shown by revision {before.revision} or {rev} cannot be read, so their content cannot be "
                f"compared: {listed}",
                f"không đọc được một số đối tượng hiển thị ở lần sửa đổi {before.revision} hoặc {rev}: {listed}",
            )
        )
    if len(before.pages) != len(after.pages):
        out.append(
            Change(
                rev,
                "pages",
                "failure",
                f"the number of pages changed from {len(before.pages)} to {len(after.pages)}",
                f"số trang đã thay đổi từ {len(before.pages)} thành {len(after.pages)}",
            )
        )
    for old, new in zip(before.pages, after.pages, strict=False):
        if old.content_digest != new.content_digest:
            out.append(
                Change(
                    rev,
                    "page-content",
                    "failure",
                    f"the content, resources or actions of page {new.number} were changed",
                    f"nội dung, tài nguyên hoặc hành động của trang {new.number} đã bị thay đổi",
                    page=new.number,
                )
            )
    if before.document_display_digest != after.document_display_digest:
        out.append(
            Change(
                rev,
                "document-display",
                "failure",
                "optional content, document actions or JavaScript were changed",
                "lớp nội dung tuỳ chọn, hành động hoặc JavaScript của tài liệu đã bị thay đổi",
            )
        )
    out.extend(_field_changes(rev, _fields(before), _fields(after)))
    out.extend(_annotation_changes(rev, _annotations(before), _annotations(after), _fields(before), _fields(after)))
    return out


def _field_changes(rev: int, before: dict[str, FieldSnapshot], after: dict[str, FieldSnapshot]) -> list[Change]:
    out: list[Change] = []
    for name, old in before.items():
        new = after.get(name)
        if new is not None and old.behaviour_digest != new.behaviour_digest:
            out.append(
                Change(
                    rev,
                    "field-behaviour-changed",
                    "failure",
                    f"the actions or format of form field “{name}” (what it computes and shows) were changed",
                    f"hành động hoặc định dạng của trường “{name}” (cách nó tính và hiển thị) đã bị thay đổi",
                    field=name,
                )
            )
        if new is None:
            out.append(
                Change(
                    rev,
                    "field-removed",
                    "failure",
                    f"form field “{name}” was removed",
                    f"trường biểu mẫu “{name}” đã bị xoá",
                    field=name,
                )
            )
        elif old.value_digest != new.value_digest:
            if old.field_type == "/Sig":
                if not old.has_value and new.has_value:
                    out.append(_signature_added(rev, name, new, "signature-added"))
                else:
                    out.append(
                        Change(
                            rev,
                            "signature-replaced",
                            "failure",
                            f"signature “{name}” was replaced or removed",
                            f"chữ ký “{name}” đã bị thay thế hoặc xoá",
                            field=name,
                        )
                    )
            elif old.has_value:
                out.append(
                    Change(
                        rev,
                        "field-value-changed",
                        "failure",
                        f"the value of form field “{name}”, filled in when it was signed, was changed",
                        f"giá trị của trường “{name}” (đã có khi ký) đã bị thay đổi",
                        field=name,
                    )
                )
            else:
                # What a filled field paints (its widget's new appearance) may cover signed content: the
                # policy decides whether that keeps the earlier signatures from passing.
                out.append(
                    Change(
                        rev,
                        "form-filled",
                        "warning",
                        f"empty form field “{name}” was filled in after signing",
                        f"trường trống “{name}” đã được điền sau khi ký",
                        field=name,
                    )
                )
    for name, new in after.items():
        if name in before:
            continue
        if new.field_type == "/Sig":
            if new.value_digest == "timestamp":
                out.append(_signature_added(rev, name, new, "signature-field-added"))
                continue
            kind, sev = "signature-field-added", "info"
            en, vi = f"signature field “{name}” was added", f"ô chữ ký “{name}” đã được thêm"
        else:
            kind, sev = "field-added", "warning"
            en, vi = f"form field “{name}” was added", f"trường biểu mẫu “{name}” đã được thêm"
        out.append(Change(rev, kind, sev, en, vi, field=name))  # type: ignore[arg-type]
    return out


def _paints(annotation: AnnotationSnapshot) -> bool:
    """Shown and with an area: what an annotation needs to paint anything."""
    rect = annotation.rect
    has_area = len(rect) == 4 and abs(rect[2] - rect[0]) > 0 and abs(rect[3] - rect[1]) > 0
    return annotation.visible and has_area


def _signature_added(rev: int, name: str, new: FieldSnapshot, kind: str) -> Change:
    if new.value_digest == "timestamp":
        return Change(
            rev,
            "timestamp-added",
            "info",
            f"document time-stamp “{name}” was added",
            f"dấu thời gian tài liệu “{name}” đã được thêm",
            field=name,
        )
    return Change(rev, kind, "info", f"signature “{name}” was added", f"chữ ký “{name}” đã được thêm", field=name)


def _annotation_changes(
    rev: int,
    before: dict[AnnotationKey, tuple[int, AnnotationSnapshot]],
    after: dict[AnnotationKey, tuple[int, AnnotationSnapshot]],
    fields_before: dict[str, FieldSnapshot],
    fields_after: dict[str, FieldSnapshot],
) -> list[Change]:
    out: list[Change] = []
    for oid, (page, old) in before.items():
        found = after.get(oid)
        if found is None:
            out.append(
                Change(
                    rev,
                    "annotation-removed",
                    "failure" if old.visible else "warning",
                    f"a {old.subtype[1:] or 'annotation'} on page {page} was removed",
                    f"một chú thích ({old.subtype[1:]}) trên trang {page} đã bị xoá",
                    page=page,
                    field=old.field_name,
                )
            )
            continue
        new_page, new = found
        if old.action_digest != new.action_digest:
            out.append(
                Change(
                    rev,
                    "annotation-actions-changed",
                    "failure",
                    f"the actions of a {old.subtype[1:] or 'annotation'} on page {new_page} were changed"
                    + (f" (field “{old.field_name}”)" if old.field_name else ""),
                    f"hành động của một chú thích ({old.subtype[1:]}) trên trang {new_page} đã bị thay đổi",
                    page=new_page,
                    field=old.field_name,
                )
            )
        if (old.rect, old.flags, old.appearance_digest) == (new.rect, new.flags, new.appearance_digest):
            continue
        field = fields_before.get(old.field_name) if old.field_name else None
        filled = fields_after.get(old.field_name) if old.field_name else None
        if (
            old.subtype == "/Widget"
            and field is not None
            and not field.has_value
            and filled is not None
            and filled.has_value
            and (old.rect, old.flags) == (new.rect, new.flags)
        ):
            # Filling an empty field (or signing an empty signature field) repaints its widget in place; the
            # filling itself is reported with the fields. A repaint without a value is a shadow attack.
            continue
        visible = old.visible or new.visible
        out.append(
            Change(
                rev,
                "annotation-changed",
                "failure" if visible else "warning",
                f"the appearance of a {old.subtype[1:] or 'annotation'} on page {new_page} was changed"
                + (f" (field “{old.field_name}”)" if old.field_name else ""),
                f"hình thức hiển thị của một chú thích ({old.subtype[1:]}) trên trang {new_page} đã bị thay đổi",
                page=new_page,
                field=old.field_name,
            )
        )
    for oid, (page, new) in after.items():
        if oid in before:
            continue
        if new.subtype == "/Widget" and new.field_type == "/Sig":
            signed = fields_after.get(new.field_name)
            if (signed is not None and signed.has_value) or not _paints(new):
                continue  # a signature (its appearance is the signer's) or an invisible field: see the fields
            # Nobody signed it, yet it paints over the page: an appearance anyone can add (pyHanko calls it form
            # filling), so it is an added annotation like any other.
            out.append(
                Change(
                    rev,
                    "unsigned-signature-widget-added",
                    "warning",
                    f"an unsigned signature field with an appearance was added on page {page}"
                    + (f" (field “{new.field_name}”)" if new.field_name else ""),
                    f"một ô chữ ký chưa ký nhưng có hình hiển thị đã được thêm trên trang {page}",
                    page=page,
                    field=new.field_name,
                )
            )
            continue
        if new.subtype == "/Widget":
            kind, en, vi = (
                "widget-added",
                f"a form field widget was added on page {page}",
                f"một ô biểu mẫu đã được thêm trên trang {page}",
            )
        else:
            kind = "annotation-added"
            en = f"a {new.subtype[1:] or 'annotation'} annotation was added on page {page}" + (
                "" if new.visible else " (not displayed)"
            )
            vi = f"một chú thích ({new.subtype[1:]}) đã được thêm trên trang {page}"
        out.append(Change(rev, kind, "warning", en, vi, page=page, field=new.field_name))
    return out
