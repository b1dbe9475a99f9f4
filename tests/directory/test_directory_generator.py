"""The synthetic generator: realistic, deterministic, loadable through the server and by slapadd."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.generator import build_synthetic, generate_directory
from directory.models import AuthStatus
from directory.names import PROVINCES, login_for
from directory.service import LdapDirectory
from tests.directory.conftest import BASE_DN, config_for, start_slapd

pytestmark = pytest.mark.slapd


def test_synthetic_directory_is_realistic_and_deterministic() -> None:
    first = build_synthetic(500, base_dn=BASE_DN, seed=7)
    again = build_synthetic(500, base_dn=BASE_DN, seed=7)
    assert first.people == again.people
    uids = [attrs["uid"][0] for _, attrs in first.people]
    assert len(uids) == 500 and len(set(uids)) == 500
    names = [attrs["cn"][0] for _, attrs in first.people]
    assert sum(n.startswith("Nguyễn ") for n in names) > 100  # the most common family name
    kinds = {attrs["antinUnitKind"][0] for _, attrs in first.units}
    assert {"provincial-committee", "municipal-committee", "party-cell", "department"} <= kinds
    provinces = [a["ou"][0] for _, a in first.units if a["antinUnitKind"][0].endswith("-committee")]
    assert "Tỉnh ủy Bắc Ninh" in provinces and "Thành ủy Hà Nội" in provinces
    assert login_for("Đặng Thị Hương") == "huongdt"


def test_generate_through_the_server(tmp_path: Path) -> None:
    slapd = start_slapd(tmp_path / "s")
    try:
        directory = LdapDirectory(config_for(slapd))
        summary = generate_directory(directory, officials=60, seed=3, password="Thu-nghiem-2025!")
        assert summary["officials"] == 60
        assert len(directory.list_units()) == summary["units"]
        someone = build_synthetic(60, base_dn=BASE_DN, seed=3).people[5][1]["uid"][0]
        outcome = directory.authenticate(someone, "Thu-nghiem-2025!")
        assert outcome.status is AuthStatus.SUCCESS and outcome.person is not None
        assert outcome.person.unit_path[-1].code == "TW"
        directory.close()
    finally:
        slapd.stop()


def test_generate_with_slapadd(tmp_path: Path) -> None:
    slapd = start_slapd(tmp_path / "s")
    slapd.stop()
    summary = generate_directory(None, officials=300, seed=5, password="Thu-nghiem-2025!", slapd=slapd)
    assert summary["method"] == "slapadd"
    slapd.start()
    try:
        directory = LdapDirectory(config_for(slapd))
        people = list(directory.iter_people())
        assert len(people) == 300 and all(p.entry_uuid for p in people)
        signer = next(p for p in people if p.position == "Bí thư" and p.unit and p.unit.code == PROVINCES[0][0])
        outcome = directory.authenticate(signer.uid, "Thu-nghiem-2025!")
        assert outcome.ok and outcome.person is not None
        assert {"ky-so", f"ky-so-{PROVINCES[0][0].lower()}"} <= set(outcome.person.groups)  # memberOf, nested
        directory.close()
    finally:
        slapd.stop()


def test_generate_command_with_slapadd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import os

    from click.testing import CliRunner

    from antin.cli import cli

    for name in [n for n in os.environ if n.startswith("ANTIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANTIN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(cli, ["directory", "generate", "--officials", "200", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["method"] == "slapadd" and summary["officials"] == 200
    listed = runner.invoke(cli, ["directory", "users", "list", "--json"], catch_exceptions=False)
    people = json.loads(listed.stdout)
    assert len(people) == 200 and all(p["unit_path"][-1]["code"] == "TW" for p in people)
    login = runner.invoke(cli, ["directory", "users", "show", people[0]["uid"], "--json"], catch_exceptions=False)
    assert json.loads(login.stdout)["entry_uuid"] == people[0]["entry_uuid"]
