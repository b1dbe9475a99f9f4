"""The platform's certification authority: root and issuing CA, OCSP and TSA certificates, officials' and seal
certificates, revocation, CRLs and OCSP answers.

In the embedded default the root and issuing CA are generated on first start, their keys in the token, their
certificates in the database and as PEM files in ``<data_dir>/pki/``. In production an issuing CA whose key is in
the HSM is imported instead (``antin pki import-ca``), with the outside root as trust anchor.

Each job is a module of its own, stacked into one class: the certificate store and lookups (``store``),
revocation, CRLs and OCSP (``revocation``), end-entity issuance (``issuance``), the CA's setup (``ca_setup``) and
the renewal of its OCSP responder's and TSA's certificates (``renewal``). The value types are in ``certificates``.
"""

from __future__ import annotations

from signing.pki.certificates import CaChain, CertificateInfo, RevocationMaterial, load_certificates
from signing.pki.issuance import Issuance
from signing.pki.renewal import Renewing

__all__ = ["CaChain", "CertificateAuthority", "CertificateInfo", "RevocationMaterial", "load_certificates"]


class CertificateAuthority(Renewing, Issuance):
    """The platform's CA of one instance: ``chain()``, ``initialise()`` / ``import_ca()``, ``issue_for_person()``,
    ``issue_seal()``, ``renew()``, ``revoke()``, ``crl()``, ``ocsp_responder()``, ``revocation_material()`` and
    lookups."""
