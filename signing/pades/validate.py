"""Read a signed PDF with pyHanko and collect the facts the verdicts are made from.

This is the one place validation touches pyHanko and pyhanko-certvalidator: it reads the file leniently
(real signed PDFs use hybrid-reference files, which the strict reader refuses — leniency in *reading* never
softens a verdict, because every signed byte is still hashed and every later change is still analysed), runs
pyHanko's ETSI EN 319 102-1 processes (``ades_lta_validation`` for signatures, ``ades_timestamp_validation``
for document time-stamps) under a hard-fail revocation policy with explicit trust roots only, and translates
everything into plain :mod:`signing.validation.facts` values. pyHanko's exceptions end here.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import io
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from asn1crypto import x509
from asn1crypto.crl import CertificateList
from asn1crypto.ocsp import OCSPResponse
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed, AdESSubIndic
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    DiffResult,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import DocumentSecurityStore, EmbeddedPdfSignature
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    ades_basic_validation,
    ades_lta_validation,
    ades_timestamp_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureStatus, TimestampSignatureStatus
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.errors import InsufficientRevinfoError
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing.pades import validate_ocsp_hashes
from signing.pades.decode_budget import BudgetedPdfFileReader, DocumentBudget
from signing.pades.validate_repair import read_repaired
from signing.pades.validate_sigdict import cache_signature_dictionary
from signing.pades.validate_snapshot import javascript_places, snapshot_revision
from signing.validation.changes import compare_revisions
from signing.validation.errors import UnusableInputError
from signing.validation.facts import (
    CertificateFacts,
    DocumentFacts,
    RevisionFacts,
    RevisionSnapshot,
    SignatureFacts,
    TimestampFacts,
)
from signing.validation.policy import ValidationPolicy

__all__ = ["certificate_facts_from_der", "examine_pdf"]

logger = logging.getLogger(__name__)
# pyHanko logs every untrusted chain or missing time-stamp as a warning with a traceback, and every object
# missing from a revision's history as a warning; the report carries what matters as a verdict, so only
# pyHanko's errors reach the logs (and never a user's terminal).
for _noisy in ("pyhanko.sign", "pyhanko_certvalidator", "pyhanko.pdf_utils.reader"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)
validate_ocsp_hashes.install()

# pyHanko turns certvalidator's errors into a bare sub-indication and logs the reason as a warning (with a
# traceback). The reason belongs in the report: a logger filter collects those exceptions for the validation
# under way and drops the warnings; errors still reach the logs.
_validator_errors: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "validator_errors", default=None
)


def _collect_validator_error(record: logging.LogRecord) -> bool:
    errors = _validator_errors.get()
    if errors is not None and record.exc_info and record.exc_info[1] is not None:
        errors.append(record.exc_info[1])
    return record.levelno >= logging.ERROR


_cms_logger = logging.getLogger("pyhanko.sign.validation.generic_cms")
_cms_logger.setLevel(logging.WARNING)
_cms_logger.addFilter(_collect_validator_error)


@contextlib.contextmanager
def _validator_errors_collected() -> Iterator[list[BaseException]]:
    collected: list[BaseException] = []
    token = _validator_errors.set(collected)
    try:
        yield collected
    finally:
        _validator_errors.reset(token)


def _validator_message(errors: list[BaseException]) -> str:
    return "; ".join(str(getattr(e, "failure_msg", None) or e) for e in errors)[:2000]


def _revocation_missing(errors: list[BaseException]) -> bool:
    """Hard-fail found no usable CRL or OCSP response (pyHanko says CERTIFICATE_CHAIN_GENERAL_FAILURE)."""
    return any(isinstance(e, InsufficientRevinfoError) for e in errors)


_LEGACY_SHA1 = "/adbe.pkcs7.sha1"
_SIGNATURE_SUBFILTERS = frozenset({"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", _LEGACY_SHA1})
_TIMESTAMP_SUBFILTERS = frozenset({"/ETSI.RFC3161"})
_CHUNK = 1 << 20
# The signature hex string is read whole to compare it with /Contents; anything bigger is not a signature.
_MAX_CONTENTS_BYTES = 4 << 20


# -- reading the file ---------------------------------------------------------------------------------------


class _PrefixView(io.RawIOBase):
    """The first ``limit`` bytes of a seekable stream, so that a readable prefix can be read on its own."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._limit}[whence]
        if base + offset < 0:
            raise OSError(22, "Invalid argument")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._limit - self._pos)
        if n <= 0:
            return 0
        self._raw.seek(self._pos)
        data = self._raw.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _buffer_of(stream: IO[bytes]) -> memoryview | None:
    """The bytes of an in-memory file without a copy (``getvalue`` returns the bytes it was made from)."""
    return memoryview(stream.getvalue()) if isinstance(stream, io.BytesIO) else None


