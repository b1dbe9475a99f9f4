"""The document security store (``/DSS``): the certificates, CRLs and OCSP responses it holds, and which
revisions wrote it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import NamedTuple

from asn1crypto import x509
from asn1crypto.crl import CertificateList
from asn1crypto.ocsp import OCSPResponse
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing.pades.reading import crl_lookup
from signing.pades.reading.policy import DEFAULT_POLICY, ValidationPolicy
from signing.pades.reading.verifier_caches import CERTIFICATE_CACHE, CRL_CACHE, EAGER_CRL_BYTES, OCSP_CACHE, MiB
from signing.shared_certificates import parsed_whole

__all__ = [
    "CERTIFICATE_CACHE",
    "CRL_CACHE",
    "EAGER_CRL_BYTES",
    "OCSP_CACHE",
    "DssKnowledge",
    "MiB",
    "dss_knowledge",
    "revisions_writing_dss",
]

logger = logging.getLogger(__name__)


class DssKnowledge(NamedTuple):
    """What the verifier took from the document security store, and what it left out."""

    knowledge: LocalKnowledge
    present: bool
    crls: int
    ocsps: int
    certs: int
    ignored: str = ""
    """Empty, or what was left unread for the verifier's limits (said in the report; no signature then passes)."""


MAX_CERTIFICATE_BYTES = 64 * 1024
"""A certificate stream of the store over this (in the file or decoded) is not read: real ones are 1-3 KB (a
national CA's with long policy texts under 8 KB)."""


def dss_knowledge(reader: PdfFileReader, policy: ValidationPolicy = DEFAULT_POLICY) -> DssKnowledge:
    """Certificates, CRLs and OCSP responses of the document security store (``/DSS``), within ``policy``'s limits.

    The store's arrays are counted, and each stream sized as the file holds it, before anything is decoded or
    parsed: pyHanko's ``DocumentSecurityStore.read_dss`` decoded and parsed every stream first (20,000 certificate
    streams took 4 s and 90 MB before the limit applied to what was left), so it is not used here.
    """
    try:
        store = reader.root["/DSS"]
    except KeyError:
        return DssKnowledge(LocalKnowledge(), False, 0, 0, 0)
    except Exception as err:  # a broken DSS counts as absent: hard-fail then refuses a pass
        logger.info("unreadable DSS: %s", err)
        return DssKnowledge(LocalKnowledge(), False, 0, 0, 0)
    if not isinstance(store, generic.DictionaryObject):
        logger.info("unreadable DSS: a %s, not a dictionary", type(store).__name__)
        return DssKnowledge(LocalKnowledge(), False, 0, 0, 0)
    ocsps: list[OCSPContainer] = []
    crls: list[CRLContainer] = []
    certs: list[x509.Certificate] = []
    left_bytes, left_items = policy.max_revocation_bytes, policy.max_revocation_items
    ignored: list[str] = []
    # OCSP responses first: small, and what the platform's own B-LT signatures rely on.
    for kind, key, purpose in (
        ("OCSP responses", "/OCSPs", DecodePurpose.OCSP_RESPONSE),
        ("CRLs", "/CRLs", DecodePurpose.CRL),
    ):
        skipped = 0
        for ref in _entries(store, key):
            if left_items <= 0 or left_bytes <= 0:
                skipped += 1
                continue
            der = _stream_data(ref, left_bytes, purpose)
            if der is None:
                # refused (past what is left, or pyHanko's cap for its kind) after being decoded that far: every
                # next one would be too, so no other is read (995 CRL streams of 4 MB after the first 20 MB were
                # 1 GB and 3-5 s of inflating, for nothing; the signatures cannot pass once anything is ignored)
                skipped += 1
                left_bytes = 0
            if not der:
                continue
            left_bytes -= len(der)
            left_items -= 1
            with contextlib.suppress(Exception):  # an unreadable entry is no revocation data (hard-fail decides)
                if kind == "CRLs":
                    crls.append(_crl(der))
                else:
                    ocsps.extend(_ocsp_responses(der))
        if skipped:
            ignored.append(f"{skipped} {kind}")
    skipped = 0
    for index, ref in enumerate(_entries(store, "/Certs")):
        within = index < policy.max_dss_certificates
        der = _stream_data(ref, MAX_CERTIFICATE_BYTES, DecodePurpose.CERTIFICATE) if within else None
        if der is None:
            skipped += 1
        if not der:
            continue
        with contextlib.suppress(Exception):
            certs.append(_dss_certificate(der))
    if skipped:
        ignored.append(f"{skipped} certificates")
    return DssKnowledge(
        LocalKnowledge(known_ocsps=ocsps, known_crls=crls, known_certs=certs),
        True,
        len(crls),
        len(ocsps),
        len(certs),
        _ignored_words(ignored, policy),
    )


