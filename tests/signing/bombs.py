"""Decompression bombs: small PDFs whose Flate streams inflate to gigabytes, where the verifier must decode them.

The verifier decodes the streams of the document security store (``/DSS``: certificates, OCSP responses, CRLs),
object streams, cross-reference streams and XMP metadata; page content is never decoded. The bombs therefore put
their streams in ``/DSS /CRLs``, the one place with no fixed size cap in pyHanko (CRLs can be large): either many
streams just under pyHanko's per-stream "ratio floor" (4 MiB each, which it does not compare with their encoded
size) or one stream that inflates to gigabytes.
"""

from __future__ import annotations

import zlib

__all__ = ["crl_bomb_pdf", "deflated_crls", "dss_crls_pdf", "nested_pdf"]

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
