"""The document security store (``/DSS``): the certificates, CRLs and OCSP responses it holds, and which
revisions wrote it.
"""

from __future__ import annotations

import contextlib
import functools
import logging

from asn1crypto import x509
from asn1crypto.crl import CertificateList
from asn1crypto.ocsp import OCSPResponse
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

__all__ = ["dss_knowledge", "revisions_writing_dss"]

logger = logging.getLogger(__name__)


def dss_knowledge(reader: PdfFileReader) -> tuple[LocalKnowledge, bool, int, int, int]:
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
