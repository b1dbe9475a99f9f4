"""The audit export's CSV: a cell a spreadsheet would run as a formula is quoted (CSV injection), others are kept."""

from __future__ import annotations

import csv
import io

from admin.audit import _csv_line


def test_a_cell_starting_like_a_formula_is_quoted() -> None:
    line = _csv_line([1, '=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)", "dungpt", None])
    (row,) = list(csv.reader(io.StringIO(line)))
    assert row == ["1", '\'=HYPERLINK("http://evil")', "'+1", "'-2", "'@SUM(A1)", "dungpt", ""]
