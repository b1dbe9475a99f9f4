#!/usr/bin/env python3
"""Fuzz what strangers send (atheris): ``scripts/fuzz.py TARGET… (--runs N | --seconds T) [--workdir DIR] [-v]``.

Targets: ``pdf`` (the /verify page's upload), ``oauth`` (/authorize, /par, /token… parameters), ``import`` (CSV and
LDIF imports), ``jwt`` (access tokens, DPoP proofs, client assertions), or ``all`` (one after the other: the
machine is shared, so one fuzzer at a time, at nice 10). Prints runs, runs/s, coverage and what was found; with
``--workdir`` the corpus learned and the crashing inputs are kept there. ``--replay FILE…`` runs inputs through
a target's harness without atheris. The same as ``python -m tests.fuzz``; see docs/security.md, "Fuzzing".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
