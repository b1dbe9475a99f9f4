"""Real components for integration tests: find them, or fail in CI (never a silent skip there)."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

from antin.kernel.ports import free_port

__all__ = ["free_port", "in_ci", "require_command"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_component(message: str) -> NoReturn:
    """A real component a test needs is missing: a failure in CI (``CI=true``, as `make test` sets it), a skip
    elsewhere. The one place tests skip, so that no integration test can skip silently in CI."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_command(name: str, *, hint: str = "scripts/install-system-packages.sh test") -> str:
    """The path of a program the test needs; fails in CI and skips elsewhere when it is missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/lib/postgresql/15/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        missing_component(f"{name} is not installed (run {hint})")
    return path
