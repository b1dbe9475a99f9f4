"""A pyHanko :class:`Signer` whose key stays in the :class:`~signing.keystore.KeyStore` (the PKCS#11 token).

It is built once per certificate and kept: the certificate and chain are parsed once, the token session and key
handle live in the key store, so one signature costs one ``C_Sign`` call and no re-parsing (pyHanko's
``SimpleSigner`` re-parses its key on every signature).
"""

from __future__ import annotations

from asn1crypto import x509
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.keystore import KeyStore, key_algorithm_of

__all__ = ["KeyStoreSigner"]


class KeyStoreSigner(Signer):
    def __init__(
        self, keystore: KeyStore, key_label: str, certificate: x509.Certificate, chain: list[x509.Certificate]
    ) -> None:
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate, *chain]),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )
        self.keystore = keystore
        self.key_label = key_label
        self.certificate = certificate
        # Placeholder sizes for dry runs: DER ECDSA P-256 is at most 72 bytes, RSA the modulus length.
        public = certificate.public_key
        self._dry_run_size = 72 if key_algorithm_of(public.dump()) == "ec" else public.bit_size // 8

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(self._dry_run_size)
        return self.keystore.sign(self.key_label, data, digest_algorithm)
