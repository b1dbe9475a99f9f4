"""The officials' search key against a real slapd: written with every name, found by the indexed text search,
and given by ``antin directory search-keys`` to officials written before it existed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from antin.cli import cli
from directory.errors import NotFoundError
from directory.ldap_client import Modification
from directory.models import NewPerson, PersonChanges
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from tests.directory.conftest import BASE_DN, SERVICE_PASSWORD

pytestmark = pytest.mark.slapd


def keys_of(directory: LdapDirectory, dn: str) -> list[str]:
    entry = directory.pool.run(lambda c: c.read(dn, ["antinSearchKey"]))
    assert entry is not None
    return sorted(entry.get("antinSearchKey"))


def found(directory: LdapDirectory, text: str, unit: str) -> list[str]:
    return [p.uid for p in directory.search_people(text, unit_code=unit).items]


def test_the_key_follows_the_name_and_finds_it_without_diacritics(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("thuy")
    person = directory.create_person(NewPerson(uid=uid, full_name="Ngô  Thị Thủy", unit_code=unit))
    assert keys_of(directory, person.dn) == sorted(["ngo thi thuy", uid])
    for text in ("Ngô Thị Thủy", "ngo thi thuy", "THI THUY", uid, uid[:5].upper(), "ngo", "thuy"):
        assert found(directory, text, unit) == [uid], text
    renamed = directory.modify_person(uid, PersonChanges(full_name="Đặng Thị Thủy"))
    assert keys_of(directory, renamed.dn) == sorted(["dang thi thuy", uid])
    assert found(directory, "dang thi", unit) == [uid]
    assert found(directory, "ngo thi", unit) == []


def test_filter_characters_in_the_text_are_searched_for_not_obeyed(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    directory.create_person(NewPerson(uid=unique("an"), full_name="Nguyễn Văn An", unit_code=unit))
    for probe in ("*", "**", "*)(uid=*", "an*", "\\", "(", ")", "*\\2a*", "an)(|(uid=*"):
        assert found(directory, probe, unit) == [], probe


def test_search_keys_gives_the_key_to_officials_written_before_it(
    directory: LdapDirectory,
    unit: str,
    unique: Callable[[str], str],
    slapd: ManagedSlapd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = unique("cuong")
    person = directory.create_person(NewPerson(uid=uid, full_name="Nguyễn Hữu Cường", unit_code=unit))
    # as an entry from before the key (and a name changed by another LDAP tool) would be
    directory.pool.run(lambda c: c.modify(person.dn, [Modification("delete", "antinSearchKey")]))
    assert found(directory, "huu cuong", unit) == []
    monkeypatch.setenv("ANTIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANTIN_DIRECTORY_MANAGED", "false")
    monkeypatch.setenv("ANTIN_DIRECTORY_URIS", slapd.ldap_uri)
    monkeypatch.setenv("ANTIN_DIRECTORY_BASE_DN", BASE_DN)
    monkeypatch.setenv("ANTIN_DIRECTORY_BIND_PASSWORD", SERVICE_PASSWORD)
    runner = CliRunner()
    first = runner.invoke(cli, ["directory", "search-keys", "--json"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["written"] >= 1 and report["officials"] >= report["written"]
    assert found(directory, "huu cuong", unit) == [uid]
    assert keys_of(directory, person.dn) == sorted(["nguyen huu cuong", uid])
    again = json.loads(runner.invoke(cli, ["directory", "search-keys", "--json"], catch_exceptions=False).output)
    assert again["written"] == 0  # only what differs is written


def test_pipelined_modifications_stop_at_the_first_refusal(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    people = [directory.create_person(NewPerson(uid=unique("p"), full_name="Lê Văn Tám", unit_code=unit)) for _ in "ab"]
    keys = [Modification("replace", "antinSearchKey", ["le van tam"])]
    assert directory.pool.run(lambda c: c.modify_pipelined([(p.dn, keys) for p in people])) == 2
    missing = f"uid=khong-co,{people[0].dn.split(',', 1)[1]}"
    changes = [(people[0].dn, keys), (missing, keys), (people[1].dn, keys)]
    with pytest.raises(NotFoundError):
        directory.pool.run(lambda c: c.modify_pipelined(changes, window=1))
    assert keys_of(directory, people[0].dn) == ["le van tam"]
