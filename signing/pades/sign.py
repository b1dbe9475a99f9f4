"""PAdES signing: B-B, B-T, B-LT, B-LTA; approval and certification (DocMDP) signatures; visible or invisible.

Every signature is an incremental update, so earlier signatures stay valid: the official signs first, the records
office then adds the unit's seal. A certification signature can only be the first one (ISO 32000); asking to
certify a document that is already signed locks it instead: the new signature carries a FieldMDP lock of every
form field with DocMDP level 2 (PDF 2.0), so that from then on only signatures may be added. Level 2 rather than 1
because validators disagree on whether level 1 still admits the validation data and document time-stamps that
B-LT and B-LTA (and their renewals) add; level 2 admits them everywhere and still catches every other change.

Speed: one :class:`PadesEngine` per process keeps a :class:`~signing.pades.signer.KeyStoreSigner` per certificate
(the ``SIGNERS_KEPT`` most recently used), the time-stamper and its certificates; the signature space is sized from
the certificates instead of by a dry run; input and output are file streams, copied in chunks, never held whole in
memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

import requests
from asn1crypto import x509
from pyhanko.pdf_utils.generic import PdfObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError, PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, RevokedError

from antin.kernel.caches import CacheSize, register_instance_cache
from signing.appearance import VisibleBox
from signing.errors import (
    CertificateRevokedError,
    InvalidDocumentError,
    InvalidRequestError,
    SigningError,
    TimestampError,
)
from signing.keystore import KeyStore
from signing.pades.options import LEVELS, DocumentFacts, Level, PadesOptions, PadesResult, SignerMaterial
from signing.pades.signer import KeyStoreSigner
from signing.pades.stamp import AppearanceStampStyle
from signing.pki.authority import RevocationMaterial
from signing.shared_certificates import parsed_whole

__all__ = [
    "LEVELS",
    "DocumentFacts",
    "Level",
    "PadesEngine",
    "PadesOptions",
    "PadesResult",
    "SignerMaterial",
    "inspect_pdf",
]

log = logging.getLogger(__name__)


class _DropOfflineEmbeddingWarning(logging.Filter):
    """pyHanko warns whenever validation data is embedded without fetching: that is our design (the platform's
    own OCSP answers and CRLs are handed over), not a problem worth a log line per signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_DropOfflineEmbeddingWarning())
# fontTools reports every font table it leaves out of a subset (DejaVu's FFTM): noise for every appearance.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

HEADER_WINDOW = 1024
# signers (parsed certificate and chain, encoded CMS parts) a process keeps, the most recently used: one per official
# who signed lately; without a bound they grew with every official and renewed certificate that signed through it
SIGNERS_KEPT = 1_000


def _reject(reason: str, detail: str) -> InvalidDocumentError:
    return InvalidDocumentError(reason, detail)


def _check_header(stream: BinaryIO) -> None:
    stream.seek(0)
    head = stream.read(HEADER_WINDOW)
    if not head:
        raise _reject("empty", "the file is empty")
    if b"%PDF-" not in head:
        raise _reject("not-pdf", "the file is not a PDF (no %PDF- header)")
    stream.seek(-min(HEADER_WINDOW, stream.seek(0, 2)), 2)
    if b"%%EOF" not in stream.read():
        raise _reject("truncated", "the PDF is truncated (no %%EOF marker at its end)")
    stream.seek(0)


def _open_writer(stream: BinaryIO) -> IncrementalPdfFileWriter:
    """Parse the PDF once, for both the checks and the incremental update."""
    _check_header(stream)
    try:
        writer = IncrementalPdfFileWriter(stream, strict=False)
        if writer.prev.encrypted:
            raise _reject("encrypted", "the PDF is encrypted: remove the password protection before signing")
        _ = writer.prev.root["/Pages"]
    except InvalidDocumentError:
        raise
    except (PdfError, PdfReadError, ValueError, KeyError, TypeError, IndexError, OSError) as err:
        raise _reject("damaged", f"the PDF cannot be read ({type(err).__name__})") from None
    return writer


def inspect_pdf(stream: BinaryIO) -> DocumentFacts:
    """Check that ``stream`` is a signable PDF and describe it; :class:`InvalidDocumentError` otherwise."""
    return _facts(_open_writer(stream).prev)


