"""Decompression bombs: small PDFs whose Flate streams inflate to gigabytes, where the verifier must decode them.

The verifier decodes the streams of the document security store (``/DSS``: certificates, OCSP responses, CRLs),
object streams, cross-reference streams and XMP metadata; page content is never decoded. The store's streams are
counted and sized before they are decoded, and each decode stops a few KB past the verifier's revocation limit
(signing/pades/reading/dss.py): a ``/DSS /CRLs`` bomb (many streams just under pyHanko's per-stream "ratio floor",
4 MiB each, which it does not compare with their encoded size) now costs that limit, and the rest is ignored.
Object streams are decoded whole whenever an object they hold is read, each up to the same 4 MiB floor:
:func:`object_stream_bomb_pdf` is the bomb that still runs into the document's decode budget.
"""

from __future__ import annotations

import datetime
import io
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "crl_bomb_pdf",
    "deflated_crls",
    "dss_crls_pdf",
    "large_crls",
    "nested_pdf",
    "object_stream_bomb_pdf",
    "with_dss",
    "with_dss_certificate_streams",
    "with_dss_crl_streams",
    "with_whitespace_update",
]

MiB = 1024 * 1024


def deflated_crls(size: int, count: int = 1) -> list[bytes]:
    """``count`` different Flate streams of ``size`` bytes each, mostly zeros (about 1,030:1).

    Each decodes to the header of a DER SEQUENCE (what pyHanko checks before it keeps a DSS CRL) followed by
    zeros and the stream's own 8-digit number, so that no two are alike: the zeros are compressed once and the
    compressor's state copied for each ending.
    """
    ending_size = 8
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(b"\x30\x84" + (size - 6).to_bytes(4, "big"))]
    chunk = bytes(MiB)
    left = size - 6 - ending_size
    while left > 0:
        step = min(left, MiB)
        parts.append(compressor.compress(chunk[:step]))
        left -= step
    shared = b"".join(parts)
    out = []
    for number in range(count):
        ending = compressor.copy()
        out.append(shared + ending.compress(b"%08d" % number) + ending.flush())
    return out


def crl_bomb_pdf(streams: int, inflated_each: int) -> bytes:
    """An unsigned one-page PDF whose ``/DSS`` lists ``streams`` CRLs, each inflating to ``inflated_each`` bytes."""
    return dss_crls_pdf(deflated_crls(inflated_each, streams))


def dss_crls_pdf(encoded: list[bytes]) -> bytes:
    """An unsigned one-page PDF whose ``/DSS`` lists one Flate-encoded CRL stream per item of ``encoded``."""
    first_crl = 5
    crl_refs = " ".join(f"{first_crl + i} 0 R" for i in range(len(encoded)))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        f"<< /CRLs [{crl_refs}] >>".encode(),
    ]
    bodies.extend(b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(e) + e + b"\nendstream" for e in encoded)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def object_stream_bomb_pdf(streams: int, inflated_each: int, *, whitespace: bytes = b"") -> bytes:
    """An unsigned one-page PDF whose AcroForm lists ``streams`` empty signature fields, each the one object of its
    own object stream (``/Type /ObjStm``) padded before it to ``inflated_each`` bytes with one letter (about 1,030:1).
    With ``whitespace`` (one byte), the padding is that byte instead, inside the stream's header between the object's
    number and its offset, where pyHanko must read past it.

    The verifier reads every field to find the signatures, and pyHanko decodes an object stream whole to read an
    object of it: up to 4 MiB each (its object-stream "ratio floor"), ``streams × inflated_each`` in all. The objects
    are found through a cross-reference stream (objects in object streams have no place in a classic table).
    """
    first_field = 4
    fields = range(first_field, first_field + streams)
    object_streams = range(first_field + streams, first_field + 2 * streams)
    xref_number = first_field + 2 * streams
    plain = {
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [%s] >> >>" % b" ".join(b"%d 0 R" % n for n in fields),
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    }
    for field, holder in zip(fields, object_streams, strict=True):
        body = b"<< /FT /Sig /T (f%d) >>" % field
        if whitespace:
            header = b"%d" % field + whitespace * (inflated_each - len(body)) + b" 0 "
            content = zlib.compress(header + body, 9)
            plain[holder] = (
                b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
                % (len(header), len(content))
                + content
                + b"\nendstream"
            )
            continue
        header = b"%d 0 " % field
        # the padding between the header and the object is skipped by /First, never parsed; not whitespace (NUL
        # is), which pyHanko reads a byte at a time: 4 MB of it cost 2-3 s to read past (see the report)
        first = inflated_each - len(body)
        content = zlib.compress(header + b"x" * (first - len(header)) + body, 9)
        plain[holder] = (
            b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (first, len(content))
            + content
            + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, body in plain.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[xref_number] = len(out)
    rows = [b"\x00" + bytes(4) + b"\xff\xff"]  # object 0: free
    for number in range(1, xref_number + 1):
        if number in fields:
            rows.append(b"\x02" + object_streams[number - first_field].to_bytes(4, "big") + bytes(2))
        else:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + bytes(2))
    table = b"".join(rows)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_number, xref_number + 1, len(table))
        + table
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    )
    return bytes(out)


