"""Every row of the shared corpus manifest gets its expected verdict (the manifest is read at run time).

The expectations come from the row's class and its "what a verifier must report" text; a second test trusts
every certificate the attack files carry and still never sees TOTAL_PASSED, for a reason the attack causes.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signing.validation import Indication, UnusableInputError, ValidationPolicy, verify_file
from signing.validation.models import DocumentReport


def _corpus_dir() -> Path:
    here = Path(__file__).resolve()
    in_repo = here.parents[2] / "corpus" / "pdf-signatures"  # tests/corpus: a copy kept with the code
    if (in_repo / "MANIFEST.tsv").is_file():
        return in_repo
    for base in [Path(os.environ.get("ANTIN_SHARED_DIR", "/nonexistent")), *here.parents]:
        for candidate in (base / "corpus" / "pdf-signatures", base / "shared" / "corpus" / "pdf-signatures"):
            if (candidate / "MANIFEST.tsv").is_file():
                return candidate
    return Path("/work/shared/corpus/pdf-signatures")


CORPUS = _corpus_dir()


@dataclass(frozen=True)
class Row:
    file: str
    cls: str
    what: str
    expect: str

    @property
    def path(self) -> Path:
        return CORPUS / self.file


def _rows() -> list[Row]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        return [
            Row(r["file"], r["class"], r["what it is"], r["what a verifier must report"])
            for r in reader
            if r.get("file")
        ]


ROWS = _rows()


def test_the_manifest_is_there() -> None:
    assert ROWS, f"no corpus manifest at {CORPUS}"


def _verify(row: Row, policy: ValidationPolicy) -> DocumentReport | UnusableInputError:
    try:
        return verify_file(row.path, policy)
    except UnusableInputError as err:
        return err


def _attack_caught(report: DocumentReport) -> bool:
    """A finding the attack itself causes: a format/hash failure, a read error or a reported change."""
    for sig in report.signatures:
        if sig.indication is Indication.TOTAL_FAILED:
            return True
        if any(m["severity"] in ("failure", "warning") for m in sig.modifications):
            return True
    return bool(report.warnings)


@pytest.mark.parametrize("row", ROWS, ids=[r.file.rsplit("/", 1)[-1] for r in ROWS])
def test_corpus_row_gets_its_verdict(row: Row) -> None:
    outcome = _verify(row, ValidationPolicy())
    what = row.expect

    if row.cls == "malformed":
        if "not a valid PDF" in what:
            assert isinstance(outcome, UnusableInputError)
            assert outcome.reason in ("not-pdf", "unreadable")
            assert "not a valid PDF" in str(outcome) or "cannot be read" in str(outcome)
        else:
            assert isinstance(outcome, UnusableInputError) or outcome.indication is Indication.TOTAL_FAILED
        return

    if row.cls == "attack":
        if isinstance(outcome, UnusableInputError):
            return  # an unreadable attack file is refused, never passed
        assert outcome.indication is not Indication.TOTAL_PASSED
        assert _attack_caught(outcome), [(s.indication, s.sub_indication, s.modifications) for s in outcome.signatures]
        if "second signature TOTAL_FAILED (format failure)" in what:
            assert outcome.signatures[1].indication is Indication.TOTAL_FAILED
            assert outcome.signatures[1].sub_indication == "FORMAT_FAILURE"
        elif "TOTAL_FAILED (format failure)" in what:
            assert outcome.indication is Indication.TOTAL_FAILED
            assert outcome.sub_indication == "FORMAT_FAILURE"
        if "reported" in what and ("modification" in what or "change" in what):
            assert any(s.modifications or s.errors for s in outcome.signatures)
        if "uncovered bytes reported" in what or "ByteRange anomaly reported" in what:
            sig = outcome.signatures[0]
            assert not sig.coverage["whole_revision"] or sig.errors
        return

    assert isinstance(outcome, DocumentReport), f"{row.file}: {outcome}"
    assert outcome.signatures, "every signature must be reported"
    for sig in outcome.signatures:
        assert sig.integrity["intact"] is not False, f"{sig.field_name}: clean file reported as altered"
        assert sig.sub_indication not in ("HASH_FAILURE", "SIG_CRYPTO_FAILURE")
        assert sig.signer is not None

    if row.cls == "clean":
        assert outcome.indication is Indication.INDETERMINATE
        assert all(s.indication is not Indication.TOTAL_FAILED for s in outcome.signatures)
        first = outcome.signatures[0]
        if first.kind == "signature" and not first.sub_indication.startswith("CRYPTO"):  # type: ignore[union-attr]
            assert first.sub_indication in ("NO_CERTIFICATE_CHAIN_FOUND", "CERTIFICATE_CHAIN_GENERAL_FAILURE")
        if "whole file covered" in what:
            assert outcome.signatures[-1].coverage["whole_file"]
        if "no change after signing" in what:
            assert not outcome.signatures[-1].modifications
        if "told apart" in what or "document timestamp" in what.lower():
            kinds = {s.kind for s in outcome.signatures}
            assert kinds == {"signature", "document-timestamp"}
        if "revocation data found in the DSS" in what:
            assert outcome.dss["present"] and (outcome.dss["crls"] or outcome.dss["ocsp_responses"])
        if "certification level reported" in what:
            assert outcome.signatures[0].certification is not None
            assert outcome.signatures[0].certification["docmdp"] in (1, 2, 3)
        if "no forged-content verdict" in what:
            assert all(m["severity"] != "failure" for s in outcome.signatures for m in s.modifications)
        if "four signatures" in row.what:
            assert len(outcome.signatures) == 4
    elif row.cls == "weak":
        assert outcome.indication is not Indication.TOTAL_PASSED
        assert any("CRYPTO_CONSTRAINTS" in (s.sub_indication or "") for s in outcome.signatures)
        assert any("SHA1" in " ".join(s.warnings).upper().replace("-", "") for s in outcome.signatures)
    elif row.cls == "benign-change":
        changed = [s for s in outcome.signatures[:-1] or outcome.signatures if s.modifications]
        assert changed, "the changes after signing must be reported"


def test_five_signatures_file_reports_every_signature_it_can_read() -> None:
    report = verify_file(CORPUS / "dss/pades-5-signatures-and-1-document-timestamp.pdf", ValidationPolicy())
    assert [s.field_name for s in report.signatures][:5] == [f"Signature{i}" for i in range(1, 6)]
    assert report.indication is Indication.INDETERMINATE
    assert report.warnings, "the broken cross-reference data must be reported"


def test_five_signatures_file_reports_the_document_timestamp() -> None:
    # The last update's trailer says /Prev 0 and the DSS update before it has shifted offsets: the revisions
    # are found by scanning, and the document time-stamp in the last one is reported like the rest.
    path = CORPUS / "dss/pades-5-signatures-and-1-document-timestamp.pdf"
    report = verify_file(path, ValidationPolicy(trust_roots=_embedded_certificates(path)))
    assert len(report.signatures) == 6
    docts = report.signatures[-1]
    assert (docts.field_name, docts.kind) == ("Signature6", "document-timestamp")
    assert docts.integrity["intact"] is True and docts.coverage["whole_file"]
    assert all(s.integrity["intact"] is True for s in report.signatures)
    # A repaired reading is an interpretation: even with every embedded certificate trusted, nothing passes.
    assert all(s.indication is Indication.INDETERMINATE for s in report.signatures)
    assert all(any("rebuilt by scanning" in w for w in s.warnings) for s in report.signatures)
    assert any("/Prev 0" in w for w in report.warnings)


def test_legacy_pkcs7_sha1_signature_is_integrity_checked() -> None:
    report = verify_file(CORPUS / "dss/pkcs7_sha1.pdf", ValidationPolicy())
    legacy = report.signatures[0]
    assert legacy.integrity["sub_filter"] == "/adbe.pkcs7.sha1"
    assert legacy.integrity["intact"] is True and legacy.integrity["signature_valid"] is True
    assert legacy.indication is Indication.INDETERMINATE


def test_pades_ltv_sha512_ocsp_response_is_used() -> None:
    # Its OCSP response hashes the CertID with SHA-512, which crashed pyhanko-certvalidator's matching. Trust only
    # the corpus root and validate within the response's freshness (no nextUpdate: 30 minutes after thisUpdate).
    path = CORPUS / "dss/pades-ltv.pdf"
    root = next(
        d
        for d in _embedded_certificates(path)
        if asn1_x509.Certificate.load(d).subject.native["common_name"] == "root-ca"
    )
    when = datetime(2024, 7, 31, 9, 45, tzinfo=UTC)
    report = verify_file(path, ValidationPolicy(trust_roots=(root,), validation_time=when))
    sig = report.signatures[0]
    assert (sig.field_name, sig.kind) == ("Signature1", "signature")
    assert sig.trust_anchor is not None and sig.trust_anchor.common_name == "root-ca"
    assert sig.revocation["status"] == "good"
    assert "OCSP (document)" in sig.revocation["sources"]
    assert sig.sub_indication != "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    assert not any("stopped" in w for w in sig.warnings)


# -- the attacks, with the signers' certificates trusted ----------------------------------------------------


def _embedded_certificates(path: Path) -> tuple[bytes, ...]:
    """Every certificate the file's signatures carry (pyHanko reads them; allowed in tests)."""
    ders: dict[bytes, None] = {}
    with path.open("rb") as fh:
        try:
            reader = PdfFileReader(fh, strict=False)
            fields = list(enumerate_sig_fields(reader, filled_status=True))
        except Exception:
            return ()
        for _, value, _ in fields:
            try:
                contents = value.get_object().raw_get("/Contents").original_bytes
                signed = cms.ContentInfo.load(contents)["content"]
                for choice in signed["certificates"]:
                    if isinstance(choice.chosen, asn1_x509.Certificate):
                        ders[choice.chosen.dump()] = None
            except Exception:
                continue
    return tuple(ders)


