"""The managed slapd logs no statistics per operation: three syslog lines per search were a fifth to a third of
its CPU per search."""

from __future__ import annotations

from pathlib import Path

from directory.slapd_config import SlapdLayout, render_slapd_conf


def test_the_managed_slapd_sends_no_line_per_operation_to_syslog(tmp_path: Path) -> None:
    lines = render_slapd_conf(
        SlapdLayout(tmp_path), base_dn="dc=x", service_dn="cn=s,dc=x", admin_dn="cn=a,dc=x"
    ).splitlines()
    global_section = lines[: lines.index("database mdb")]
    # slapd's default is "stats" (connections, operations, results); "none" keeps only what it always logs
    assert [line for line in lines if line.startswith("loglevel")] == ["loglevel none"]
    assert "loglevel none" in global_section
