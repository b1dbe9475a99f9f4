"""Whether the signed bytes are intact and what was changed after them: digest, coverage and difference analysis."""

from __future__ import annotations

import hashlib
from typing import Any

from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel, SuspiciousModification
from pyhanko.sign.validation import EmbeddedPdfSignature

from signing.pades.reading.file_digest import buffer_of

__all__ = ["check_integrity", "diff_facts", "legacy_content_matches", "objects_written_after"]


def _fill_byte_range_digest(es: EmbeddedPdfSignature) -> None:
    """Digest the signed byte range straight from the file's bytes when they are in memory.

    pyHanko reads the ranges through the stream in 4 KB copies; hashing slices of the buffer gives the same
    digest without them (a third of a 10 MB document's verification). Ranges that are not plain offsets
    within the file are left to pyHanko, which judges them.
    """
    data = buffer_of(es.reader.stream)
    algorithm = es.external_md_algorithm
    ranges = list(es.byte_range)
    if data is None or len(ranges) % 2 or algorithm in es.external_digests:
        return
    pairs = list(zip(ranges[::2], ranges[1::2], strict=True))
    if any(not isinstance(v, int) or v < 0 for v in ranges) or any(lo + n > len(data) for lo, n in pairs):
        return
    try:
        h = hashlib.new(algorithm)
    except ValueError:
        return
    for lo, n in pairs:
        h.update(data[lo : lo + n])
    es.external_digests[algorithm] = h.digest()


def check_integrity(es: EmbeddedPdfSignature, check_changes: bool, max_objects: int, not_analysed: str = "") -> None:
    """pyHanko's integrity step, done piecewise so that a crash in the difference analysis is a finding.

    ``compute_integrity_info`` runs digest, coverage and diff in one go and leaves the signature unusable when
    the diff analysis raises; here an exception in the analysis becomes a suspicious modification instead. So does
    an analysis not run: because the later revisions write more than ``max_objects`` objects, or for the reason
    ``not_analysed`` gives.
    """
    _fill_byte_range_digest(es)
    es.compute_digest()
    target: Any = es  # pyHanko declares these attributes as None-typed placeholders
    target.coverage = es.evaluate_signature_coverage()
    if check_changes:
        written = objects_written_after(es)
        if written > max_objects:
            not_analysed = (
                f"the later revisions write {written} objects, more than the verifier analyses ({max_objects})"
            )
        if not_analysed and written:
            target.diff_result = SuspiciousModification(f"the changes after signing were not analysed: {not_analysed}")
            target._integrity_checked = True
            return
        try:
            target.diff_result = es.evaluate_modifications(DEFAULT_DIFF_POLICY)
        except Exception as err:  # a crash in pyHanko's analysis is a suspicious change, not an abort
            target.diff_result = SuspiciousModification(f"the change analysis could not finish: {err}")
    target._integrity_checked = True


def objects_written_after(es: EmbeddedPdfSignature) -> int:
    """How many objects the revisions after the signed one write (counted in their cross-reference sections, which
    the reader has read already: no object is read); 0 when that cannot be told (the analysis then judges)."""
    try:
        xrefs = es.reader.xrefs
        after = range(es.signed_revision + 1, xrefs.total_revisions)
        return sum(len(xrefs.explicit_refs_in_revision(revision)) for revision in after)
    except Exception:
        return 0


def diff_facts(es: EmbeddedPdfSignature) -> tuple[str, str, tuple[str, ...]]:
    """pyHanko's modification level, its reason when the change is suspicious, and the form fields changed."""
    diff = es.diff_result
    if isinstance(diff, DiffResult):
        level: ModificationLevel = diff.modification_level
        return level.name, "", tuple(sorted(diff.changed_form_fields))
    if isinstance(diff, SuspiciousModification):
        return ModificationLevel.OTHER.name, str(diff)[:2000], ()
    return "", "", ()


def legacy_content_matches(es: EmbeddedPdfSignature) -> bool:
    """An ``adbe.pkcs7.sha1`` signature's encapsulated content is the SHA-1 digest of its byte range."""
    content = es.signed_data["encap_content_info"]["content"]
    if content.native is None:
        return False
    return bytes(content.native) == es.compute_digest("sha1")
