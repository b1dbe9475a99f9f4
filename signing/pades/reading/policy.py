"""The validation policy: which roots are trusted, how revocation is checked, what counts as weak or unsafe.

Frozen and explicit, like pyHanko's own ``SignatureValidationSpec``: nothing here reads settings or the
environment (``signing.validation.service.policy_from_settings`` builds one from the instance's settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["DEFAULT_POLICY", "ValidationPolicy"]


@dataclass(frozen=True)
class ValidationPolicy:
    """How a PDF's signatures are judged."""

    trust_roots: tuple[bytes, ...] = ()
    """DER-encoded trust anchors. Nothing else is trusted: the operating system's store is never used."""

    fetch_revocation: bool = False
    """Ask CRL distribution points and OCSP responders online when the document carries no revocation data.

    Off by default: the URLs come from the document being checked, and the public page must not make the server
    fetch addresses an uploader chose. Certificates themselves are never fetched (no AIA chasing).
    """

    revocation_mode: Literal["hard-fail"] = "hard-fail"
    """Every certificate below the trust anchor needs valid revocation data (CRL or OCSP); without it the
    verdict is INDETERMINATE (TRY_LATER), never a pass. There is deliberately no soft-fail mode."""

    weak_digest_algorithms: frozenset[str] = field(default_factory=lambda: frozenset({"md2", "md5", "sha1"}))
    """Digest algorithms that stop a signature from passing (ETSI TS 119 312 no longer allows them)."""

    min_rsa_bits: int = 2048
    """Smallest RSA modulus accepted for signer and chain keys."""

    min_ec_bits: int = 256
    """Smallest elliptic curve accepted for signer keys."""

    check_changes: bool = True
    """Run the change analysis on revisions added after each signature (pyHanko's and ours)."""

    unexplained_changes: Literal["indeterminate", "warn"] = "indeterminate"
    """What a change after signing that neither pyHanko nor our checks can explain does to the verdict.
    ``indeterminate`` (the default) keeps such a signature from TOTAL_PASSED; visible changes always fail."""

    added_annotations: Literal["indeterminate", "warn"] = "indeterminate"
    """What an annotation added after signing (a comment, a stamp, a drawing over the page) does to the verdict.
    Such annotations are always reported; by default they keep the signature from TOTAL_PASSED, because a
    visible annotation can cover or imitate signed content."""

    form_filling: Literal["indeterminate", "warn"] = "indeterminate"
    """What filling in a form field that was empty at signing does to the verdict. Always reported; by default
    it keeps the earlier signatures from TOTAL_PASSED, because the filled field's appearance is painted where the
    field lies and can cover signed content (the shadow "hide-and-replace" attack) — telling whether it does
    would take rendering. DocMDP level 1 and FieldMDP locks make it a failure."""

    max_revocation_bytes: int = 20 * 1024 * 1024
    """DER bytes of CRLs and OCSP responses read from one document's security store (``/DSS``); what lies past
    this (or past :attr:`max_revocation_items`) is not parsed, and the report says so: the signature can then
    not pass, since the data left out might have said revoked."""

    max_revocation_items: int = 1000
    """CRLs plus OCSP responses read from one document's security store; more is treated as above."""

    max_dss_certificates: int = 500
    """Certificates read from one document's security store; more is treated as above."""

    max_analysed_objects: int = 2000
    """Objects the revisions after a signature may write for pyHanko's change analysis to run (it reads each one:
    about 1 s per 5,000); past it the changes are reported as not analysed, which keeps the signature from
    TOTAL_PASSED (:attr:`unexplained_changes`). A security store within the limits above writes under 1,600; the
    platform's own comparison of the revisions (pages, annotations, fields) runs whatever the count."""

    max_cms_certificates: int = 100
    """Certificates a signature's own CMS may carry (a real one carries its chain); past it, or past
    :attr:`max_revocation_bytes` of revocation data in the CMS, the signature is not validated: INDETERMINATE."""

    validation_time: datetime | None = None
    """Validate as of this moment instead of now (tests and re-examination of old verdicts)."""


DEFAULT_POLICY = ValidationPolicy()
