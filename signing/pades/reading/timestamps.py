"""Time-stamp facts: a signature's time-stamp token, and document time-stamps validated on their own
(pyHanko's ``ades_timestamp_validation``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.ades import ades_timestamp_validation
from pyhanko.sign.validation.policy_decl import SignatureValidationSpec
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signing.pades.reading.certificates import certificate_facts, path_facts
from signing.pades.reading.facts import SignatureFacts, TimestampFacts
from signing.pades.reading.integrity import check_integrity, diff_facts
from signing.pades.reading.policy import ValidationPolicy
from signing.pades.reading.revocation import revocation_facts, revocation_missing, revocation_sources
from signing.pades.reading.signature_dictionary import base_facts
from signing.pades.reading.validator_errors import sub_indication_name, validator_errors_collected, validator_message

__all__ = ["document_timestamp_facts", "timestamp_facts", "token_time", "unsigned_timestamps"]


def timestamp_facts(
    status: TimestampSignatureStatus | None, sub_indication: str, message: str = ""
) -> TimestampFacts | None:
    """A time-stamp's facts from pyHanko's status, or from the sub-indication alone when there is no status."""
    if status is None:
        if not sub_indication:
            return None
        return TimestampFacts(time=None, ades_sub_indication=sub_indication, message=message)
    path_tsa = status.signing_cert
    return TimestampFacts(
        time=status.timestamp,
        ades_sub_indication=sub_indication,
        tsa=certificate_facts(path_tsa) if path_tsa is not None else None,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        digest_algorithm=status.md_algorithm,
        message=message,
    )


def unsigned_timestamps(es: EmbeddedPdfSignature) -> Iterator[Any]:
    """The signature time-stamp tokens among the signer's unsigned attributes."""
    attrs = es.signer_info["unsigned_attrs"]
    if attrs.native is None:
        return
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            yield attr


def token_time(es: EmbeddedPdfSignature) -> datetime | None:
    """The time in the first signature time-stamp token, unvalidated (shown when validation did not reach it)."""
    for attr in unsigned_timestamps(es):
        with contextlib.suppress(Exception):
            token = attr["values"][0]["content"]
            return token["encap_content_info"]["content"].parsed["gen_time"].native  # type: ignore[no-any-return]
    return None


async def document_timestamp_facts(
    es: EmbeddedPdfSignature,
    sub_filter: str,
    policy: ValidationPolicy,
    spec: SignatureValidationSpec,
    timing: ValidationTimingInfo,
    stream: IO[bytes],
    size: int,
    *,
    not_analysed: str = "",
) -> SignatureFacts:
    """A document time-stamp's facts, validated on its own with pyHanko's time-stamp validation process
    (``not_analysed``: why the changes after it are not analysed, see :func:`check_integrity`)."""
    base = base_facts(es, "document-timestamp", sub_filter, stream, size)
    check_integrity(es, policy.check_changes, policy.max_analysed_objects, not_analysed)
    with validator_errors_collected() as validator_errors:
        result = await ades_timestamp_validation(
            es.signed_data, spec, expected_tst_imprint=es.compute_digest, timing_info=timing
        )
    status = result.api_status
    sub = sub_indication_name(result.ades_subindic)
    if sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE" and revocation_missing(validator_errors):
        sub = "TRY_LATER"
    message = result.failure_msg or validator_message(validator_errors)
    chain, anchor = path_facts(status.validation_path if status is not None else None)
    if status is not None and status.validation_path is None and sub == "OK":
        sub = "NO_CERTIFICATE_CHAIN_FOUND"
    ts_time: datetime | None = None
    with contextlib.suppress(Exception):
        ts_time = es.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    diff_level, diff_message, changed = diff_facts(es)
    ts = timestamp_facts(status if isinstance(status, TimestampSignatureStatus) else None, sub, message)
    if ts is not None and ts.time is None and ts_time is not None:
        ts = dataclasses.replace(ts, time=ts_time)
    return SignatureFacts(
        **{**base, "chain": chain or base["chain"]},
        intact=status.intact if status is not None else None,
        crypto_valid=status.valid if status is not None else None,
        ades_sub_indication=sub,
        ades_message=message,
        trust_anchor=anchor,
        **revocation_facts(status, sub),
        revocation_sources=revocation_sources(result, policy.fetch_revocation),
        signing_time=ts_time,
        signature_timestamp=ts,
        best_signature_time=ts_time,
        coverage_level=es.coverage.name if es.coverage is not None else "",
        diff_level=diff_level,
        diff_message=diff_message,
        changed_fields=changed,
    )
