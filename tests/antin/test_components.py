"""A missing real component fails the run in CI and is only skipped on a developer's machine."""

from __future__ import annotations

import pytest

from tests.components import missing_component, require_command


def test_a_missing_component_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="slapd-that-is-not-there"):
        missing_component("slapd-that-is-not-there is not installed")
    with pytest.raises(pytest.fail.Exception, match="no-such-program-antin"):
        require_command("no-such-program-antin")


def test_a_missing_component_is_skipped_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        missing_component("chromium is not installed")
