"""Fixtures of the interoperability tests: the live provider, node with npm openid-client and oauth4webapi."""

from __future__ import annotations

import fcntl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.components import missing_component, require_command
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider

HERE = Path(__file__).resolve().parent


@pytest.fixture
def op(tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, make_directory()) as live:
        yield live


@pytest.fixture(scope="session")
def node() -> str:
    """node, with tests/interop/node_modules installed (``make test`` runs npm install; so does this)."""
    path = require_command("node")
    with open(HERE / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest -n 2: one worker installs, the other waits
        packages = ("openid-client", "oauth4webapi")
        if not all((HERE / "node_modules" / name / "package.json").is_file() for name in packages):
            npm = require_command("npm")
            command = [npm, "install", "--no-audit", "--no-fund", "--silent"]
            result = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=300)
            if result.returncode != 0:
                missing_component(f"npm install failed: {result.stderr[-2000:]}")
    return path
