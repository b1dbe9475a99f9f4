"""scripts/slapd_import_variants.py changes what it says in the shipped slapd.conf, or fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.slapd_config import SlapdLayout, render_slapd_conf
from scripts.slapd_import_variants import VARIANTS, variant_conf

KW = {"base_dn": "dc=t,dc=antin", "service_dn": "cn=service,dc=t,dc=antin", "admin_dn": "cn=admin,dc=t,dc=antin"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_variant_takes_out_lines_that_are_there_and_puts_its_own_in(tmp_path: Path, name: str) -> None:
    shipped = render_slapd_conf(SlapdLayout(tmp_path), **KW).splitlines()
    changed = variant_conf(render_slapd_conf, name)(SlapdLayout(tmp_path), **KW).splitlines()
    dropped, added = VARIANTS[name]
    for part in dropped:
        assert any(part in line for line in shipped), f"{name}: nothing in slapd.conf has {part!r}"
        assert not any(part in line for line in changed)
    for line in added:
        assert changed.count(line) == 1
    database = changed.index("database mdb")
    assert all(changed.index(line) < database for line in added if line.startswith("threads "))
    assert all(changed.index(line) > database for line in added if not line.startswith("threads "))
    kept = [line for line in shipped if not any(part in line for part in dropped)]
    assert [line for line in changed if line not in added] == kept


def test_the_shipped_variant_is_the_shipped_configuration(tmp_path: Path) -> None:
    assert variant_conf(render_slapd_conf, "shipped")(SlapdLayout(tmp_path), **KW).splitlines() == (
        render_slapd_conf(SlapdLayout(tmp_path), **KW).splitlines()
    )


def test_the_indexes_documented_are_the_indexes_the_managed_slapd_writes() -> None:
    import re

    from directory.slapd_config import INDEXES

    text = (Path(__file__).resolve().parents[2] / "docs" / "directory.md").read_text(encoding="utf-8")
    section = text.split("### Indexes", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert documented == list(INDEXES)