ATTACKS = [r for r in ROWS if r.cls == "attack"]


@pytest.mark.parametrize("row", ATTACKS, ids=[r.file.rsplit("/", 1)[-1] for r in ATTACKS])
def test_attack_never_passes_even_with_the_signers_chain_trusted(row: Row) -> None:
    roots = _embedded_certificates(row.path)
    outcome = _verify(row, ValidationPolicy(trust_roots=roots))
    if isinstance(outcome, UnusableInputError):
        return
    # The document's verdict is the worst of its signatures; a signature made before the attack may pass.
    assert outcome.indication is not Indication.TOTAL_PASSED
    assert _attack_caught(outcome)
    if "signatures 1 and 2" in row.expect:
        assert all(s.indication is not Indication.TOTAL_PASSED for s in outcome.signatures[:2])
    if "second signature" in row.expect:
        assert outcome.signatures[1].indication is Indication.TOTAL_FAILED


def test_shadow_replace_fails_on_the_changed_field_with_the_chain_trusted() -> None:
    path = CORPUS / "dss/dss-2236_replace.pdf"
    report = verify_file(path, ValidationPolicy(trust_roots=_embedded_certificates(path)))
    sig = report.signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED
    assert sig.sub_indication == "FORMAT_FAILURE"
    assert any(m["field"] == "Text1" and m["severity"] == "failure" for m in sig.modifications)


