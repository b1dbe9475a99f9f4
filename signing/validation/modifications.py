"""Which changes after signing a signature is judged on, and what its DocMDP permission makes of them."""

from __future__ import annotations

import itertools

from signing.pades.reading.changes import Change, compare_revisions
from signing.pades.reading.facts import DocumentFacts, SignatureFacts
from signing.validation.models import Indication

__all__ = ["changes_for", "revision_changes"]

_FAILED = Indication.TOTAL_FAILED


def revision_changes(doc: DocumentFacts) -> dict[int, list[Change]]:
    out: dict[int, list[Change]] = {}
    revisions = sorted(doc.snapshots)
    for before, after in itertools.pairwise(revisions):
        out[after] = compare_revisions(doc.snapshots[before], doc.snapshots[after])
    return out


def changes_for(sig: SignatureFacts, doc: DocumentFacts, by_revision: dict[int, list[Change]]) -> list[Change]:
    if sig.signed_revision is None:
        return []
    out: list[Change] = []
    for revision in sorted(r for r in by_revision if r > sig.signed_revision):
        for change in by_revision[revision]:
            out.append(_apply_mdp(sig, change))
    fatal_or_doubt = any(c.severity != "info" for c in out)
    if sig.diff_level == "OTHER" and not fatal_or_doubt and sig.coverage_level == "ENTIRE_REVISION":
        out.append(
            _apply_mdp(
                sig,
                Change(
                    sig.signed_revision + 1,
                    "unexplained",
                    "warning",
                    f"pyHanko's change analysis cannot explain an update: {sig.diff_message[:300]}",
                    "có thay đổi sau khi ký mà không giải thích được",
                ),
            )
        )
    allowed = _DOCMDP_ALLOWS.get(sig.docmdp or 0)
    level = _MODIFICATION_LEVELS.get(sig.diff_level)
    if allowed is not None and level is not None and level > allowed and sig.diff_level != "OTHER":
        out.append(
            Change(
                sig.signed_revision + 1,
                "docmdp-violation",
                "failure",
                f"the changes after signing ({sig.diff_level.replace('_', ' ').lower()}) are more than the "
                f"certification permits (DocMDP P={sig.docmdp})",
                f"các thay đổi sau khi ký vượt quá mức chứng nhận cho phép (DocMDP P={sig.docmdp})",
            )
        )
    if doc.trailing_bytes:
        out.append(
            Change(
                len(doc.revisions),
                "trailing-bytes",
                "failure",
                f"{doc.trailing_bytes} bytes were appended after the last revision",
                f"{doc.trailing_bytes} byte đã được nối thêm sau lần sửa đổi cuối",
            )
        )
    return out


# pyHanko's modification levels, in order, and the highest each DocMDP permission allows (ISO 32000-2, 12.8.2.2).
_MODIFICATION_LEVELS = {"NONE": 0, "LTA_UPDATES": 1, "FORM_FILLING": 2, "ANNOTATIONS": 3, "OTHER": 4}
_DOCMDP_ALLOWS = {1: 1, 2: 2, 3: 3}
# What each DocMDP permission forbids among our own findings. New form fields and unexplained changes are
# never permitted by a certification; P=1 permits only document time-stamps and validation data.
_DOCMDP_FORBIDS: dict[int, frozenset[str]] = {
    1: frozenset(
        {
            "unsigned-signature-widget-added",
            "form-filled",
            "signature-added",
            "signature-field-added",
            "annotation-added",
            "widget-added",
            "field-added",
            "unexplained",
        }
    ),
    2: frozenset({"annotation-added", "widget-added", "field-added", "unexplained", "unsigned-signature-widget-added"}),
    3: frozenset({"widget-added", "field-added", "unexplained"}),
}


def _apply_mdp(sig: SignatureFacts, change: Change) -> Change:
    """Tighten a change's severity by the signature's own DocMDP and FieldMDP locks."""
    p = sig.docmdp
    if p is not None and change.kind in _DOCMDP_FORBIDS.get(p, frozenset()):
        return _escalate(change, f"not permitted by the certification (DocMDP P={p})")
    if change.kind == "form-filled" and sig.field_locks and sig.field_lock_action:
        locked = sig.field_locks == ("*",)
        if sig.field_lock_action.lower() in ("include", "/include"):
            locked = locked or change.field in sig.field_locks
        elif sig.field_lock_action.lower() in ("exclude", "/exclude"):
            locked = change.field not in sig.field_locks
        elif sig.field_lock_action.lower() in ("all", "/all"):
            locked = True
        if locked:
            return _escalate(change, "the field is locked by this signature (FieldMDP)")
    return change


def _escalate(change: Change, why: str) -> Change:
    return Change(
        change.revision,
        change.kind,
        "failure",
        f"{change.description}: {why}",
        f"{change.description_vi}: không được phép",
        change.page,
        change.field,
    )