def _entries(store: generic.DictionaryObject, key: str) -> list[generic.PdfObject]:
    """The entries of one of the store's arrays, unresolved (nothing of a stream is read to count them)."""
    try:
        array = store[key]
    except KeyError:
        return []
    except Exception as err:
        logger.info("unreadable DSS %s: %s", key, err)
        return []
    if not isinstance(array, generic.ArrayObject):
        return []
    return [array.raw_get(i) for i in range(len(array))]


def _stream_data(ref: generic.PdfObject, limit: int, purpose: DecodePurpose) -> bytes | None:
    """The decoded data of a stream of the store; None when its size in the file or decoded is over ``limit``, empty
    when it is no readable stream (no data, as a corrupt entry always was). The size in the file is checked before
    decoding, and decoding stops a few KB past ``limit``: a small stream inflating to gigabytes costs no more."""
    try:
        stream = ref.get_object()
        if not isinstance(stream, generic.StreamObject):
            return b""
        if len(stream.encoded_data) > limit:
            return None
        data = bytes(stream.read_data(purpose, expected_size=limit))  # also within the document's decode budget
    except PdfDecodeLimitError:
        return None
    except Exception:  # an unreadable entry is no data; hard-fail revocation then refuses a pass
        return b""
    return data if len(data) <= limit else None


def _ignored_words(ignored: list[str], policy: ValidationPolicy) -> str:
    if not ignored:
        return ""
    return (
        f"revocation data past the verifier's limit was ignored: {', '.join(ignored)} of the document security"
        f" store were not read (the limit is {policy.max_revocation_items} CRLs and OCSP responses of"
        f" {policy.max_revocation_bytes // MiB} MB together, and {policy.max_dss_certificates} certificates of"
        f" {MAX_CERTIFICATE_BYTES // 1024} KB at most each)"
    )


def _crl(der: bytes) -> CRLContainer:
    if len(der) > EAGER_CRL_BYTES:
        return CRLContainer(crl_data=crl_lookup.indexed(der))
    return CRL_CACHE.get_or_make(der, len(der), lambda: _parsed_crl(der))


def _parsed_crl(der: bytes) -> CRLContainer:
    crl = CertificateList.load(der)
    _ = (crl.native, crl.issuer.hashable, crl.issuer.sha256)
    return CRLContainer(crl_data=crl)


def _ocsp_responses(der: bytes) -> tuple[OCSPContainer, ...]:
    return OCSP_CACHE.get_or_make(der, len(der), lambda: _parsed_ocsp_responses(der))


def _parsed_ocsp_responses(der: bytes) -> tuple[OCSPContainer, ...]:
    response = OCSPResponse.load(der)
    _ = response.native
    return tuple(OCSPContainer.load_multi(response))


def _dss_certificate(der: bytes) -> x509.Certificate:
    return CERTIFICATE_CACHE.get_or_make(der, len(der), lambda: _parsed_certificate(der))


def _parsed_certificate(der: bytes) -> x509.Certificate:
    return parsed_whole(der)  # the cache's: read by every thread


def revisions_writing_dss(reader: PdfFileReader) -> tuple[int, ...]:
    """The revisions that wrote the document security store (its dictionary or the catalog holding it)."""
    out: list[int] = []
    for revision in range(reader.xrefs.total_revisions):
        try:
            root = reader.get_historical_resolver(revision).root
            if "/DSS" not in root:
                continue
            written = reader.xrefs.explicit_refs_in_revision(revision)
            dss = root.raw_get("/DSS")
            ref = getattr(dss, "reference", None)
            root_ref = reader.trailer.raw_get("/Root").reference
            if (ref is not None and ref in written) or (ref is None and root_ref in written):
                out.append(revision)
        except Exception:  # noqa: S112 - a revision we cannot read wrote no DSS we can use
            continue
    return tuple(out)
