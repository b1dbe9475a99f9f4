"""Key stores: the PKCS#11 token (real SoftHSM2) and the file-based test double sign the same way, for both key
types, and the signatures verify with `cryptography`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing.errors import HsmUnavailableError, KeyNotFoundError
from signing.hsm import HsmConfig, ensure_softhsm_token, find_softhsm_module
from signing.keystore import FileKeyStore, KeyStore, Pkcs11KeyStore
from tests.signing.conftest import Platform, require_softhsm


def verify(public_der: bytes, signature: bytes, data: bytes) -> None:
    key = serialization.load_der_public_key(public_der)
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == 3072
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("algorithm", ["ec-p256", "rsa-3072"])
def test_token_keys_sign_verifiably(platform: Platform, algorithm: str) -> None:
    store = platform.service.keystore
    label = f"test-{algorithm}"
    public = store.generate_key(label, algorithm)  # type: ignore[arg-type]
    assert store.has_key(label) and store.public_key(label) == public
    data = "Quyết định số 15-QĐ/TU".encode()
    verify(public, store.sign(label, data, "sha256"), data)
    # a digest made elsewhere (CSC signHash) signs to the same kind of signature over the same data
    verify(public, store.sign_digest(label, hashlib.sha256(data).digest(), "sha256"), data)
    with pytest.raises(HsmUnavailableError):
        store.sign_digest(label, b"too short", "sha256")
    with pytest.raises(HsmUnavailableError):
        store.generate_key(label, algorithm)  # type: ignore[arg-type]  (labels are unique)


def test_file_double_behaves_like_the_token(tmp_path: Path) -> None:
    store: KeyStore = FileKeyStore(tmp_path / "keys")
    public = store.generate_key("k", "ec-p256")
    verify(public, store.sign("k", b"abc", "sha256"), b"abc")
    verify(public, store.sign_digest("k", hashlib.sha256(b"abc").digest(), "sha256"), b"abc")
    with pytest.raises(KeyNotFoundError):
        store.sign("missing", b"abc", "sha256")


def test_a_second_softhsm_configuration_in_one_process(platform: Platform, tmp_path: Path) -> None:
    """Tests and tools may open another instance's token: the module is re-initialised, both keep working."""
    require_softhsm()
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="other", pin="4321", so_pin="8765")
    other = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "other", "4321", conf))
    public = other.generate_key("x", "ec-p256")
    verify(public, other.sign("x", b"1", "sha256"), b"1")
    root_label = "antin-root-ca"
    data = b"back to the first token"
    verify(
        platform.service.keystore.public_key(root_label),
        platform.service.keystore.sign(root_label, data, "sha256"),
        data,
    )
    other.close()


def test_a_token_that_goes_away_and_comes_back_signs_again(tmp_path: Path) -> None:
    """The token fails under a live session (SoftHSM2's folder moved away, as a network HSM dropping off): signing
    is refused as unavailable (a 503 for the API), never as a missing key; once it is back, the next signature
    works without restarting the process (issue 14: before, the kept key handle stayed invalid for ever)."""
    require_softhsm()
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="away", pin="4321", so_pin="8765")
    store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "away", "4321", conf))
    public = store.generate_key("k", "ec-p256")
    verify(public, store.sign("k", b"before", "sha256"), b"before")
    tokens = tmp_path / "softhsm" / "tokens"
    tokens.rename(tmp_path / "elsewhere")
    for _ in range(3):  # the failing request, and those made while it stays away
        with pytest.raises(HsmUnavailableError):
            store.sign("k", b"while away", "sha256")
        with pytest.raises(HsmUnavailableError):
            store.has_key("k")
    (tmp_path / "elsewhere").rename(tokens)
    verify(public, store.sign("k", b"after", "sha256"), b"after")
    assert store.has_key("k") and not store.has_key("never-made")