def _facts(reader: PdfFileReader) -> DocumentFacts:
    try:
        pages = int(reader.root["/Pages"]["/Count"])
        signatures = list(reader.embedded_regular_signatures)
        certification = _docmdp_level(reader)
    except (PdfError, ValueError, KeyError, TypeError) as err:
        raise _reject("damaged", f"the PDF cannot be read ({type(err).__name__})") from None
    locked = certification == MDPPerm.NO_CHANGES or any(
        _lock_level(s.sig_field) == MDPPerm.NO_CHANGES for s in signatures
    )
    return DocumentFacts(pages=pages, signatures=len(signatures), certified=certification is not None, locked=locked)


def _docmdp_level(reader: PdfFileReader) -> MDPPerm | None:
    from pyhanko.sign.validation import read_certification_data

    data = read_certification_data(reader)
    return data.permission if data is not None else None


def _lock_level(sig_field: PdfObject) -> MDPPerm | None:
    try:
        return MDPPerm(int(sig_field["/Lock"]["/P"]))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


class PadesEngine:
    """Signs PDFs with keys in a :class:`KeyStore`; one per process, thread-safe."""

    def __init__(
        self,
        keystore: KeyStore,
        *,
        timestamp: Callable[[bytes], bytes] | None = None,
        tsa_url: str | None = None,
        tsa_certificates: Sequence[bytes] = (),
        revocation: Callable[[Sequence[bytes]], RevocationMaterial] | None = None,
    ) -> None:
        self.keystore = keystore
        self._timestamper: TimeStamper | None = None
        if tsa_url:
            from signing.pades.timestamps import external_timestamper

            self._timestamper = external_timestamper(tsa_url)
        elif timestamp is not None:
            from signing.pades.timestamps import InProcessTimeStamper

            self._timestamper = InProcessTimeStamper(timestamp)
        self._external_tsa = bool(tsa_url)
        self._tsa_certificates = tuple(x509.Certificate.load(c) for c in tsa_certificates)
        self._revocation = revocation
        self._signers: OrderedDict[tuple[str, bytes], KeyStoreSigner] = OrderedDict()  # the newest used last
        register_instance_cache("pades-signers", self, lambda engine: CacheSize(len(engine._signers)))
        self._lock = threading.Lock()
        self._local = threading.local()

    def _run(self, operation: Coroutine[Any, Any, Any], context: ValidationContext | None) -> None:
        """Run pyHanko's coroutine on this thread's event loop, kept between signatures (``asyncio.run`` would
        build and tear down a loop and its executor every time)."""
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._local.loop = asyncio.new_event_loop()

        async def run_then_release() -> None:
            try:
                await operation
            finally:
                if context is not None:
                    await context.aclose()

        loop.run_until_complete(run_then_release())

    def _signer(self, material: SignerMaterial) -> KeyStoreSigner:
        key = (material.key_label, material.certificate)
        with self._lock:
            signer = self._signers.get(key)
            if signer is not None:
                self._signers.move_to_end(key)
                return signer
            cert = parsed_whole(material.certificate)  # shared by the threads signing with the same key
            chain = [parsed_whole(c) for c in material.chain]
            signer = self._signers[key] = KeyStoreSigner(self.keystore, material.key_label, cert, chain)
            if len(self._signers) > SIGNERS_KEPT:
                self._signers.popitem(last=False)
            return signer

    def _bytes_reserved(self, signer: KeyStoreSigner, level: Level) -> int:
        reserved = signer.bytes_reserved.get(level)
        if reserved is None:
            reserved = signer.bytes_reserved[level] = self._estimate_size(signer, level)
        return reserved

    def _estimate_size(self, signer: KeyStoreSigner, level: Level) -> int:
        # CMS = certificates + signed attributes + signature; a time-stamp token adds the TSA's certificates.
        certs = sum(len(c.dump()) for c in signer.cert_registry)
        size = certs + 2048
        if level != "B-B":
            size += sum(len(c.dump()) for c in self._tsa_certificates) + 4096
        return 2 * size  # hexadecimal digits in /Contents

    def _validation_context(self, signer: KeyStoreSigner) -> ValidationContext:
        if self._revocation is None:
            raise InvalidRequestError("level", "B-LT and B-LTA need revocation data, which this engine has none of")
        subjects = [signer.certificate.dump(), *(c.dump() for c in self._tsa_certificates)]
        material = self._revocation(subjects)
        return ValidationContext(
            trust_roots=[x509.Certificate.load(c) for c in material.trust_roots],
            other_certs=[x509.Certificate.load(c) for c in material.certificates],
            crls=list(material.crls),
            ocsps=list(material.ocsp_responses),
            allow_fetching=self._external_tsa or not material.complete,
            revocation_mode="hard-fail",
        )

    def sign(self, material: SignerMaterial, source: BinaryIO, output: BinaryIO, options: PadesOptions) -> PadesResult:
        """Sign the PDF read from ``source`` (seekable) into ``output`` (seekable, writable)."""
        if options.level not in LEVELS:
            raise InvalidRequestError("level", f"must be one of {', '.join(LEVELS)}")
        if options.level != "B-B" and self._timestamper is None:
            raise InvalidRequestError("level", f"{options.level} needs a time-stamping authority")
        if options.visible is not None and options.appearance is None:
            raise InvalidRequestError("visible", "a visible signature needs an appearance")
        writer = _open_writer(source)
        facts = _facts(writer.prev)
        if facts.locked:
            raise _reject("locked", "the document is certified or locked against any further change")
        if options.visible is not None and options.visible.page > facts.pages:
            raise InvalidRequestError(
                "visible", f"page {options.visible.page} does not exist (the PDF has {facts.pages})"
            )
        certify = options.certify and facts.signatures == 0
        lock = options.certify and facts.signatures > 0
        signer = self._signer(material)
        field_name = options.field_name or f"Signature{facts.signatures + 1}"
        long_term = options.level in ("B-LT", "B-LTA")
        meta = PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=options.reason,
            location=options.location,
            certify=certify,
            docmdp_permissions=MDPPerm.FILL_FORMS,
            embed_validation_info=long_term,
            use_pades_lta=options.level == "B-LTA",
            validation_context=self._validation_context(signer) if long_term else None,
            signer_key_usage={"non_repudiation"},
            dss_settings=DSSContentSettings(
                include_vri=False, placement=SigDSSPlacementPreference.TOGETHER_WITH_NEXT_TS
            ),
        )
        spec = SigFieldSpec(
            sig_field_name=field_name,
            on_page=(options.visible.page - 1) if options.visible else 0,
            box=_box(options.visible) if options.visible else None,
            field_mdp_spec=FieldMDPSpec(FieldMDPAction.ALL) if lock else None,
            doc_mdp_update_value=MDPPerm.FILL_FORMS if lock else None,
        )
        style = AppearanceStampStyle(appearance=options.appearance) if options.visible else None
        pdf_signer = PdfSigner(
            meta,
            signer,
            timestamper=self._timestamper if options.level != "B-B" else None,
            stamp_style=style,
            new_field_spec=spec,
        )
        started = datetime.now(UTC)
        try:
            self._run(
                pdf_signer.async_sign_pdf(
                    writer, bytes_reserved=self._bytes_reserved(signer, options.level), output=output
                ),
                meta.validation_context,
            )
        except (RevokedError, PathValidationError) as err:
            raise _path_error(signer, err) from None
        except PyhankoSigningError as err:
            raise _translate_signing_error(signer, err) from None
        except (PdfError, PdfReadError) as err:
            raise _reject("damaged", f"the PDF cannot be signed ({err})") from None
        except OSError as err:
            # the external TSA (pyHanko's HTTP client wraps its requests error) or a revocation fetch
            if isinstance(err, requests.RequestException | TimestampRequestError):
                raise TimestampError(f"{type(err).__name__}: {err}") from None
            raise SigningError(f"cannot write the signed PDF: {err.strerror or err}") from None
        return PadesResult(field_name, started, options.level, certify, lock)


def _box(visible: VisibleBox) -> tuple[int, int, int, int]:
    return (
        round(visible.x),
        round(visible.y),
        round(visible.x + visible.width),
        round(visible.y + visible.height),
    )


def _path_error(signer: KeyStoreSigner, err: Exception) -> SigningError:
    serial = format(signer.certificate.serial_number, "x")
    if isinstance(err, RevokedError) or "revoked" in str(err).lower():
        return CertificateRevokedError(serial, None)
    return SigningError(f"the signer's certificate does not validate: {err}")


def _translate_signing_error(signer: KeyStoreSigner, err: PyhankoSigningError) -> SigningError:
    text = str(err)
    cause = err.__cause__
    if isinstance(cause, RevokedError | PathValidationError):
        return _path_error(signer, cause)
    if "revoked" in text.lower():
        return _path_error(signer, err)
    if "timestamp" in text.lower() or "tsa" in text.lower():
        return TimestampError(text)
    if "Certification signatures must be the first" in text or "forbids all changes" in text:
        return _reject("locked", text)
    return SigningError(f"signing failed: {text}")
