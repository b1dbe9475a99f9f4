"""The results page of ``make bench``: each row beside its peer with the ratio, regenerated in place, a chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from bench.page import BEGIN, END, draw_chart, pairs, render_results, replace_results


def _row(operation: str, side: str, rate: float) -> dict[str, Any]:
    return {
        "bench": "signing",
        "operation": operation,
        "side": side,
        "p50": 1000 / rate,
        "p99": 2000 / rate,
        "rate": rate,
        "cpu_per_op": 1.0,
        "rss": 100.0,
        "n": 10,
        "checked": 10,
        "wrong": 0,
        "note": "",
    }


DOCUMENT = {
    "bench": "signing",
    "quick": False,
    "machine": {"cores": 2, "cpu": "Test CPU", "memory_gb": 8.0, "commit": "abc1234", "date": "2026-12-04 18:00 UTC"},
    "notes": [],
    "rows": [
        _row("sign B-B 1MB", "antin", 120.0),
        _row("sign B-B 1MB", "pyhanko-lib", 40.0),
        _row("sign B-B 1MB", "pyhanko-cli", 1.0),
        _row("sign alone", "antin", 5.0),
    ],
}


def test_each_platform_row_is_paired_with_each_peer_and_the_rate_ratio() -> None:
    found = [(p.operation, p.peer["side"] if p.peer else None, p.ratio) for p in pairs([DOCUMENT])]
    assert found == [
        ("sign B-B 1MB", "pyhanko-lib", 3.0),
        ("sign B-B 1MB", "pyhanko-cli", 120.0),
        ("sign alone", None, None),
    ]


def test_the_section_names_commit_machine_and_date_and_is_replaced_in_place() -> None:
    section = render_results([DOCUMENT], "chart.png", [])
    assert "`abc1234`" in section and "2 cores (Test CPU)" in section and "8.0 GB" in section
    assert "2026-12-04 18:00 UTC" in section
    assert "| sign B-B 1MB | 8.33 | 16.67 | 120 | 1.00 | 100 | pyhanko-lib |" in section and "**3×**" in section
    page = f"# Method\n\nkept\n\n## Results\n\n{BEGIN}\nold figures\n{END}\n\nafter\n"
    updated = replace_results(page, section)
    assert "old figures" not in updated and updated.count(BEGIN) == 1 and updated.count(END) == 1
    assert updated.startswith("# Method\n\nkept\n") and updated.endswith("\n\nafter\n")
    assert replace_results(updated, section) == updated


def test_the_chart_is_a_png_with_a_bar_per_pair(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    draw_chart(pairs([DOCUMENT]), path, "test")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 800
        assert image.height >= 70 + 2 * 24  # two pairs with a ratio: two bars
