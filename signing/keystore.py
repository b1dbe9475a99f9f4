"""Where private keys live, as the rest of the signing package sees it.

:class:`KeyStore` is the protocol; :class:`Pkcs11KeyStore` keeps keys in a PKCS#11 token (SoftHSM2 in the embedded
default, a network HSM in production) and :class:`FileKeyStore` is the shipped test double that keeps PEM files in a
folder. Keys are named by a label; signatures come out in the encoding X.509, CMS and OCSP expect (DER ECDSA-Sig-Value
or PKCS#1 v1.5).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing.errors import KeyNotFoundError, PkiError
from signing.hsm import HsmConfig, HsmToken, KeyAlgorithm, ensure_softhsm_token, find_softhsm_module
from signing.settings import HsmSettings

if TYPE_CHECKING:
    from antin.kernel.instance import Instance

__all__ = ["FileKeyStore", "KeyAlgorithm", "KeyStore", "Pkcs11KeyStore", "key_algorithm_of", "keystore_for"]


class KeyStore(Protocol):
    def generate_key(self, label: str, algorithm: KeyAlgorithm) -> bytes:
        """Create a key pair named ``label``; return its public key (DER SubjectPublicKeyInfo)."""
        ...

    def public_key(self, label: str) -> bytes:
        """The public key of ``label`` (DER SubjectPublicKeyInfo); :class:`KeyNotFoundError` if there is none."""
        ...

    def has_key(self, label: str) -> bool: ...

    def sign(self, label: str, data: bytes, hash_algorithm: str) -> bytes:
        """Sign ``data`` (hashed with ``hash_algorithm``: sha256, sha384, sha512) with the key ``label``."""
        ...

    def sign_digest(self, label: str, digest: bytes, hash_algorithm: str) -> bytes:
        """Sign a digest computed by someone else (CSC ``signHash``), encoded as :meth:`sign` encodes."""
        ...

    def store_certificate(self, label: str, der: bytes) -> None:
        """Keep the certificate of key ``label`` beside it (where outside tools look for it)."""
        ...

    def check(self) -> None:
        """Raise :class:`signing.errors.HsmUnavailableError` unless keys can be used."""
        ...

    def close(self) -> None: ...


def keystore_for(instance: Instance) -> KeyStore:
    """The PKCS#11 key store the settings name; the embedded default creates its SoftHSM2 token on first use."""
    hsm = instance.settings.section(HsmSettings)
    if hsm.module is not None:
        return Pkcs11KeyStore(HsmConfig(hsm.module, hsm.token_label, hsm.pin))
    folder = instance.ensure_data_dir() / "softhsm"
    conf = ensure_softhsm_token(folder, label=hsm.token_label, pin=hsm.pin, so_pin=hsm.so_pin)
    return Pkcs11KeyStore(HsmConfig(find_softhsm_module(), hsm.token_label, hsm.pin, conf))


def key_algorithm_of(spki_der: bytes) -> str:
    """``ec`` or ``rsa``: the algorithm of a DER SubjectPublicKeyInfo."""
    key = serialization.load_der_public_key(spki_der)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    raise PkiError(f"unsupported public key type {type(key).__name__}")


class Pkcs11KeyStore:
    """Keys generated inside a PKCS#11 token, never exported."""

    def __init__(self, config: HsmConfig) -> None:
        self.token = HsmToken(config)

    def generate_key(self, label: str, algorithm: KeyAlgorithm) -> bytes:
        return self.token.generate_key(label, algorithm)

    def public_key(self, label: str) -> bytes:
        return self.token.public_key(label)

    def has_key(self, label: str) -> bool:
        return self.token.has_key(label)

    def sign(self, label: str, data: bytes, hash_algorithm: str) -> bytes:
        return self.token.sign(label, data, hash_algorithm)

    def sign_digest(self, label: str, digest: bytes, hash_algorithm: str) -> bytes:
        return self.token.sign_digest(label, digest, hash_algorithm)

    def store_certificate(self, label: str, der: bytes) -> None:
        self.token.store_certificate(label, der)

    def check(self) -> None:
        self.token.check()

    def close(self) -> None:
        self.token.close()


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class FileKeyStore:
    """Test double: unencrypted PEM keys in a folder, parsed once and kept in memory. Never use in production."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._keys: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()

    def _path(self, label: str) -> Path:
        return self.folder / (hashlib.sha256(label.encode()).hexdigest()[:32] + ".pem")

    def _load(self, label: str) -> PrivateKey:
        with self._lock:
            key = self._keys.get(label)
            if key is None:
                path = self._path(label)
                if not path.exists():
                    raise KeyNotFoundError(label)
                loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
                if not isinstance(loaded, PrivateKey):
                    raise PkiError(f"unsupported key type in {path}")
                key = self._keys[label] = loaded
            return key

    def generate_key(self, label: str, algorithm: KeyAlgorithm) -> bytes:
        key: PrivateKey
        key = (
            ec.generate_private_key(ec.SECP256R1()) if algorithm == "ec-p256" else rsa.generate_private_key(65537, 3072)
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(self._path(label), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        with self._lock:
            self._keys[label] = key
        return self.public_key(label)

    def public_key(self, label: str) -> bytes:
        return (
            self._load(label)
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def has_key(self, label: str) -> bool:
        return label in self._keys or self._path(label).exists()

    def sign(self, label: str, data: bytes, hash_algorithm: str) -> bytes:
        key = self._load(label)
        algorithm = _HASHES[hash_algorithm.lower().replace("-", "")]()
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(algorithm))
        return key.sign(data, padding.PKCS1v15(), algorithm)

    def sign_digest(self, label: str, digest: bytes, hash_algorithm: str) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        key = self._load(label)
        prehashed = Prehashed(_HASHES[hash_algorithm.lower().replace("-", "")]())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(prehashed))
        return key.sign(digest, padding.PKCS1v15(), prehashed)

    def store_certificate(self, label: str, der: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._path(label).with_suffix(".crt").write_bytes(der)

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None
