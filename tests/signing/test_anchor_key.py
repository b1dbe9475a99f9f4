"""The audit anchors' key in the real SoftHSM2 token: made once when several processes anchor at the same moment,
never extractable, and a refused PIN an AnchorKeyError (no other key signs)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from antin.kernel.audit.anchor_keys import AnchorKeyError
from antin.kernel.database import Database
from signing.anchor_key import ANCHOR_KEY_LABEL, HsmAnchorSigner
from signing.hsm import HsmConfig, ensure_softhsm_token, find_softhsm_module
from signing.keystore import Pkcs11KeyStore
from tests.signing.conftest import require_softhsm

PIN = "1234"
# One process: wait for the start file, then ask for the anchor key (made on first use) and print its public key.
FIRST_USE = """
import sys, time
from pathlib import Path
from antin.kernel.database import Database
from signing.anchor_key import HsmAnchorSigner
from signing.hsm import HsmConfig, find_softhsm_module
from signing.keystore import Pkcs11KeyStore
database, conf, start = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "anchors", "1234", Path(conf)))
store.check()  # logged in before the start: the race is on the key, not the login
while not start.exists():
    time.sleep(0.001)
print(HsmAnchorSigner(store, Database(database)).public_key().hex())
"""


@pytest.fixture
def token(tmp_path: Path) -> Path:
    require_softhsm()
    return ensure_softhsm_token(tmp_path / "softhsm", label="anchors", pin=PIN, so_pin="5678")


def test_processes_anchoring_at_once_make_one_key(tmp_path: Path, token: Path) -> None:
    database = f"sqlite:///{tmp_path / 'antin.sqlite3'}"
    Database(database).dispose()
    start = tmp_path / "start"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, database, str(token), str(start)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    time.sleep(3)  # every process logged in and waiting (no assertion on time: a late one only finds the key)
    start.touch()
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert len(keys) == 1 and "" not in keys
    token_args = ["--module", str(find_softhsm_module()), "--token-label", "anchors", "--login", "--pin", PIN]
    listed = subprocess.run(
        ["pkcs11-tool", *token_args, "--list-objects", "--type", "privkey"],
        env={"SOFTHSM2_CONF": str(token), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed.count(f"label:      {ANCHOR_KEY_LABEL}") == 1, listed
    assert "Access:     sensitive, always sensitive, never extractable, local" in listed, listed


def test_the_key_signs_verifiably_and_a_refused_pin_is_an_anchor_key_error(tmp_path: Path, token: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'antin.sqlite3'}")
    store = Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "anchors", PIN, token))
    signer = HsmAnchorSigner(store, database)
    public = serialization.load_der_public_key(signer.public_key())
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    public.verify(signer.sign(b"anchor"), b"anchor", ec.ECDSA(hashes.SHA256()))
    store.close()

    wrong = HsmAnchorSigner(Pkcs11KeyStore(HsmConfig(find_softhsm_module(), "anchors", "9999", token)), database)
    for attempt in (wrong.public_key, lambda: wrong.sign(b"anchor")):
        with pytest.raises(AnchorKeyError, match=r"the anchor key in the HSM cannot be used: .*the PIN was refused"):
            attempt()
    database.dispose()
