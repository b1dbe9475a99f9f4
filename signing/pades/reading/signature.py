"""One signature validated with EN 319 102-1's processes, chosen by what the signature carries.

Basic validation (5.3) for B-B signatures, validation with time (5.5) for signatures with a time-stamp, and the
long-term process (5.6.3) only where 5.5 cannot pass. A validator defect yields INDETERMINATE facts, never a pass.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from pyhanko.pdf_utils import misc
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.ades import ades_basic_validation, ades_lta_validation, ades_with_time_validation
from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec, SignatureValidationSpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signing.pades.reading.certificates import path_facts
from signing.pades.reading.facts import SignatureFacts, TimestampFacts
from signing.pades.reading.integrity import check_integrity, diff_facts, legacy_content_matches
from signing.pades.reading.policy import ValidationPolicy
from signing.pades.reading.revocation import revocation_facts, revocation_missing, revocation_sources
from signing.pades.reading.signature_dictionary import base_facts, safe_self_time
from signing.pades.reading.timestamps import timestamp_facts, token_time, unsigned_timestamps
from signing.pades.reading.validator_errors import sub_indication_name, validator_errors_collected, validator_message

__all__ = ["LEGACY_SHA1", "not_analysed", "signature_facts"]

logger = logging.getLogger(__name__)

LEGACY_SHA1 = "/adbe.pkcs7.sha1"


async def signature_facts(
    es: EmbeddedPdfSignature,
    sub_filter: str,
    policy: ValidationPolicy,
    spec: SignatureValidationSpec,
    timing: ValidationTimingInfo,
    stream: IO[bytes],
    size: int,
    *,
    store_within_limits: bool = True,
) -> SignatureFacts:
    """A signature's facts, validated under ``spec`` at ``timing``'s validation time.

    ``store_within_limits`` False (the document security store is past the verifier's limits, so that no signature
    can pass anyway): neither pyHanko's long-term process, which reads the whole store again by itself (every
    stream decoded and parsed), nor its change analysis, which reads every object the store's update wrote."""
    base = base_facts(es, "signature", sub_filter, stream, size)
    check_integrity(es, policy.check_changes, policy.max_analysed_objects, not_analysed(store_within_limits))
    # The difference analysis already ran in check_integrity; pyHanko would re-run it on every document time-stamp
    # inside ades_lta_validation, where a crash in it would abort the whole validation.
    pdf_spec = PdfSignatureValidationSpec(spec, diff_policy=None)
    has_signature_timestamp = any(True for _ in unsigned_timestamps(es))
    legacy = sub_filter == LEGACY_SHA1
    result: Any
    try:
        with validator_errors_collected() as validator_errors:
            if legacy:
                # The signed data encapsulates the byte range's SHA-1 digest: pyHanko checks the CMS over that
                # content (raw_digest None), legacy_content_matches ties the content to the document's bytes.
                result = await ades_basic_validation(es.signed_data, spec, timing_info=timing, raw_digest=None)
            elif has_signature_timestamp:
                # EN 319 102-1 5.5 (validation with time) first: pyHanko's long-term process (5.6.3) always
                # goes on to past signature validation, whose NO_POE then overrides a signature that passes
                # 5.5 whenever no document time-stamp follows (every B-T and B-LT signature). The long-term
                # process runs only where 5.5 cannot pass: it may rescue an expired or since-revoked signer.
                result = await ades_with_time_validation(
                    es.signed_data, spec, timing_info=timing, raw_digest=es.compute_digest()
                )
                if store_within_limits and not isinstance(result.ades_subindic, AdESPassed):
                    result = await ades_lta_validation(es, pdf_spec, timing_info=timing)
            else:
                # pyHanko's "validation with time" insists on a signature time-stamp (SIG_CONSTRAINTS_FAILURE
                # without one); for B-B signatures EN 319 102-1's basic validation (5.3) is the process to run.
                result = await ades_basic_validation(
                    es.signed_data, spec, timing_info=timing, raw_digest=es.compute_digest()
                )
    except (misc.PdfReadError, misc.PdfStrictReadError):
        raise
    except Exception as err:  # a validator defect is not a reader error: INDETERMINATE, never a pass
        logger.info("AdES validation of %s stopped", es.field_name, exc_info=True)
        diff_level, diff_message, changed = diff_facts(es)
        return SignatureFacts(
            **base,
            ades_sub_indication="CERTIFICATE_CHAIN_GENERAL_FAILURE",
            ades_message=f"the certificate and revocation checks stopped: {type(err).__name__}: {err}"[:2000],
            signing_time=safe_self_time(es),
            coverage_level=es.coverage.name if es.coverage is not None else "",
            diff_level=diff_level,
            diff_message=diff_message,
            changed_fields=changed,
        )
    status = result.api_status
    sub = sub_indication_name(result.ades_subindic)
    chain, anchor = path_facts(status.validation_path if status is not None else None)
    if status is not None and status.validation_path is None and sub == "OK":
        # Never report a pass without a path to one of our anchors.
        sub = "NO_CERTIFICATE_CHAIN_FOUND"
    sources = revocation_sources(result, policy.fetch_revocation)
    if sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE" and (not sources or revocation_missing(validator_errors)):
        # pyHanko's word for "hard-fail found no usable CRL or OCSP response"; EN 319 102-1 calls it TRY_LATER.
        sub = "TRY_LATER"
    ts_facts = None
    if status is not None and status.timestamp_validity is not None:
        ts_result = getattr(result, "signature_timestamp_status", None)
        ts_facts = timestamp_facts(
            status.timestamp_validity, sub_indication_name(ts_result.ades_subindic) if ts_result else "OK"
        )
    elif getattr(result, "signature_timestamp_status", None) is not None:
        ts_facts = timestamp_facts(
            result.signature_timestamp_status.api_status,
            sub_indication_name(result.signature_timestamp_status.ades_subindic),
            result.signature_timestamp_status.failure_msg or "",
        )
    elif has_signature_timestamp:
        ts_facts = TimestampFacts(
            time=token_time(es),
            ades_sub_indication="NOT_VALIDATED",
            message="the signature time-stamp was not validated because the signature itself did not pass",
        )
    content_ts = None
    if status is not None and status.content_timestamp_validity is not None:
        content_ts = timestamp_facts(status.content_timestamp_validity, "OK")
    diff_level, diff_message, changed = diff_facts(es)
    intact = status.intact if status is not None else None
    if legacy:
        intact = bool(intact) and legacy_content_matches(es)
    return SignatureFacts(
        **{**base, "chain": chain or base["chain"]},
        intact=intact,
        crypto_valid=status.valid if status is not None else None,
        ades_sub_indication=sub,
        ades_message=result.failure_msg or validator_message(validator_errors),
        trust_anchor=anchor,
        **revocation_facts(status, sub),
        revocation_sources=sources,
        signing_time=getattr(status, "signer_reported_dt", None) or safe_self_time(es),
        signature_timestamp=ts_facts,
        content_timestamp=content_ts,
        best_signature_time=getattr(result, "best_signature_time", None),
        coverage_level=es.coverage.name if es.coverage is not None else "",
        diff_level=diff_level,
        diff_message=diff_message,
        changed_fields=changed,
    )


def not_analysed(store_within_limits: bool) -> str:
    return "" if store_within_limits else "the document security store is past the verifier's limits"
