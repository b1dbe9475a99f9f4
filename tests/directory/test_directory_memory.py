"""InMemoryDirectory follows the real directory's observable rules (cheap parity checks)."""

from __future__ import annotations

import pytest

from directory.errors import DirectoryUnavailableError, InvalidCredentialsError, PasswordQualityError
from directory.memory import InMemoryDirectory
from directory.models import AccountStatus, AuthStatus


def test_outcomes_match_the_real_rules() -> None:
    d = InMemoryDirectory()
    d.add("annv", "Mat-khau-2025!", full_name="Nguyễn Văn An", mail="annv@x.vn")
    assert d.authenticate("ANNV@x.vn", "Mat-khau-2025!").ok
    assert d.authenticate("annv", "sai") == d.authenticate("nobody", "Mat-khau-2025!")
    d.update("annv", status=AccountStatus.RETIRED)
    assert d.authenticate("annv", "Mat-khau-2025!").status is AuthStatus.DISABLED
    d.update("annv", status=AccountStatus.ACTIVE, locked=True)
    assert d.authenticate("annv", "Mat-khau-2025!").status is AuthStatus.LOCKED


def test_password_change_and_outage() -> None:
    d = InMemoryDirectory()
    d.add("annv", "Mat-khau-2025!")
    with pytest.raises(PasswordQualityError):
        d.change_own_password("annv", "Mat-khau-2025!", "short")
    with pytest.raises(InvalidCredentialsError):
        d.change_own_password("annv", "wrong", "Mat-khau-moi-2025!")
    d.available = False
    with pytest.raises(DirectoryUnavailableError):
        d.check()


def test_a_lock_expires_after_the_policy_duration() -> None:
    from datetime import UTC, datetime, timedelta

    from directory.entries import PERMANENT_LOCK, is_locked

    recent = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y%m%d%H%M%SZ")
    old = (datetime.now(UTC) - timedelta(seconds=1000)).strftime("%Y%m%d%H%M%SZ")
    assert is_locked(recent, 900) and not is_locked(old, 900)
    assert is_locked(old, 0)  # no duration: until an administrator unlocks
    assert is_locked(PERMANENT_LOCK, 900)
    assert not is_locked(None, 900)