def nested_pdf(depth: int, kind: str) -> bytes:
    """A signature field whose ``/Kids`` array (``kind="array"``) or ``/V`` dictionary (``"dict"``) nests ``depth``
    levels deep, reached from the AcroForm, the open action and the JavaScript name tree: what a recursive reader
    walks until its stack runs out."""
    if kind == "array":
        deep = "<< /FT /Sig /T (s) /Kids " + "[" * depth + "]" * depth + " >>"
    else:
        deep = "<< /FT /Sig /T (s) /V " + "<< /A " * depth + "1" + " >>" * depth + " >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> /OpenAction 4 0 R"
        b" /Names << /JavaScript 4 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        deep.encode(),
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def large_crls(count: int, entries: int) -> list[bytes]:
    """``count`` signed DER CRLs of ``entries`` revoked serials each (about 24 bytes of DER per entry), each from
    its own made-up CA: what a hostile uploader adds to a document's security store to make the verifier parse."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return [
        signed_crl(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ca{k}")]),
            key,
            range(10**12 + k * entries, 10**12 + (k + 1) * entries),
            now,
            now + datetime.timedelta(days=1),
        )
        for k in range(count)
    ]


def signed_crl(issuer: Any, key: Any, serials: Iterable[int], this_update: Any, next_update: Any) -> bytes:
    """A DER CRL by ``issuer`` (a ``cryptography`` Name) revoking ``serials``, signed by ``key`` (RSA or EC).

    Built with asn1crypto: ``cryptography``'s builder copies its list for every entry added (minutes for 100,000)."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    algorithm = "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "sha256_rsa"
    revoked_at = asn1_x509.Time({"utc_time": this_update})
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": {"algorithm": algorithm},
            "issuer": asn1_x509.Name.load(issuer.public_bytes()),
            "this_update": asn1_x509.Time({"utc_time": this_update}),
            "next_update": asn1_x509.Time({"utc_time": next_update}),
            "revoked_certificates": [{"user_certificate": serial, "revocation_date": revoked_at} for serial in serials],
        }
    )
    if algorithm == "sha256_ecdsa":
        signature = key.sign(tbs.dump(), ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(tbs.dump(), padding.PKCS1v15(), hashes.SHA256())
    whole = asn1_crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": {"algorithm": algorithm}, "signature": signature}
    )
    return bytes(whole.dump())


def with_dss(pdf: bytes, crls: Sequence[bytes] = (), certs: Sequence[bytes] = ()) -> bytes:
    """``pdf`` with an incremental update adding ``crls`` and ``certs`` (DER) to its document security store."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    DocumentSecurityStore.supply_dss_in_writer(
        writer,
        None,
        crls=[asn1_crl.CertificateList.load(d) for d in crls],
        certs=[asn1_x509.Certificate.load(d) for d in certs],
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_dss_crl_streams(pdf: bytes, deflated: Sequence[bytes]) -> bytes:
    """``pdf`` with an incremental update whose ``/DSS /CRLs`` lists, after its own, one Flate stream per item of
    ``deflated`` (already compressed, e.g. :func:`deflated_crls`'s): a bomb added to a signed document's store."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    store = writer.root["/DSS"] if "/DSS" in writer.root else generic.DictionaryObject()
    own = store["/CRLs"] if "/CRLs" in store else generic.ArrayObject()
    crls = generic.ArrayObject(own.raw_get(i) for i in range(len(own)))
    flate = {generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")}
    crls.extend(
        writer.add_object(generic.StreamObject(generic.DictionaryObject(flate), encoded_data=data)) for data in deflated
    )
    updated = generic.DictionaryObject(store)
    updated[generic.pdf_name("/CRLs")] = crls
    writer.root[generic.pdf_name("/DSS")] = writer.add_object(updated)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_dss_certificate_streams(pdf: bytes, streams: Sequence[bytes], *, deflated: Sequence[bytes] = ()) -> bytes:
    """``pdf`` with an incremental update whose ``/DSS /Certs`` lists, after its own, one stream per item of
    ``streams`` (stored as they are) then one Flate stream per item of ``deflated`` (already compressed): what a
    hostile upload can pile into the store. Nothing dedupes them (pyHanko's own writer keeps one per certificate)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    store = writer.root["/DSS"]
    own = store["/Certs"] if "/Certs" in store else generic.ArrayObject()
    certs = generic.ArrayObject(own.raw_get(i) for i in range(len(own)))
    certs.extend(writer.add_object(generic.StreamObject(stream_data=data)) for data in streams)
    for data in deflated:
        flate = generic.DictionaryObject({generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode")})
        certs.append(writer.add_object(generic.StreamObject(flate, encoded_data=data)))
    updated = generic.DictionaryObject(store)
    updated[generic.pdf_name("/Certs")] = certs
    writer.root[generic.pdf_name("/DSS")] = writer.add_object(updated)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_whitespace_update(pdf: bytes, whitespace: bytes) -> bytes:
    """``pdf`` and an incremental update that changes nothing, whose trailer holds ``whitespace`` between two entries
    (pyHanko reads whitespace in the raw file a byte at a time too)."""
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    out = pdf + b"\n"
    return out + (
        b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size %d" % size
        + whitespace
        + b"/Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (root, previous, len(out))
    )
