"""Decompression bombs: small PDFs whose Flate streams inflate to gigabytes, where the verifier must decode them.

The verifier decodes the streams of the document security store (``/DSS``: certificates, OCSP responses, CRLs),
object streams, cross-reference streams and XMP metadata; page content is never decoded. The bombs therefore put
their streams in ``/DSS /CRLs``, the one place with no fixed size cap in pyHanko (CRLs can be large): either many
streams just under pyHanko's per-stream "ratio floor" (4 MiB each, which it does not compare with their encoded
size) or one stream that inflates to gigabytes.
"""

from __future__ import annotations

import zlib

__all__ = ["crl_bomb_pdf", "deflated_crls", "dss_crls_pdf"]

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
