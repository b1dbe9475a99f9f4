"""Variants of the corpus attacks, made here on documents we sign with a trusted throw-away PKI.

The corpus is a floor: each test below changes a signed document in an incremental update the way a shadow
attack would (hide signed content behind optional content, cover it with an annotation or a form field, make it
show something else through actions) and checks that the signature never reaches TOTAL_PASSED, for the reason the
attack causes, although its chain, revocation data and signed bytes are all fine.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject, FloatObject, NumberObject, pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

from signing.validation import Indication, ValidationPolicy
from signing.validation.models import SignatureReport
from tests.signing.signed_pdfs import ThrowawayPki, add_dss_crl, pki_fixture, sign, timestamper, verify

pki = pki_fixture()

Update = Callable[[IncrementalPdfFileWriter], None]


def _numbers(*values: float) -> ArrayObject:
    return ArrayObject([FloatObject(v) for v in values])


def _document(*, optional_content: bool = False, indirect_config: bool = False, square: bool = False) -> bytes:
    """One page with an amount (and a condition in an optional-content group); optionally an empty text field
    and a border-only square annotation over the amount."""
    writer = PdfFileWriter()
    font = writer.add_object(
        DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    resources = DictionaryObject({pdf_name("/Font"): DictionaryObject({pdf_name("/F1"): font})})
    content = b"BT /F1 14 Tf 72 760 Td (So tien: 1.000.000 dong) Tj ET\n"
    if optional_content:
        shown = writer.add_object(
            DictionaryObject(
                {pdf_name("/Type"): pdf_name("/OCG"), pdf_name("/Name"): generic.TextStringObject("Dieu kien")}
            )
        )
        hidden = writer.add_object(
            DictionaryObject({pdf_name("/Type"): pdf_name("/OCG"), pdf_name("/Name"): generic.TextStringObject("An")})
        )
        resources[pdf_name("/Properties")] = DictionaryObject({pdf_name("/oc1"): shown})
        content += b"/OC /oc1 BDC BT /F1 14 Tf 72 700 Td (Chi ap dung trong nam 2026) Tj ET EMC\n"
        config: generic.PdfObject = DictionaryObject(
            {pdf_name("/ON"): ArrayObject([shown]), pdf_name("/OFF"): ArrayObject([hidden])}
        )
        if indirect_config:
            config = writer.add_object(config)
        writer.root[pdf_name("/OCProperties")] = DictionaryObject(
            {pdf_name("/OCGs"): ArrayObject([shown, hidden]), pdf_name("/D"): config}
        )
    stream = writer.add_object(generic.StreamObject(stream_data=content))
    page = DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): _numbers(0, 0, 595, 842),
            pdf_name("/Contents"): stream,
            pdf_name("/Resources"): resources,
        }
    )
    page_ref = writer.insert_page(page)
    annots = ArrayObject()
    if square:
        annots.append(
            writer.add_object(
                DictionaryObject(
                    {
                        pdf_name("/Type"): pdf_name("/Annot"),
                        pdf_name("/Subtype"): pdf_name("/Square"),
                        pdf_name("/Rect"): _numbers(60, 750, 400, 780),
                        pdf_name("/C"): _numbers(1, 0, 0),
                        pdf_name("/F"): NumberObject(4),
                    }
                )
            )
        )
    field = writer.add_object(
        DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/FT"): pdf_name("/Tx"),
                pdf_name("/T"): generic.TextStringObject("GhiChu"),
                pdf_name("/Rect"): _numbers(60, 740, 400, 790),
                pdf_name("/F"): NumberObject(4),
                pdf_name("/P"): page_ref,
            }
        )
    )
    annots.append(field)
    writer.root[pdf_name("/AcroForm")] = DictionaryObject({pdf_name("/Fields"): ArrayObject([field])})
    page_ref.get_object()[pdf_name("/Annots")] = annots
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signed(pki: ThrowawayPki, pdf: bytes) -> bytes:
    return add_dss_crl(sign(pki, pdf, level="B-B"), pki.crl())


def _update(pdf: bytes, change: Update) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_ref(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    assert isinstance(ref, generic.IndirectObject)
    return ref


def _field_ref(writer: IncrementalPdfFileWriter) -> generic.IndirectObject:
    ref = writer.root["/AcroForm"]["/Fields"].raw_get(0)
    assert isinstance(ref, generic.IndirectObject)
    return ref


def _opaque_box(writer: IncrementalPdfFileWriter, text: bytes = b"So tien: 9.000.000 dong") -> generic.IndirectObject:
    """A form XObject painting a white box with other text: what a cover-up appearance looks like."""
    data = b"1 1 1 rg 0 0 340 50 re f BT /Helvetica 14 Tf 0 0 0 rg 5 20 Td (" + text + b") Tj ET"
    return writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): _numbers(0, 0, 340, 50),
            },
            stream_data=data,
        )
    )


def _add_annotation(writer: IncrementalPdfFileWriter, annotation: generic.PdfObject) -> None:
    page_ref = _page_ref(writer)
    annots = page_ref.get_object()["/Annots"]
    annots.append(annotation)
    writer.mark_update(page_ref)


def _javascript(code: str) -> DictionaryObject:
    return DictionaryObject({pdf_name("/S"): pdf_name("/JavaScript"), pdf_name("/JS"): generic.TextStringObject(code)})


def _attacked(pki: ThrowawayPki, document: bytes, change: Update) -> SignatureReport:
    signed = _signed(pki, document)
    before = verify(signed, pki.trusted()).signatures[0]
    assert before.indication is Indication.TOTAL_PASSED, (before.sub_indication, before.warnings)
    return verify(_update(signed, change), pki.trusted()).signatures[0]


def _kinds(report: SignatureReport) -> dict[str, str]:
    return {m["kind"]: m["severity"] for m in report.modifications}


# -- hide: optional content switched off after signing ------------------------------------------------------


def _switch_off_in_catalog(writer: IncrementalPdfFileWriter) -> None:
    properties = writer.root["/OCProperties"]
    config = properties["/D"]
    properties[pdf_name("/D")] = DictionaryObject(
        {
            pdf_name("/ON"): ArrayObject(),
            pdf_name("/OFF"): ArrayObject([*config.raw_get("/ON"), *config.raw_get("/OFF")]),
        }
    )
    writer.update_root()


def _switch_off_in_indirect_config(writer: IncrementalPdfFileWriter) -> None:
    # Only the configuration object is rewritten: the catalog itself is untouched.
    ref = writer.root["/OCProperties"].raw_get("/D")
    config = ref.get_object()
    config[pdf_name("/OFF")] = ArrayObject([*config.raw_get("/OFF"), *config.raw_get("/ON")])
    config[pdf_name("/ON")] = ArrayObject()
    writer.mark_update(ref)


def _remap_marked_content(writer: IncrementalPdfFileWriter) -> None:
    # The page's /oc1 now names the group that is off: the content stream itself is unchanged.
    page_ref = _page_ref(writer)
    hidden = writer.root["/OCProperties"]["/D"].raw_get("/OFF")[0]
    page_ref.get_object()["/Resources"][pdf_name("/Properties")] = DictionaryObject({pdf_name("/oc1"): hidden})
    writer.mark_update(page_ref)


@pytest.mark.parametrize(
    ("change", "indirect", "kind"),
    [
        (_switch_off_in_catalog, False, "document-display"),
        (_switch_off_in_indirect_config, True, "document-display"),
        (_remap_marked_content, False, "page-content"),
    ],
    ids=["catalog", "indirect-config", "remapped-resource"],
)
def test_optional_content_hidden_after_signing_fails(
    pki: ThrowawayPki, change: Update, indirect: bool, kind: str
) -> None:
    sig = _attacked(pki, _document(optional_content=True, indirect_config=indirect), change)
    assert sig.indication is Indication.TOTAL_FAILED and sig.sub_indication == "FORMAT_FAILURE"
    assert _kinds(sig).get(kind) == "failure"


# -- cover: something painted over the signed amount --------------------------------------------------------


def test_new_annotation_over_signed_text_never_passes(pki: ThrowawayPki) -> None:
    def cover(writer: IncrementalPdfFileWriter) -> None:
        square = DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Square"),
                pdf_name("/Rect"): _numbers(60, 740, 400, 790),
                pdf_name("/F"): NumberObject(4),
                pdf_name("/AP"): DictionaryObject({pdf_name("/N"): _opaque_box(writer)}),
            }
        )
        _add_annotation(writer, writer.add_object(square))

    sig = _attacked(pki, _document(), cover)
    assert sig.indication is Indication.INDETERMINATE and sig.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    assert _kinds(sig) == {"annotation-added": "warning"}


def test_direct_annotation_dictionary_is_seen(pki: ThrowawayPki) -> None:
    # An annotation written straight into /Annots has no object number; it was invisible to the comparison.
    def cover(writer: IncrementalPdfFileWriter) -> None:
        direct = DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Square"),
                pdf_name("/Rect"): _numbers(60, 740, 400, 790),
                pdf_name("/AP"): DictionaryObject({pdf_name("/N"): _opaque_box(writer)}),
            }
        )
        _add_annotation(writer, direct)

    sig = _attacked(pki, _document(), cover)
    assert sig.indication is not Indication.TOTAL_PASSED
    assert _kinds(sig).get("annotation-added") == "warning"


def test_existing_annotation_filled_in_without_appearance_fails(pki: ThrowawayPki) -> None:
    # The square had a red border only; an interior colour makes readers paint it opaque over the amount.
    def fill(writer: IncrementalPdfFileWriter) -> None:
        ref = _page_ref(writer).get_object()["/Annots"].raw_get(0)
        ref.get_object()[pdf_name("/IC")] = _numbers(1, 1, 1)
        writer.mark_update(ref)

    sig = _attacked(pki, _document(square=True), fill)
    assert sig.indication is Indication.TOTAL_FAILED
    assert _kinds(sig).get("annotation-changed") == "failure"


def test_empty_field_repainted_without_a_value_fails(pki: ThrowawayPki) -> None:
    # The field stays empty; only its widget's appearance is replaced (pyHanko calls this form filling).
    def repaint(writer: IncrementalPdfFileWriter) -> None:
        ref = _field_ref(writer)
        ref.get_object()[pdf_name("/AP")] = DictionaryObject({pdf_name("/N"): _opaque_box(writer)})
        writer.mark_update(ref)

    sig = _attacked(pki, _document(), repaint)
    assert sig.indication is Indication.TOTAL_FAILED
    assert _kinds(sig).get("annotation-changed") == "failure"


def test_empty_field_filled_over_signed_text_never_passes(pki: ThrowawayPki) -> None:
    def fill(writer: IncrementalPdfFileWriter) -> None:
        ref = _field_ref(writer)
        ref.get_object()[pdf_name("/V")] = generic.TextStringObject("9.000.000")
        ref.get_object()[pdf_name("/AP")] = DictionaryObject({pdf_name("/N"): _opaque_box(writer)})
        writer.mark_update(ref)

    sig = _attacked(pki, _document(), fill)
    assert sig.indication is Indication.INDETERMINATE and sig.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    assert _kinds(sig) == {"form-filled": "warning"}
    # An operator may accept form filling; it is still reported.
    signed = _update(_signed(pki, _document()), fill)
    relaxed = verify(signed, ValidationPolicy(trust_roots=(pki.root_der,), form_filling="warn")).signatures[0]
    assert relaxed.indication is Indication.TOTAL_PASSED and _kinds(relaxed) == {"form-filled": "warning"}


def _signature_widget(writer: IncrementalPdfFileWriter, name: str) -> generic.IndirectObject:
    widget = DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Sig"),
            pdf_name("/T"): generic.TextStringObject(name),
            pdf_name("/Rect"): _numbers(60, 740, 400, 790),
            pdf_name("/F"): NumberObject(4),
            pdf_name("/AP"): DictionaryObject({pdf_name("/N"): _opaque_box(writer)}),
        }
    )
    return writer.add_object(widget)


@pytest.mark.parametrize("registered", [True, False], ids=["in-the-form", "page-only"])
def test_unsigned_signature_field_painted_over_signed_text_never_passes(pki: ThrowawayPki, registered: bool) -> None:
    # pyHanko takes an empty signature field for form filling; its appearance paints over the amount all the same.
    def cover(writer: IncrementalPdfFileWriter) -> None:
        widget = _signature_widget(writer, "GiaMao")
        _add_annotation(writer, widget)
        if registered:
            writer.root["/AcroForm"]["/Fields"].append(widget)
            writer.update_root()

    sig = _attacked(pki, _document(), cover)
    assert sig.indication is Indication.INDETERMINATE and sig.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    assert _kinds(sig).get("unsigned-signature-widget-added") == "warning"


def test_a_later_visible_signature_keeps_the_first_valid(pki: ThrowawayPki) -> None:
    from tests.signing.signed_pdfs import pyhanko_signer

    first = _signed(pki, _document())
    meta = signers.PdfSignatureMetadata(field_name="DauCoQuan", subfilter=fields.SigSeedSubFilter.PADES)
    seal = signers.PdfSigner(
        meta, signer=pyhanko_signer(pki), new_field_spec=fields.SigFieldSpec("DauCoQuan", box=(380, 60, 540, 160))
    )
    second = seal.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(first))).getvalue()
    report = verify(second, pki.trusted())  # the first signature's DSS holds the CRL for both
    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED, Indication.TOTAL_PASSED], [
        (s.sub_indication, s.warnings, s.modifications) for s in report.signatures
    ]
    assert set(_kinds(report.signatures[0])) == {"signature-field-added"}


# -- act: scripts that change what is shown -----------------------------------------------------------------


def test_page_open_script_added_after_signing_fails(pki: ThrowawayPki) -> None:
    def script(writer: IncrementalPdfFileWriter) -> None:
        page_ref = _page_ref(writer)
        page_ref.get_object()[pdf_name("/AA")] = DictionaryObject({pdf_name("/O"): _javascript("app.alert(1)")})
        writer.mark_update(page_ref)

    sig = _attacked(pki, _document(), script)
    assert sig.indication is Indication.TOTAL_FAILED
    assert _kinds(sig).get("page-content") == "failure"


def test_field_format_script_added_after_signing_fails(pki: ThrowawayPki) -> None:
    def script(writer: IncrementalPdfFileWriter) -> None:
        ref = _field_ref(writer)
        ref.get_object()[pdf_name("/AA")] = DictionaryObject({pdf_name("/F"): _javascript('event.value = "9";')})
        writer.mark_update(ref)

    sig = _attacked(pki, _document(), script)
    assert sig.indication is Indication.TOTAL_FAILED
    assert _kinds(sig).get("field-behaviour-changed") == "failure"


# -- certification ------------------------------------------------------------------------------------------


def _certified(pki: ThrowawayPki, permission: fields.MDPPerm) -> bytes:
    from tests.signing.signed_pdfs import pyhanko_signer

    meta = signers.PdfSignatureMetadata(
        field_name="ChungNhan",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=permission,
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(_document())), meta, signer=pyhanko_signer(pki))
    return add_dss_crl(out.getvalue(), pki.crl())


def test_no_changes_certification_accepts_a_document_time_stamp(pki: ThrowawayPki) -> None:
    certified = _certified(pki, fields.MDPPerm.NO_CHANGES)
    out = PdfTimeStamper(timestamper(pki)).timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(certified)), "sha256")
    report = verify(out.getvalue(), pki.trusted())
    cert = report.signatures[0]
    assert cert.certification is not None and cert.certification["docmdp"] == 1
    assert _kinds(cert) == {"timestamp-added": "info"}
    assert cert.indication is Indication.TOTAL_PASSED, (cert.sub_indication, cert.errors)


def test_form_filling_certification_refuses_a_new_field(pki: ThrowawayPki) -> None:
    def add_field(writer: IncrementalPdfFileWriter) -> None:
        fields.append_signature_field(writer, fields.SigFieldSpec("Moi", box=(60, 600, 200, 640)))
        form = writer.root["/AcroForm"]
        text = writer.add_object(
            DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/Widget"),
                    pdf_name("/FT"): pdf_name("/Tx"),
                    pdf_name("/T"): generic.TextStringObject("ThemVao"),
                    pdf_name("/Rect"): _numbers(60, 500, 400, 540),
                    pdf_name("/AP"): DictionaryObject({pdf_name("/N"): _opaque_box(writer)}),
                }
            )
        )
        form["/Fields"].append(text)
        _add_annotation(writer, text)
        writer.update_root()

    certified = _certified(pki, fields.MDPPerm.FILL_FORMS)
    assert verify(certified, pki.trusted()).signatures[0].indication is Indication.TOTAL_PASSED
    cert = verify(_update(certified, add_field), pki.trusted()).signatures[0]
    assert cert.indication is Indication.TOTAL_FAILED
    assert _kinds(cert).get("field-added") == "failure"
