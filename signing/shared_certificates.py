"""Certificates that several request threads of a worker read at once (a cache's), made safe to share.

asn1crypto parses a certificate's fields on first use, and computes some values on first use through a placeholder
(``DistributionPoint.url`` is set to None, then to the URL; ``Certificate.self_signed`` to "no", then to "maybe"): a
second thread reading meanwhile found a half-built list of fields (``KeyError: No field numbered 0 is present``, a
500 on a signing just after a worker started, seen under granian in scripts/signing_faults.py), a CRL URL of None
(``TypeError: asn1crypto.x509.URI value must be a unicode string``: a verification INDETERMINATE) or a root "not"
self-signed. Everything is parsed, and every such value computed, before the certificate is shared.
"""

from __future__ import annotations

from asn1crypto import x509

__all__ = ["parsed_whole"]


def parsed_whole(der: bytes) -> x509.Certificate:
    """``der`` loaded, every field parsed and the values asn1crypto keeps once computed read, in this thread."""
    cert = x509.Certificate.load(der)
    cert.native  # noqa: B018 - reading it parses every field
    for point in (*cert.crl_distribution_points, *cert.delta_crl_distribution_points):
        point.url  # noqa: B018 - None, then the URL
    _ = (cert.self_issued, cert.self_signed, cert.issuer_serial, cert.authority_issuer_serial, cert.key_identifier)
    _ = (cert.subject.hashable, cert.issuer.hashable, cert.sha1, cert.sha256, cert.public_key.sha1)
    return cert
