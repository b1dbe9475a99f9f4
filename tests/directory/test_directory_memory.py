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
