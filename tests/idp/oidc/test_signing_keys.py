"""Signing keys seen by several workers, each with its own 30-second cache of the keys in the database."""

from __future__ import annotations

from pathlib import Path

import pytest

import idp.oidc.keys as keys_module
from antin.kernel.database import Base, Database
from idp.oidc.keys import InvalidJwtError, SigningKeys


def worker(database: Database) -> SigningKeys:
    return SigningKeys(database, "s" * 40, retire_after_seconds=3600)


def test_a_worker_accepts_tokens_signed_with_keys_made_after_it_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `antin keys rotate`, a worker whose cache is fresh signs with the new keys at once; another worker,
    its cache older, must not call those tokens invalid (it reads the keys again, not more than once a second)."""
    import idp.oidc.models  # noqa: F401 - the tables

    database = Database(f"sqlite:///{tmp_path / 'keys.sqlite3'}")
    Base.metadata.create_all(database.engine)
    first, second = worker(database), worker(database)
    first.ensure()
    first.jwks(), second.jwks()  # both caches hold the first keys
    worker(database).rotate()  # the CLI, another process
    first._cached_at = 0.0  # its 30 s are over; the second's are not
    token = first.sign({"sub": "x"}, alg="ES256")
    assert second.verify(token)[1] == {"sub": "x"}
    monkeypatch.setattr(keys_module, "UNKNOWN_KID_REREAD_SECONDS", 3600.0)
    first._cached_at = 0.0
    worker(database).rotate()
    newest = first.sign({"sub": "y"}, alg="ES256")
    with pytest.raises(InvalidJwtError, match="unknown key"):
        second.verify(newest)  # it read them again too recently: forged kids cannot make it read them each time
    database.dispose()
