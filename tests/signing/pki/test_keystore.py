"""Key stores: the PKCS#11 token (real SoftHSM2) and the file-based test double sign the same way, for both key
types, and the signatures verify with `cryptography`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing.errors import HsmPinError, HsmUnavailableError, KeyNotFoundError
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


def test_a_new_keys_first_use_after_the_token_came_back(tmp_path: Path) -> None:
    """A new official's first signature asks the token whether their key exists: the session that saw the token
    fail listed no keys at all once it was back (while the handles it held still signed), so every new official
    got 503 "the token lists no keys any more" in that process (issue 14, seen in a shared test process): the
    first question after the token is back is answered."""
    require_softhsm()
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="back", pin="4321", so_pin="8765")
    store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "back", "4321", conf))
    store.generate_key("in-use", "ec-p256")
    assert store.has_key("in-use")
    tokens = tmp_path / "softhsm" / "tokens"
    tokens.rename(tmp_path / "elsewhere")
    with pytest.raises(HsmUnavailableError):  # a new official while it is away: a clear 503
        store.has_key("new-official")
    (tmp_path / "elsewhere").rename(tokens)
    assert store.has_key("new-official") is False
    public = store.generate_key("new-official", "ec-p256")
    verify(public, store.sign("new-official", b"first", "sha256"), b"first")
    assert store.has_key("in-use")


class CountingLogins:
    """The real PKCS#11 library, counting the sessions opened with a PIN (each is a login the token counts)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.logins = 0
        outer = self

        class Lib:
            def __init__(self, module: str) -> None:
                self._lib = real(module)

            def get_token(self, **kwargs: Any) -> Any:
                token = self._lib.get_token(**kwargs)

                class Token:
                    def open(self, **kw: Any) -> Any:
                        outer.logins += "user_pin" in kw
                        return token.open(**kw)

                return Token()

            def __getattr__(self, name: str) -> Any:
                return getattr(self._lib, name)

        self.lib = Lib


def test_a_refused_pin_is_a_clear_503_logged_without_the_pin_and_never_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong PIN in the settings: every signature is refused as "the HSM is unavailable" with the PIN error's own
    code; the operator's log says why once, names the setting and never the PIN; and the process does not log in
    again (a network HSM locks its user PIN after a few wrong logins: every request of every worker would be one)."""
    require_softhsm()
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="pin", pin="4321", so_pin="8765")
    first = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "pin", "4321", conf))
    first.generate_key("k", "ec-p256")
    first.close()  # its last session closed: logged out (PKCS#11 logins belong to the process, not the session)
    import pkcs11

    counting = CountingLogins(pkcs11.lib)
    monkeypatch.setattr(pkcs11, "lib", counting.lib)
    wrong = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "pin", "wrong-pin-9999", conf))
    with caplog.at_level("ERROR", logger="signing.hsm"):
        for _ in range(5):
            with pytest.raises(HsmPinError) as refused:
                wrong.sign("k", b"data", "sha256")
            assert refused.value.status == 503 and refused.value.code == "hsm-pin-incorrect"
            assert "wrong-pin-9999" not in str(refused.value)
            with pytest.raises(HsmPinError):
                wrong.check()  # /readyz says not ready, without a login either
    assert counting.logins == 1
    [record] = [r for r in caplog.records if r.name == "signing.hsm"]
    message = record.getMessage()
    assert "PIN was refused" in message and "ANTIN_HSM_PIN" in message and "wrong-pin-9999" not in message
    # once fixed, a restarted or reloaded worker (a new key store) signs
    monkeypatch.undo()
    right = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "pin", "4321", conf))
    verify(right.public_key("k"), right.sign("k", b"after", "sha256"), b"after")


def test_the_token_keeps_the_handles_of_its_most_recent_signers_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key handles kept per process stay within their bound however many officials sign (they grew with every
    official who ever signed through the process); a key no longer kept is found again and signs."""
    import signing.hsm

    require_softhsm()
    monkeypatch.setattr(signing.hsm, "KEYS_KEPT", 2)
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="many", pin="4321", so_pin="8765")
    store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "many", "4321", conf))
    try:
        publics = {f"person-{n}": store.generate_key(f"person-{n}", "ec-p256") for n in range(5)}
        for label, public in publics.items():
            verify(public, store.sign(label, b"cong van", "sha256"), b"cong van")
            assert len(store.token._keys) <= 2
        verify(publics["person-0"], store.sign("person-0", b"lan nua", "sha256"), b"lan nua")
        assert list(store.token._keys) == ["person-4", "person-0"]
    finally:
        store.close()


# One process: read the token afresh (the module initialised again, as in a new worker) and log in, 25 times.
LOG_IN_AFRESH = """
import sys
from pathlib import Path
import pkcs11
from signing.hsm import HsmConfig, find_softhsm_module
from signing.keystore import Pkcs11KeyStore
refused = 0
for _ in range(25):
    pkcs11.lib(str(find_softhsm_module())).reinitialize()
    store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "busy", "4321", Path(sys.argv[1])))
    try:
        store.check()
    except Exception as err:
        refused += 1
        print(type(err).__name__, err, file=sys.stderr)
    store.close()
print(refused)
"""


def test_processes_logging_in_at_once_all_find_the_token(tmp_path: Path) -> None:
    """Every SoftHSM2 login rewrites the token's file, and a process reading the token meanwhile found no token:
    workers starting together, or processes anchoring the audit log at once, got "no token with this label" (a CI
    failure; 58-148 of 150 tries in each of 4 processes). The token is read again a few times before a refusal."""
    require_softhsm()
    conf = ensure_softhsm_token(tmp_path / "softhsm", label="busy", pin="4321", so_pin="8765")
    processes = [
        subprocess.Popen([sys.executable, "-c", LOG_IN_AFRESH, str(conf)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    refused = [process.communicate(timeout=120)[0].strip() for process in processes]
    assert refused == ["0"] * 4
