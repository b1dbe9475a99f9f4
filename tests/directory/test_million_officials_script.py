"""scripts/million_officials.py runs end to end at a few thousand officials, and every answer it checks is right.

The million itself takes minutes and is run by hand (its figures are in docs/benchmarks.md); this keeps the
script from rotting. Nothing is timed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.components import require_command

ROOT = Path(__file__).resolve().parents[2]


def test_the_script_loads_binds_looks_up_imports_and_measures_the_database(tmp_path: Path) -> None:
    require_command("slapd")
    out = tmp_path / "million.json"
    done = subprocess.run(
        [sys.executable, "-m", "scripts.million_officials", "--quick", "--officials", "3000", "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    document = json.loads(out.read_text(encoding="utf-8"))
    rows = {(row["operation"], row["side"]): row for row in document["rows"]}
    for row in rows.values():
        assert row["checked"] > 0 and row["wrong"] == 0, row
    loaded = rows[("load officials", "slapadd")]
    assert loaded["n"] > 3000  # the officials, their units and groups
    for operation in (
        "bind, argon2 hash (as every official)",
        "bind, {SSHA} hash (all but the hash's cost)",
        "find_by_login (+unit path, groups)",
        "search by uid (one indexed search)",
    ):
        assert rows[(operation, "antin")]["p99"] is not None, operation
    assert rows[("CSV import through the service", "antin")]["checked"] == 300
    assert "answers within the default limit" in rows[("console search, no match", "antin")]["note"]
    database = rows[("slapd with the directory", "antin")]
    assert database["rss"] > 1 and "data.mdb" in database["note"]
    assert any(note.startswith("argon2's own cost in a bind") for note in document["notes"])


def test_the_first_import_of_the_officials_csv_offline_loads_every_row(tmp_path: Path) -> None:
    require_command("slapadd")
    out = tmp_path / "first.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.million_officials",
            "--first-import-only",
            "--officials",
            "2000",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (row,) = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert row["operation"] == "first import --offline of the officials' CSV"
    assert row["n"] == 2000 and row["checked"] == 2000 and row["wrong"] == 0
    assert "0 rejected; 2,000 officials then in the directory" in row["note"]
