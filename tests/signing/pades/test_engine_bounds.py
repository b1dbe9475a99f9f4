"""What one PadesEngine keeps per signer stays within its bound however many officials sign through a process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import signing.pades.sign
from signing.keystore import FileKeyStore
from signing.pades import SignerMaterial
from signing.pades.sign import PadesEngine


def certificate(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return built.public_bytes(serialization.Encoding.DER)


def test_signers_kept_are_the_most_recent_within_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signer per certificate was kept for ever (one more per official, and per renewed certificate); now the
    most recently used ``SIGNERS_KEPT`` are, and one used again is the same object (its parsing not repeated)."""
    monkeypatch.setattr(signing.pades.sign, "SIGNERS_KEPT", 3)
    engine = PadesEngine(FileKeyStore(tmp_path / "keys"))
    officials = [SignerMaterial(f"person-{n}", certificate(f"Cán bộ {n}"), ()) for n in range(6)]
    first = engine._signer(officials[0])
    assert engine._bytes_reserved(first, "B-B") == engine._estimate_size(first, "B-B")
    for official in officials[1:3]:
        engine._signer(official)
    assert engine._signer(officials[0]) is first  # still kept: now the most recently used
    for official in officials[3:]:
        engine._signer(official)
        assert len(engine._signers) <= 3
    assert [key[0] for key in engine._signers] == ["person-3", "person-4", "person-5"]
    again = engine._signer(officials[0])
    assert again is not first and again.certificate.dump() == officials[0].certificate
