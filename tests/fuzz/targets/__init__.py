"""The fuzz targets: each module offers ``INSTRUMENT`` (the packages whose coverage guides the fuzzer),
``TIMEOUT_SECONDS`` (the per-input limit: longer is a hang) and ``make_harness(workdir)``, which returns the
function that takes one input and lets out only a crash."""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["CORPUS", "TARGETS", "ServerError", "load_target", "seed_meta"]

TARGETS = {
    "pdf": "tests.fuzz.targets.pdf_verify",
    "oauth": "tests.fuzz.targets.oauth_params",
    "import": "tests.fuzz.targets.importers",
    "jwt": "tests.fuzz.targets.jwt_proofs",
}
SELFTEST = {"selftest": "tests.fuzz.targets.selftest"}  # shows that the machinery reports crashes and hangs
CORPUS = Path(__file__).parents[1] / "corpus"

Harness = Callable[[bytes], None]


class ServerError(AssertionError):
    """A 5xx answer other than a clear 503: what a user would see as a crash of the server."""


def load_target(name: str) -> ModuleType:
    return importlib.import_module({**TARGETS, **SELFTEST}[name])


def seed_meta() -> dict[str, Any]:
    """What the seeds were made with (``tests/fuzz/corpus/meta.json``)."""
    meta: dict[str, Any] = json.loads((CORPUS / "meta.json").read_text())
    meta["pdf_root_der"] = base64.b64decode(meta["pdf_root"])
    return meta
