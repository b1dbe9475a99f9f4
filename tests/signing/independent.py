"""Independent checks of the signatures the tests make: pyHanko's AdES validator and poppler's pdfsig.

Both are configured by hand here, apart from the platform's code: trust in our root only, revocation checked with
a hard-fail policy from the document's own validation data plus what the test passes (no online fetching).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import crl, ocsp, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

__all__ = ["AdesVerdict", "PdfsigSignature", "ades_verdicts", "nss_database", "pdfsig"]


@dataclass(frozen=True)
class AdesVerdict:
    field: str
    status: str  # PASSED, INDETERMINATE, FAILED
    sub_indication: str | None
    failure: str | None


def ades_verdicts(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    *,
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
) -> list[AdesVerdict]:
    """ETSI EN 319 102-1 verdicts from pyHanko for every signature (LTA validation when time-stamps are there)."""
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[x509.Certificate.load(r) for r in trust_roots]),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
                intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
            )
        ),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            local_knowledge=LocalKnowledge(
                known_crls=[CRLContainer(crl.CertificateList.load(c)) for c in crls],
                known_ocsps=[OCSPContainer(ocsp.OCSPResponse.load(o)) for o in ocsps],
            ),
        )
    )
    # pyHanko's past-signature validation (B-LTA) recurses deeply: under pytest's own stack frames it passes
    # Python's default limit of 1000.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    doc_timestamps = [ts.signed_revision for ts in reader.embedded_timestamp_signatures]
    dss = ades._dss_to_local_knowledge(reader)
    out = []
    for sig in reader.embedded_regular_signatures:
        result: ades.AdESBasicValidationResult
        if any(rev > sig.signed_revision for rev in doc_timestamps):
            result = asyncio.run(ades.ades_lta_validation(sig, spec))  # B-LTA: EN 319 102-1 §5.6.3
        else:
            with_dss = dataclasses.replace(
                spec.signature_validation_spec,
                local_knowledge=LocalKnowledge(
                    known_crls=[*spec.signature_validation_spec.local_knowledge.known_crls, *dss.known_crls],
                    known_ocsps=[*spec.signature_validation_spec.local_knowledge.known_ocsps, *dss.known_ocsps],
                    known_certs=dss.known_certs,
                ),
            )
            if _has_signature_timestamp(sig):  # B-T, B-LT: §5.5
                result = asyncio.run(
                    ades.ades_with_time_validation(sig.signed_data, with_dss, raw_digest=sig.compute_digest())
                )
            else:  # B-B: §5.3
                result = asyncio.run(
                    ades.ades_basic_validation(sig.signed_data, with_dss, raw_digest=sig.compute_digest())
                )
        sub = result.ades_subindic
        out.append(
            AdesVerdict(
                field=sig.field_name,
                status=sub.status.name,
                sub_indication=None if sub.status == AdESStatus.PASSED else sub.name,
                failure=result.failure_msg,
            )
        )
    return out


@dataclass(frozen=True)
class PdfsigSignature:
    field: str
    common_name: str
    signature_validation: str
    certificate_validation: str | None
    whole_document: bool


def nss_database(folder: Path, root_pem: bytes) -> Path:
    """An NSS database trusting only our root, for pdfsig."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    (folder / "root.pem").write_bytes(root_pem)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{folder}", "-n", "antin-root", "-t", "CT,C,C", "-i", str(folder / "root.pem")],
        check=True,
        capture_output=True,
    )
    return folder


def pdfsig(pdf: Path, nss: Path, *, online_ocsp: bool = True) -> list[PdfsigSignature]:
    """pdfsig's findings for every signature, read from its output (its exit status says nothing)."""
    if shutil.which("pdfsig") is None:
        raise RuntimeError("pdfsig is missing (install poppler-utils)")
    args = ["pdfsig", "-nssdir", f"sql:{nss}"]
    if not online_ocsp:
        args.append("-no-ocsp")
    result = subprocess.run(
        [*args, str(pdf)], check=False, capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    blocks = re.split(r"^Signature #\d+:\n", result.stdout, flags=re.MULTILINE)[1:]
    found = []
    for block in blocks:
        fields = dict(re.findall(r"^[ \t]+- ([^:\n]+): (.*)$", block, flags=re.MULTILINE))
        found.append(
            PdfsigSignature(
                field=fields.get("Signature Field Name", ""),
                common_name=fields.get("Signer Certificate Common Name", ""),
                signature_validation=fields.get("Signature Validation", ""),
                certificate_validation=fields.get("Certificate Validation"),
                whole_document="Total document signed" in block and "Not total document signed" not in block,
            )
        )
    return found


def _has_signature_timestamp(sig: EmbeddedPdfSignature) -> bool:
    unsigned = sig.signer_info["unsigned_attrs"].native or []
    return any(attr["type"] == "signature_time_stamp_token" for attr in unsigned)