def test_shadow_hide_fails_on_the_hidden_page_image_with_the_chain_trusted() -> None:
    # The update points the page's image object at a stream readers must repair (a wrong /Length): the page
    # no longer shows what was signed. It was only "a revision that cannot be analysed" (INDETERMINATE).
    path = CORPUS / "dss/dss-2236_hide.pdf"
    sig = verify_file(path, ValidationPolicy(trust_roots=_embedded_certificates(path))).signatures[0]
    assert sig.indication is Indication.TOTAL_FAILED and sig.sub_indication == "FORMAT_FAILURE"
    assert any(m["kind"] == "page-content" and m["page"] == 1 and m["severity"] == "failure" for m in sig.modifications)


def test_embedded_certificates_helper_finds_the_signer() -> None:
    ders = _embedded_certificates(CORPUS / "dss/dss-2236_replace.pdf")
    names = [asn1_x509.Certificate.load(d).subject.native.get("common_name") for d in ders]
    assert "Firstname Lastname" in names


def test_corpus_files_are_read_in_memory_too() -> None:
    from signing.validation import verify_bytes

    data = (CORPUS / "dss/pades-bes.pdf").read_bytes()
    report = verify_bytes(data, ValidationPolicy(), file_name="pades-bes.pdf")
    assert report.signatures[0].coverage["whole_file"]
    assert report.sha256 == __import__("hashlib").sha256(io.BytesIO(data).getvalue()).hexdigest()
