"""The whole document's facts: the file opened, its signatures validated, its revisions compared, its DSS read."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import IO

from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pades.decode_budget import DocumentBudget
from signing.pades.reading.active_content import embedded_files, has_xfa
from signing.pades.reading.changes import compare_revisions
from signing.pades.reading.dss import dss_knowledge, revisions_writing_dss
from signing.pades.reading.errors import UnusableInputError
from signing.pades.reading.facts import DocumentFacts, RevisionSnapshot, SignatureFacts
from signing.pades.reading.file_digest import start_sha256
from signing.pades.reading.javascript import javascript_places, launch_places
from signing.pades.reading.opening import open_reader, revision_facts
from signing.pades.reading.policy import ValidationPolicy
from signing.pades.reading.signatures import all_signatures
from signing.pades.reading.snapshot import snapshot_revision

__all__ = ["examine_pdf"]


def examine_pdf(stream: IO[bytes], size: int, policy: ValidationPolicy) -> DocumentFacts:
    """Read ``stream`` (``size`` bytes, seekable) and collect the facts of every signature in it.

    Raises :class:`~signing.pades.reading.errors.UnusableInputError` when the file cannot be read at all or is
    encrypted. Problems with single signatures are facts (``read_error``), not exceptions.
    """
    budget = DocumentBudget.for_size(size)
    try:
        facts = _examine(stream, size, policy, budget)
    except UnusableInputError:
        if budget.finish():
            raise _decode_limit(budget) from None
        raise
    if budget.finish():
        raise _decode_limit(budget)
    return facts


def _decode_limit(budget: DocumentBudget) -> UnusableInputError:
    return UnusableInputError(
        "decode-limit",
        f"its compressed streams (or its cross-reference entries) need more than {budget.total} bytes, the limit for"
        " a file of its size",
    )


def _examine(stream: IO[bytes], size: int, policy: ValidationPolicy, budget: DocumentBudget) -> DocumentFacts:
    file_sha256 = start_sha256(stream, size)
    opened = open_reader(stream, size, budget)
    reader, readable, warning = opened.reader, opened.readable, opened.prefix_warning
    if reader.encrypted:
        raise UnusableInputError("encrypted")
    view: IO[bytes] = reader.stream
    revisions = revision_facts(reader, view, readable)
    knowledge, dss_present, n_crl, n_ocsp, n_cert, revocation_ignored = dss_knowledge(reader, policy)
    # past the store's limits pyHanko would read all of it again (its long-term process, its change analysis): the
    # signatures cannot pass anyway
    within = not revocation_ignored
    signatures = asyncio.run(all_signatures(reader, policy, knowledge, view, readable, store_within_limits=within))
    if warning and not signatures:
        # Only an unsigned prefix could be read: whatever signs this file is in the unreadable part.
        raise UnusableInputError("unreadable", warning)
    if warning:
        signatures = [_mark_beyond_prefix(s, readable) for s in signatures]
    snapshots: dict[int, RevisionSnapshot] = {}
    last = len(revisions) - 1
    signed = [s.signed_revision for s in signatures if s.signed_revision is not None]
    if policy.check_changes and signed and min(signed) < last:
        snapshots = _snapshots(reader, range(min(signed), last + 1))
    dss_revisions = revisions_writing_dss(reader) if dss_present else ()
    signatures = [
        dataclasses.replace(
            s,
            has_dss_validation_data=bool(
                (n_crl or n_ocsp)
                and s.signed_revision is not None
                and any(r > s.signed_revision for r in dss_revisions)
            ),
        )
        for s in signatures
    ]
    last_end = revisions[-1].end_offset if revisions else readable
    javascript: tuple[str, ...] = ()
    launches: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    xfa = False
    javascript_unchecked = ""
    try:
        javascript = javascript_places(reader.root)
        launches = launch_places(reader.root)
        attachments = embedded_files(reader.root)
        xfa = has_xfa(reader.root)
    except Exception as err:  # a broken object tree: say the search failed rather than that nothing was found
        javascript_unchecked = f"{type(err).__name__}: {err}"[:300]
    return DocumentFacts(
        file_size=size,
        sha256=file_sha256(),
        revisions=revisions,
        signatures=tuple(signatures),
        snapshots=snapshots,
        trailing_bytes=max(0, size - last_end) if not warning else 0,
        dss_present=dss_present,
        dss_crls=n_crl,
        dss_ocsps=n_ocsp,
        dss_certs=n_cert,
        dss_revisions=dss_revisions,
        revocation_ignored=revocation_ignored,
        read_warning=warning,
        readable_size=readable,
        repairs=opened.repairs,
        javascript=javascript,
        javascript_unchecked=javascript_unchecked,
        launch_actions=launches,
        embedded_files=attachments,
        xfa=xfa,
    )


def _snapshots(reader: PdfFileReader, revisions: range) -> dict[int, RevisionSnapshot]:
    """Snapshots of ``revisions``, stream data hashed only where that decides something.

    Streams are first identified by where their bytes lie, which costs nothing: revisions that agree then
    display the same thing. When any two seem to differ in more than the signatures added, all are taken again
    with every stream's data hashed (once per file), since equal bytes written anew look different by place.
    """
    cheap = {r: snapshot_revision(reader, r, hash_stream_data=False) for r in revisions}
    if all(
        c.severity == "info"
        for before, after in itertools.pairwise(revisions)
        for c in compare_revisions(cheap[before], cheap[after])
    ):
        return cheap
    data_cache: dict[object, bytes] = {}
    return {r: snapshot_revision(reader, r, data_cache) for r in revisions}


def _mark_beyond_prefix(facts: SignatureFacts, readable: int) -> SignatureFacts:
    if len(facts.byte_range) == 4 and facts.byte_range[2] + facts.byte_range[3] > readable:
        return dataclasses.replace(
            facts,
            intact=None,
            crypto_valid=None,
            ades_sub_indication="",
            read_error="",
            extra={**facts.extra, "beyond_readable_prefix": "yes"},
        )
    return facts