def _fill_byte_range_digest(es: EmbeddedPdfSignature) -> None:
    """Digest the signed byte range straight from the file's bytes when they are in memory.

    pyHanko reads the ranges through the stream in 4 KB copies; hashing slices of the buffer gives the same
    digest without them (a third of a 10 MB document's verification). Ranges that are not plain offsets
    within the file are left to pyHanko, which judges them.
    """
    data = _buffer_of(es.reader.stream)
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


BACKGROUND_HASH_FROM = 1 << 20  # smaller files are hashed in line: a thread would cost more than it saves


def _start_sha256(stream: IO[bytes], size: int) -> Callable[[], str]:
    """The file's SHA-256, computed on another core while the file is read when it is large.

    hashlib releases the GIL on large buffers, so this takes the second pass over a 10 MB file (about 10 ms
    here) off the verification's own time. The bytes are read without moving ``stream``'s position: from the
    buffer of an in-memory file, with ``os.pread`` from a real one; anything else is hashed in line.
    """
    if size < BACKGROUND_HASH_FROM:
        digest = _sha256(stream, size)
        return lambda: digest
    try:
        view = _buffer_of(stream)
        fd = stream.fileno() if view is None else -1
    except (OSError, AttributeError, io.UnsupportedOperation):
        digest = _sha256(stream, size)
        return lambda: digest
    result: dict[str, str] = {}

    def work() -> None:
        h = hashlib.sha256()
        try:
            if view is not None:
                h.update(view[:size])
            else:
                offset = 0
                while offset < size:
                    chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
                    if not chunk:
                        break
                    h.update(chunk)
                    offset += len(chunk)
            result["sha256"] = h.hexdigest()
        except Exception as err:  # reported by the caller, in line
            result["error"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=work, name="antin-file-sha256", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if "sha256" not in result:
            raise UnusableInputError("unreadable", result.get("error", "the file could not be hashed"))
        return result["sha256"]

    return wait


def _sha256(stream: IO[bytes], size: int) -> str:
    h = hashlib.sha256()
    stream.seek(0)
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            break
        h.update(chunk)
        remaining -= len(chunk)
    return h.hexdigest()


def _eof_after(stream: IO[bytes], start: int, size: int) -> int | None:
    """The end of the first ``%%EOF`` marker at or after ``start`` (a revision's trailer is short)."""
    stream.seek(start)
    window = stream.read(min(64 * 1024, max(0, size - start)))
    pos = window.find(b"%%EOF")
    return start + pos + 5 if pos != -1 else None


def _scan(stream: IO[bytes], size: int) -> tuple[list[int], str]:
    """Offsets just past every ``%%EOF`` marker and the file's SHA-256, in one chunked pass.

    Used only when the file must be repaired; readable files place their markers from the xref sections.
    """
    found: list[int] = []
    digest = hashlib.sha256()
    stream.seek(0)
    offset = 0
    tail = b""
    while offset < size:
        chunk = stream.read(min(_CHUNK, size - offset))
        if not chunk:
            break
        digest.update(chunk)
        data = tail + chunk
        start = offset - len(tail)
        pos = data.find(b"%%EOF")
        while pos != -1:
            end = start + pos + 5
            if not found or found[-1] != end:
                found.append(end)
            pos = data.find(b"%%EOF", pos + 1)
        tail = data[-4:]
        offset += len(chunk)
    return found, digest.hexdigest()


def _skip_eol(stream: IO[bytes], end: int, size: int) -> int:
    stream.seek(end)
    following = stream.read(2)
    for eol in (b"\r\n", b"\n", b"\r"):
        if following.startswith(eol):
            return min(size, end + len(eol))
    return end


@dataclasses.dataclass(frozen=True)
class _Opened:
    reader: PdfFileReader
    readable: int
    """How many bytes from the start the reader can use."""

    prefix_warning: str = ""
    """Set when only a prefix could be read."""

    repairs: tuple[str, ...] = ()
    """Set when the whole file could be read only with revisions found by scanning."""


def _open_reader(stream: IO[bytes], size: int, budget: DocumentBudget) -> _Opened:
    """A lenient reader of the whole file; failing that, one with repaired revisions; else of the longest prefix.

    Every reader tried draws on the same decode ``budget``.
    """
    try:
        reader = BudgetedPdfFileReader(stream, budget)
        _ = reader.root
        return _Opened(reader, size)
    except UnusableInputError:
        raise
    except Exception as err:  # pyHanko raises many types on broken files
        first_error = err
    try:
        repaired = read_repaired(stream, size, budget)
        return _Opened(
            repaired.reader, size, repairs=(f"{type(first_error).__name__}: {first_error}", *repaired.repairs)
        )
    except Exception:  # not repairable: read what can be read
        logger.info("the file could not be repaired", exc_info=True)
    eofs, _ = _scan(stream, size)
    if not eofs:
        raise UnusableInputError("truncated", "no end-of-file marker was found") from first_error
    for marker in sorted((e for e in eofs if e < size), reverse=True):
        end = _skip_eol(stream, marker, size)
        try:
            view = io.BufferedReader(_PrefixView(stream, end))
            reader = BudgetedPdfFileReader(view, budget)
            _ = reader.root
        except Exception:  # noqa: S112 - try the next shorter prefix
            continue
        warning = f"bytes {end}–{size} (a later update) cannot be read: {type(first_error).__name__}: {first_error}"
        return _Opened(reader, end, prefix_warning=warning)
    raise UnusableInputError("unreadable", f"{type(first_error).__name__}: {first_error}") from first_error


def _revisions(reader: PdfFileReader, stream: IO[bytes], size: int) -> tuple[RevisionFacts, ...]:
    out: list[RevisionFacts] = []
    for revision in range(reader.xrefs.total_revisions):
        try:
            xref_end = reader.xrefs.get_xref_container_info(revision).end_location
            end = _eof_after(stream, xref_end, size) or size
            objects = len(reader.xrefs.explicit_refs_in_revision(revision))
        except Exception:  # a revision we cannot place is reported as ending at the file's end
            end, objects = size, 0
        out.append(RevisionFacts(index=revision, end_offset=_skip_eol(stream, end, size), xref_objects=objects))
    return tuple(out)


# -- certificates -------------------------------------------------------------------------------------------


def _name(name: x509.Name) -> str:
    # RFC 4514 order and escaping, but UTF-8 text kept as is (asn1crypto's human_friendly reverses the order).
    parts = []
    for rdn in reversed(name.chosen):
        for attr in rdn:
            key = attr["type"].native
            short = {
                "common_name": "CN",
                "organization_name": "O",
                "organizational_unit_name": "OU",
                "country_name": "C",
                "locality_name": "L",
                "state_or_province_name": "ST",
                "serial_number": "serialNumber",
                "given_name": "GN",
                "surname": "SN",
                "title": "title",
                "email_address": "E",
                "domain_component": "DC",
                "user_id": "UID",
            }.get(key, key)
            value = attr["value"].native
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def _common_name(name: x509.Name) -> str:
    value = name.native.get("common_name", "")
    if isinstance(value, list):
        value = value[-1]
    return str(value)


def _certificate_facts(cert: x509.Certificate) -> CertificateFacts:
    return _certificate_facts_of_der(cert.dump())


@functools.lru_cache(maxsize=512)
def _certificate_facts_of_der(der: bytes) -> CertificateFacts:
    # The same signers, CAs and TSAs come back in document after document; their facts are immutable.
    cert = x509.Certificate.load(der)
    public_key = cert.public_key
    try:
        bits = int(public_key.bit_size)
    except Exception:  # unknown key types have no size we can judge
        bits = 0
    return CertificateFacts(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        serial_number=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
        sha256_fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        common_name=_common_name(cert.subject),
        key_algorithm=str(public_key.algorithm),
        key_bits=bits,
        self_signed=_self_issued(cert),
    )


def _self_issued(cert: x509.Certificate) -> bool:
    # Byte comparison: asn1crypto's Name equality runs LDAP string preparation, slow on Vietnamese names.
    return bool(cert.subject.dump() == cert.issuer.dump())


def certificate_facts_from_der(der: bytes) -> CertificateFacts:
    """The facts of one DER certificate (for reports about trust roots); ``ValueError`` when it is not one."""
    try:
        return _certificate_facts_of_der(bytes(der))
    except ValueError:
        raise
    except Exception as err:  # asn1crypto parses lazily: a broken certificate fails on first use
        raise ValueError(f"not a certificate: {err}") from err


def _path_facts(path: ValidationPath | None) -> tuple[tuple[CertificateFacts, ...], CertificateFacts | None]:
    if path is None:
        return (), None
    certs = [_certificate_facts(c) for c in path.iter_certs(include_root=True) if isinstance(c, x509.Certificate)]
    anchor_cert = getattr(path.trust_anchor, "certificate", None)
    anchor = _certificate_facts(anchor_cert) if isinstance(anchor_cert, x509.Certificate) else None
    # The chain is shown from the signer up.
    return tuple(reversed(certs)), anchor


def _embedded_chain(signer: x509.Certificate, others: list[x509.Certificate]) -> tuple[CertificateFacts, ...]:
    """The chain the signature carries, followed by issuer names (shown when no trusted path was found)."""
    chain = [signer]
    by_subject = {c.subject.dump(): c for c in others}
    current = signer
    while not _self_issued(current) and len(chain) < 10:
        issuer = by_subject.get(current.issuer.dump())
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return tuple(_certificate_facts(c) for c in chain)


# -- policies -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _trust_manager(roots_der: tuple[bytes, ...]) -> SimpleTrustManager:
    """The trust anchors, parsed once per trust list: a worker validates against the same list all day, and
    asn1crypto prepares names for comparison (LDAP string preparation, slow on Vietnamese names) once per object.
    What the comparisons read is computed here, so that threads sharing the objects only ever read them."""
    roots = [x509.Certificate.load(der) for der in roots_der]
    for cert in roots:
        _ = (cert.subject.hashable, cert.issuer.hashable, cert.key_identifier, cert.public_key.sha1, cert.sha256)
    return SimpleTrustManager.build(trust_roots=roots)


def _validation_spec(policy: ValidationPolicy, knowledge: LocalKnowledge) -> SignatureValidationSpec:
    hard_fail = RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    )
    algorithms = DisallowWeakAlgorithmsPolicy(
        weak_hash_algos=set(policy.weak_digest_algorithms), rsa_key_size_threshold=policy.min_rsa_bits
    )
    cert_policy = CertValidationPolicySpec(
        trust_manager=_trust_manager(policy.trust_roots),
        revinfo_policy=CertRevTrustPolicy(hard_fail),
        algorithm_usage_policy=algorithms,
    )
    gathering = RevocationInfoGatheringSpec(
        online_fetching_rule=(
            RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
            if policy.fetch_revocation
            else RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
    )
    return SignatureValidationSpec(
        cert_validation_policy=cert_policy, revinfo_gathering_policy=gathering, local_knowledge=knowledge
    )


def _dss_knowledge(reader: PdfFileReader) -> tuple[LocalKnowledge, bool, int, int, int]:
    """Certificates, CRLs and OCSP responses of the document security store (``/DSS``)."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return LocalKnowledge(), False, 0, 0, 0
    except Exception as err:  # a broken DSS counts as absent: hard-fail then refuses a pass
        logger.info("unreadable DSS: %s", err)
        return LocalKnowledge(), False, 0, 0, 0
    ocsps: list[OCSPContainer] = []
    crls: list[CRLContainer] = []
    certs: list[x509.Certificate] = []
    for resp in dss.ocsps:
        with contextlib.suppress(Exception):
            ocsps.extend(_ocsp_responses(bytes(resp.get_object().data)))
    for crl in dss.crls:
        with contextlib.suppress(Exception):
            crls.append(_crl(bytes(crl.get_object().data)))
    for cert in dss.certs.values():
        with contextlib.suppress(Exception):
            certs.append(_dss_certificate(bytes(cert.get_object().data)))
    return (
        LocalKnowledge(known_ocsps=ocsps, known_crls=crls, known_certs=certs),
        True,
        len(crls),
        len(ocsps),
        len(certs),
    )


# The same CRLs, OCSP responses and CA certificates come back in document after document (the platform's CA
# puts its current CRL into every B-LT signature): parsed once per worker, they keep what asn1crypto computes
# for comparisons (names prepared for matching, digests). Everything comparisons read is computed before an
# object is shared, so that threads only ever read it.


@functools.lru_cache(maxsize=128)
def _crl(der: bytes) -> CRLContainer:
    crl = CertificateList.load(der)
    _ = (crl.native, crl.issuer.hashable, crl.issuer.sha256)
    return CRLContainer(crl_data=crl)


@functools.lru_cache(maxsize=512)
def _ocsp_responses(der: bytes) -> tuple[OCSPContainer, ...]:
    response = OCSPResponse.load(der)
    _ = response.native
    return tuple(OCSPContainer.load_multi(response))


@functools.lru_cache(maxsize=512)
def _dss_certificate(der: bytes) -> x509.Certificate:
    cert = x509.Certificate.load(der)
    _ = (cert.native, cert.subject.hashable, cert.issuer.hashable, cert.sha256, cert.public_key.sha1)
    return cert


# -- one signature ------------------------------------------------------------------------------------------


def _sub_indication(indic: AdESSubIndic | None) -> str:
    if indic is None:
        return ""
    if isinstance(indic, AdESPassed):
        return "OK"
    return str(getattr(indic, "name", indic))


def _timestamp_facts(
    status: TimestampSignatureStatus | None, sub_indication: str, message: str = ""
) -> TimestampFacts | None:
    if status is None:
        if not sub_indication:
            return None
        return TimestampFacts(time=None, ades_sub_indication=sub_indication, message=message)
    path_tsa = status.signing_cert
    return TimestampFacts(
        time=status.timestamp,
        ades_sub_indication=sub_indication,
        tsa=_certificate_facts(path_tsa) if path_tsa is not None else None,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        digest_algorithm=status.md_algorithm,
        message=message,
    )


def _integrity(es: EmbeddedPdfSignature, check_changes: bool) -> None:
    """pyHanko's integrity step, done piecewise so that a crash in the difference analysis is a finding.

    ``compute_integrity_info`` runs digest, coverage and diff in one go and leaves the signature unusable when
    the diff analysis raises; here an exception in the analysis becomes a suspicious modification instead.
    """
    _fill_byte_range_digest(es)
    es.compute_digest()
    target: Any = es  # pyHanko declares these attributes as None-typed placeholders
    target.coverage = es.evaluate_signature_coverage()
    if check_changes:
        try:
            target.diff_result = es.evaluate_modifications(DEFAULT_DIFF_POLICY)
        except Exception as err:  # a crash in pyHanko's analysis is a suspicious change, not an abort
            target.diff_result = SuspiciousModification(f"the change analysis could not finish: {err}")
    target._integrity_checked = True


def _diff_facts(es: EmbeddedPdfSignature) -> tuple[str, str, tuple[str, ...]]:
    diff = es.diff_result
    if isinstance(diff, DiffResult):
        level: ModificationLevel = diff.modification_level
        return level.name, "", tuple(sorted(diff.changed_form_fields))
    if isinstance(diff, SuspiciousModification):
        return ModificationLevel.OTHER.name, str(diff)[:2000], ()
    return "", "", ()


def _contents_offsets(stream: IO[bytes], es: EmbeddedPdfSignature, size: int) -> tuple[int, int] | None:
    """Where the signature's hex string lies, if the gap between the byte ranges holds exactly it."""
    byte_range = list(es.byte_range)
    if len(byte_range) != 4:
        return None
    start, end = int(byte_range[1]), int(byte_range[2])
    if not 0 < start < end <= size or end - start > _MAX_CONTENTS_BYTES:
        return None
    stream.seek(start)
    gap = stream.read(end - start)
    if len(gap) != end - start or gap[:1] != b"<" or gap[-1:] != b">":
        return None
    try:
        decoded = binascii.unhexlify(gap[1:-1].translate(None, b" \t\r\n\f\x00"))  # PDF white space
    except (binascii.Error, ValueError):
        return None
    return (start, end) if decoded == es.pkcs7_content else None


def _locks(es: EmbeddedPdfSignature) -> tuple[tuple[str, ...], str]:
    try:
        spec = es.fieldmdp
    except Exception:
        return (), ""
    if spec is None:
        return (), ""
    action = str(spec.action.value) if hasattr(spec.action, "value") else str(spec.action)
    fields = tuple(spec.fields or ()) or ("*",)
    return fields, action


def _revocation(status: SignatureStatus | None, sub_indication: str) -> dict[str, Any]:
    if status is not None and status.revocation_details is not None:
        details = status.revocation_details
        return {
            "revocation_status": "revoked",
            "revocation_time": details.revocation_date,
            "revocation_reason": str(details.revocation_reason.native),
        }
    if sub_indication in ("REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"):
        return {"revocation_status": "revoked"}
    if sub_indication in ("TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"):
        return {"revocation_status": "unknown"}
    if status is not None and status.validation_path is not None and status.trust_problem_indic is None:
        # The path to an anchor validated under hard-fail: every certificate's revocation status was good.
        # (A path is also reported when its validation failed, so the path alone proves nothing.)
        return {"revocation_status": "good"}
    return {"revocation_status": "not-checked"}


def _revocation_sources(result: AdESBasicValidationResult[Any] | None, fetched: bool) -> tuple[str, ...]:
    if result is None:
        return ()
    sources: set[str] = set()
    origin = "document or fetched" if fetched else "document"
    for vo in result.validation_objects:
        kind = getattr(vo.object_type, "name", "")
        if kind == "CRL":
            sources.add(f"CRL ({origin})")
        elif kind == "OCSP_RESPONSE":
            sources.add(f"OCSP ({origin})")
    return tuple(sorted(sources))


def _base_facts(es: EmbeddedPdfSignature, kind: str, sub_filter: str, stream: IO[bytes], size: int) -> dict[str, Any]:
    docmdp: MDPPerm | None
    try:
        docmdp = es.docmdp_level
    except Exception:
        docmdp = None
    locks, lock_action = _locks(es)
    signer = es.signer_cert
    certification = False
    with contextlib.suppress(Exception):
        certification = any(
            str(ref.get_object().get("/TransformMethod")) == "/DocMDP"
            for ref in _resolved(es.sig_object, "/Reference", [])
        )
    return {
        "field_name": es.field_name,
        "kind": kind,
        "sub_filter": sub_filter,
        "byte_range": tuple(int(v) for v in es.byte_range),
        "contents_offsets": _contents_offsets(stream, es, size),
        "signed_revision": es.signed_revision,
        "digest_algorithm": es.md_algorithm,
        "signature_algorithm": str(es.signer_info["signature_algorithm"].signature_algo),
        "signer": _certificate_facts(signer),
        "chain": _embedded_chain(signer, es.other_embedded_certs),
        "docmdp": int(docmdp.value) if docmdp is not None else None,
        "certification": certification,
        "field_locks": locks,
        "field_lock_action": lock_action,
    }


async def _signature_facts(
    es: EmbeddedPdfSignature,
    sub_filter: str,
    policy: ValidationPolicy,
    spec: SignatureValidationSpec,
    timing: ValidationTimingInfo,
    stream: IO[bytes],
    size: int,
) -> SignatureFacts:
    base = _base_facts(es, "signature", sub_filter, stream, size)
    _integrity(es, policy.check_changes)
    # The difference analysis already ran in _integrity; pyHanko would re-run it on every document time-stamp
    # inside ades_lta_validation, where a crash in it would abort the whole validation.
    pdf_spec = PdfSignatureValidationSpec(spec, diff_policy=None)
    has_signature_timestamp = any(True for _ in _unsigned_timestamps(es))
    legacy = sub_filter == _LEGACY_SHA1
    result: Any
    try:
        with _validator_errors_collected() as validator_errors:
            if legacy:
                # The signed data encapsulates the byte range's SHA-1 digest: pyHanko checks the CMS over that
                # content (raw_digest None), _legacy_content_matches ties the content to the document's bytes.
                result = await ades_basic_validation(es.signed_data, spec, timing_info=timing, raw_digest=None)
            elif has_signature_timestamp:
                # EN 319 102-1 5.5 (validation with time) first: pyHanko's long-term process (5.6.3) always
                # goes on to past signature validation, whose NO_POE then overrides a signature that passes
                # 5.5 whenever no document time-stamp follows (every B-T and B-LT signature). The long-term
                # process runs only where 5.5 cannot pass: it may rescue an expired or since-revoked signer.
                result = await ades_with_time_validation(
                    es.signed_data, spec, timing_info=timing, raw_digest=es.compute_digest()
                )
                if not isinstance(result.ades_subindic, AdESPassed):
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
        diff_level, diff_message, changed = _diff_facts(es)
        return SignatureFacts(
            **base,
            ades_sub_indication="CERTIFICATE_CHAIN_GENERAL_FAILURE",
            ades_message=f"the certificate and revocation checks stopped: {type(err).__name__}: {err}"[:2000],
            signing_time=_safe_self_time(es),
            coverage_level=es.coverage.name if es.coverage is not None else "",
            diff_level=diff_level,
            diff_message=diff_message,
            changed_fields=changed,
        )
    status = result.api_status
    sub = _sub_indication(result.ades_subindic)
    chain, anchor = _path_facts(status.validation_path if status is not None else None)
    if status is not None and status.validation_path is None and sub == "OK":
        # Never report a pass without a path to one of our anchors.
        sub = "NO_CERTIFICATE_CHAIN_FOUND"
    sources = _revocation_sources(result, policy.fetch_revocation)
    if sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE" and (not sources or _revocation_missing(validator_errors)):
        # pyHanko's word for "hard-fail found no usable CRL or OCSP response"; EN 319 102-1 calls it TRY_LATER.
        sub = "TRY_LATER"
    ts_facts = None
    if status is not None and status.timestamp_validity is not None:
        ts_result = getattr(result, "signature_timestamp_status", None)
        ts_facts = _timestamp_facts(
            status.timestamp_validity, _sub_indication(ts_result.ades_subindic) if ts_result else "OK"
        )
    elif getattr(result, "signature_timestamp_status", None) is not None:
        ts_facts = _timestamp_facts(
            result.signature_timestamp_status.api_status,
            _sub_indication(result.signature_timestamp_status.ades_subindic),
            result.signature_timestamp_status.failure_msg or "",
        )
    elif has_signature_timestamp:
        ts_facts = TimestampFacts(
            time=_token_time(es),
            ades_sub_indication="NOT_VALIDATED",
            message="the signature time-stamp was not validated because the signature itself did not pass",
        )
    content_ts = None
    if status is not None and status.content_timestamp_validity is not None:
        content_ts = _timestamp_facts(status.content_timestamp_validity, "OK")
    diff_level, diff_message, changed = _diff_facts(es)
    intact = status.intact if status is not None else None
    if legacy:
        intact = bool(intact) and _legacy_content_matches(es)
    return SignatureFacts(
        **{**base, "chain": chain or base["chain"]},
        intact=intact,
        crypto_valid=status.valid if status is not None else None,
        ades_sub_indication=sub,
        ades_message=result.failure_msg or _validator_message(validator_errors),
        trust_anchor=anchor,
        **_revocation(status, sub),
        revocation_sources=sources,
        signing_time=getattr(status, "signer_reported_dt", None) or _safe_self_time(es),
        signature_timestamp=ts_facts,
        content_timestamp=content_ts,
        best_signature_time=getattr(result, "best_signature_time", None),
        coverage_level=es.coverage.name if es.coverage is not None else "",
        diff_level=diff_level,
        diff_message=diff_message,
        changed_fields=changed,
    )


def _legacy_content_matches(es: EmbeddedPdfSignature) -> bool:
    """An ``adbe.pkcs7.sha1`` signature's encapsulated content is the SHA-1 digest of its byte range."""
    content = es.signed_data["encap_content_info"]["content"]
    if content.native is None:
        return False
    return bytes(content.native) == es.compute_digest("sha1")


def _unsigned_timestamps(es: EmbeddedPdfSignature) -> Iterator[Any]:
    attrs = es.signer_info["unsigned_attrs"]
    if attrs.native is None:
        return
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            yield attr


def _token_time(es: EmbeddedPdfSignature) -> datetime | None:
    for attr in _unsigned_timestamps(es):
        with contextlib.suppress(Exception):
            token = attr["values"][0]["content"]
            return token["encap_content_info"]["content"].parsed["gen_time"].native  # type: ignore[no-any-return]
    return None


def _safe_self_time(es: EmbeddedPdfSignature) -> datetime | None:
    try:
        return es.self_reported_timestamp
    except Exception:
        return None


async def _timestamp_only_facts(
    es: EmbeddedPdfSignature,
    sub_filter: str,
    policy: ValidationPolicy,
    spec: SignatureValidationSpec,
    timing: ValidationTimingInfo,
    stream: IO[bytes],
    size: int,
) -> SignatureFacts:
    base = _base_facts(es, "document-timestamp", sub_filter, stream, size)
    _integrity(es, policy.check_changes)
    with _validator_errors_collected() as validator_errors:
        result = await ades_timestamp_validation(
            es.signed_data, spec, expected_tst_imprint=es.compute_digest, timing_info=timing
        )
    status = result.api_status
    sub = _sub_indication(result.ades_subindic)
    if sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE" and _revocation_missing(validator_errors):
        sub = "TRY_LATER"
    message = result.failure_msg or _validator_message(validator_errors)
    chain, anchor = _path_facts(status.validation_path if status is not None else None)
    if status is not None and status.validation_path is None and sub == "OK":
        sub = "NO_CERTIFICATE_CHAIN_FOUND"
    ts_time: datetime | None = None
    with contextlib.suppress(Exception):
        ts_time = es.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    diff_level, diff_message, changed = _diff_facts(es)
    ts = _timestamp_facts(status if isinstance(status, TimestampSignatureStatus) else None, sub, message)
    if ts is not None and ts.time is None and ts_time is not None:
        ts = dataclasses.replace(ts, time=ts_time)
    return SignatureFacts(
        **{**base, "chain": chain or base["chain"]},
        intact=status.intact if status is not None else None,
        crypto_valid=status.valid if status is not None else None,
        ades_sub_indication=sub,
        ades_message=message,
        trust_anchor=anchor,
        **_revocation(status, sub),
        revocation_sources=_revocation_sources(result, policy.fetch_revocation),
        signing_time=ts_time,
        signature_timestamp=ts,
        best_signature_time=ts_time,
        coverage_level=es.coverage.name if es.coverage is not None else "",
        diff_level=diff_level,
        diff_message=diff_message,
        changed_fields=changed,
    )


def _unreadable_signature(
    name: str, kind: str, sub_filter: str, err: BaseException | str, **extra: Any
) -> SignatureFacts:
    reason = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    return SignatureFacts(field_name=name, kind=kind, sub_filter=sub_filter, read_error=reason[:2000], **extra)  # type: ignore[arg-type]


async def _all_signatures(
    reader: PdfFileReader,
    policy: ValidationPolicy,
    knowledge: LocalKnowledge,
    stream: IO[bytes],
    size: int,
) -> list[SignatureFacts]:
    spec = _validation_spec(policy, knowledge)
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
            cache_signature_dictionary(reader, value, _MAX_CONTENTS_BYTES)
            sig_obj = value.get_object()
            sub_filter = str(sig_obj.get("/SubFilter", ""))
            is_timestamp = sig_obj.get("/Type") == "/DocTimeStamp" or sub_filter in _TIMESTAMP_SUBFILTERS
            kind = "document-timestamp" if is_timestamp else "signature"
            allowed = _TIMESTAMP_SUBFILTERS if is_timestamp else _SIGNATURE_SUBFILTERS
            es = EmbeddedPdfSignature(reader, field_ref, name)
        except Exception as err:  # an unreadable signature dictionary is a FORMAT_FAILURE fact
            out.append(_unreadable_signature(name, kind, sub_filter, err))
            continue
        if sub_filter not in allowed:
            extra: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                extra = _base_facts(es, kind, sub_filter, stream, size)
                extra.pop("field_name"), extra.pop("kind"), extra.pop("sub_filter")
            out.append(_unreadable_signature(name, kind, sub_filter, f"unsupported SubFilter {sub_filter}", **extra))
            continue
        try:
            if is_timestamp:
                facts = await _timestamp_only_facts(es, sub_filter, policy, spec, timing, stream, size)
            else:
                facts = await _signature_facts(es, sub_filter, policy, spec, timing, stream, size)
        except Exception as err:  # a reader or validator crash is a failure verdict, never a pass
            logger.info("signature %s could not be validated", name, exc_info=True)
            extra = {}
            with contextlib.suppress(Exception):
                extra = _base_facts(es, kind, sub_filter, stream, size)
                extra.pop("field_name"), extra.pop("kind"), extra.pop("sub_filter")
            out.append(_unreadable_signature(name, kind, sub_filter, err, **extra))
            continue
        out.append(facts)
    out.sort(key=lambda f: (f.signed_revision if f.signed_revision is not None else 1 << 30, f.field_name))
    return out


# -- the document -------------------------------------------------------------------------------------------


def examine_pdf(stream: IO[bytes], size: int, policy: ValidationPolicy) -> DocumentFacts:
    """Read ``stream`` (``size`` bytes, seekable) and collect the facts of every signature in it.

    Raises :class:`~signing.validation.errors.UnusableInputError` when the file cannot be read at all or is
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
        "decode-limit", f"its compressed streams expand past {budget.total} bytes, the limit for a file of its size"
    )


def _examine(stream: IO[bytes], size: int, policy: ValidationPolicy, budget: DocumentBudget) -> DocumentFacts:
    file_sha256 = _start_sha256(stream, size)
    opened = _open_reader(stream, size, budget)
    reader, readable, warning = opened.reader, opened.readable, opened.prefix_warning
    if reader.encrypted:
        raise UnusableInputError("encrypted")
    view: IO[bytes] = reader.stream
    revisions = _revisions(reader, view, readable)
    knowledge, dss_present, n_crl, n_ocsp, n_cert = _dss_knowledge(reader)
    signatures = asyncio.run(_all_signatures(reader, policy, knowledge, view, readable))
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
    dss_revisions = _dss_revisions(reader) if dss_present else ()
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
    javascript_unchecked = ""
    try:
        javascript = javascript_places(reader.root)
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
        read_warning=warning,
        readable_size=readable,
        repairs=opened.repairs,
        javascript=javascript,
        javascript_unchecked=javascript_unchecked,
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


def _dss_revisions(reader: PdfFileReader) -> tuple[int, ...]:
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


def _resolved(obj: Any, key: str, default: Any) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        return default
