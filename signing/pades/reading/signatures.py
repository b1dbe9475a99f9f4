"""Every signature field of the document, read and validated one by one, in the order they were signed.

A field whose dictionary cannot be read, whose SubFilter we do not support, or whose validation crashes becomes a
failure fact for that field alone.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import IO, Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signing.pades.reading.carried import carried_past_limits, too_much_carried
from signing.pades.reading.errors import UnusableInputError
from signing.pades.reading.facts import SignatureFacts
from signing.pades.reading.policy import ValidationPolicy
from signing.pades.reading.signature import LEGACY_SHA1, not_analysed, signature_facts
from signing.pades.reading.signature_dictionary import MAX_CONTENTS_BYTES, base_facts, unreadable_signature
from signing.pades.reading.signature_dictionary_cache import cache_signature_dictionary
from signing.pades.reading.timestamps import document_timestamp_facts
from signing.pades.reading.validation_spec import validation_spec

__all__ = ["all_signatures"]

logger = logging.getLogger(__name__)

_SIGNATURE_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", LEGACY_SHA1})
_TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})


async def all_signatures(
    reader: PdfFileReader,
    policy: ValidationPolicy,
    knowledge: LocalKnowledge,
    stream: IO[bytes],
    size: int,
    *,
    store_within_limits: bool = True,
) -> list[SignatureFacts]:
    """The facts of every filled signature field, sorted by the revision they sign (``store_within_limits``: see
    :func:`~signing.pades.reading.signature.signature_facts`)."""
    spec = validation_spec(policy, knowledge)
    moment = policy.validation_time or datetime.now(UTC)
    timing = ValidationTimingInfo(validation_time=moment, best_signature_time=moment, point_in_time_validation=False)
    out: list[SignatureFacts] = []
    try:
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as err:  # unreadable form fields make the whole file unusable
        raise UnusableInputError("unreadable", f"the form fields cannot be read: {err}") from err
    for raw_name, value, field_ref in fields:
        # a /T that is not a text string comes as bytes (pyHanko's ByteStringObject): the report holds text
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else str(raw_name)
        sub_filter = ""
        kind = "signature"
        try:
            cache_signature_dictionary(reader, value, MAX_CONTENTS_BYTES)
            sig_obj = value.get_object()
            sub_filter = str(sig_obj.get("/SubFilter", ""))
            is_timestamp = sig_obj.get("/Type") == "/DocTimeStamp" or sub_filter in _TIMESTAMP_SUBFILTERS
            kind = "document-timestamp" if is_timestamp else "signature"
            allowed = _TIMESTAMP_SUBFILTERS if is_timestamp else _SIGNATURE_SUBFILTERS
            es = EmbeddedPdfSignature(reader, field_ref, name)
        except Exception as err:  # an unreadable signature dictionary is a FORMAT_FAILURE fact
            out.append(unreadable_signature(name, kind, sub_filter, err))
            continue
        if sub_filter not in allowed:
            extra: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                extra = base_facts(es, kind, sub_filter, stream, size)
                extra.pop("field_name"), extra.pop("kind"), extra.pop("sub_filter")
            out.append(unreadable_signature(name, kind, sub_filter, f"unsupported SubFilter {sub_filter}", **extra))
            continue
        carried = carried_past_limits(es, policy)
        if carried:
            out.append(too_much_carried(es, kind, sub_filter, carried, stream, size))
            continue
        try:
            if is_timestamp:
                why = not_analysed(store_within_limits)
                facts = await document_timestamp_facts(
                    es, sub_filter, policy, spec, timing, stream, size, not_analysed=why
                )
            else:
                facts = await signature_facts(
                    es, sub_filter, policy, spec, timing, stream, size, store_within_limits=store_within_limits
                )
        except Exception as err:  # a reader or validator crash is a failure verdict, never a pass
            logger.info("signature %s could not be validated", name, exc_info=True)
            extra = {}
            with contextlib.suppress(Exception):
                extra = base_facts(es, kind, sub_filter, stream, size)
                extra.pop("field_name"), extra.pop("kind"), extra.pop("sub_filter")
            out.append(unreadable_signature(name, kind, sub_filter, err, **extra))
            continue
        out.append(facts)
    out.sort(key=lambda f: (f.signed_revision if f.signed_revision is not None else 1 << 30, f.field_name))
    return out
