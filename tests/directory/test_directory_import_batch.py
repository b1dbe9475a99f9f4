"""The import path in batches, against the real slapd: few round trips, yet every row's outcome reported."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import directory.service.people_changes as people_changes
import directory.transfer.planning as planning
from directory.ldap_client import LdapPool
from directory.models import NewPerson
from directory.service import LdapDirectory
from directory.transfer import apply_plan, plan_import, read_rows


@contextmanager
def counting_round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the pool's ``run`` calls: one per LDAP exchange the service asks for (a search, an add…)."""
    calls = [0]
    original = LdapPool.run

    def run(self: LdapPool, func: Callable[..., object], **kwargs: object) -> object:
        calls[0] += 1
        return original(self, func, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(LdapPool, "run", run)
        yield calls


def _csv(uids: list[str], unit: str) -> str:
    lines = ["uid,name,unit,mail,employee_number,position,status"]
    lines += [f"{u},Nguyễn Văn Nhập,{unit},{u}@bench.example,NV-{u},Chuyên viên,active" for u in uids]
    return "\n".join(lines) + "\n"


def test_an_import_of_300_officials_takes_a_few_round_trips_not_several_per_row(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uids = [unique("bulk") for _ in range(300)]
    with counting_round_trips(monkeypatch) as calls:
        rows, rejected = read_rows(_csv(uids, unit), "csv")
        plan = plan_import(directory, rows, rejected)
        planned = calls[0]
        result = apply_plan(plan)
    # Before the batched path: 3 searches per row to plan (uid, mail, employee number) and 4 more to apply.
    assert planned <= 10, planned
    assert calls[0] - planned <= 10, calls[0] - planned
    assert result.failed is None and [op.key for op in result.applied] == uids
    people = {p.uid: p for p in directory.iter_people(unit_code=unit)}
    assert all(people[u].mail == f"{u}@bench.example" and people[u].employee_number == f"NV-{u}" for u in uids)


def test_a_row_taken_between_plan_and_apply_is_reported_and_stops_the_import_there(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uids = [unique("race") for _ in range(6)]
    rows, rejected = read_rows(_csv(uids, unit), "csv")
    plan = plan_import(directory, rows, rejected)
    assert not plan.rejections
    directory.create_person(NewPerson(uid=uids[3], full_name="Người Khác", unit_code=unit))  # someone was faster

    result = apply_plan(plan)

    assert [op.key for op in result.applied] == uids[:3]
    assert result.failed is not None and result.failed.key == uids[3] and result.failed.line == 5
    assert result.error is not None and uids[3] in result.error and "already exists" in result.error
    assert [op.key for op in result.not_attempted] == uids[4:]
    # The rows before it are in the directory, the rows after it are not: nothing half-imported silently.
    assert all(directory.find_by_uid(u) is not None for u in uids[:3])
    assert all(directory.find_by_uid(u) is None for u in uids[4:])
    assert directory.get_person(uids[3]).full_name == "Người Khác"


def test_create_people_refuses_a_taken_mail_with_the_precise_reason(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    owner, first, second = unique("own"), unique("new"), unique("new")
    directory.create_person(NewPerson(uid=owner, full_name="Chủ Thư", unit_code=unit, mail=f"{owner}@x.vn"))
    outcomes = directory.create_people(
        [
            NewPerson(uid=first, full_name="Người Một", unit_code=unit),
            NewPerson(uid=second, full_name="Người Hai", unit_code=unit, mail=f"{owner}@x.vn"),
        ]
    )
    assert outcomes[0] is None and directory.find_by_uid(first) is not None
    assert str(outcomes[1]) == f"mail '{owner}@x.vn' already exists"
    assert directory.find_by_uid(second) is None


def test_a_group_gains_its_members_from_an_ldif_import_in_one_change(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = unique("nhom")
    people = [unique("mem") for _ in range(5)]
    for uid in people:
        directory.create_person(NewPerson(uid=uid, full_name="Thành Viên", unit_code=unit))
    members = "\n".join(f"member: {directory.get_person(uid).dn}" for uid in people)
    ldif = (
        f"dn: cn={group},{directory.names.groups_dn}\nobjectClass: groupOfNames\nobjectClass: antinGroup\n"
        f"cn: {group}\nantinGroupKind: group\n{members}\n"
    )
    rows, rejected = read_rows(ldif, "ldif")
    plan = plan_import(directory, rows, rejected)
    with counting_round_trips(monkeypatch) as calls:
        result = apply_plan(plan)
    assert result.failed is None, result.error
    assert sorted(p.uid for p in directory.group_members(group)) == sorted(people)
    assert calls[0] <= 8, calls[0]  # one add_member per member read and changed the group 3 times each


@pytest.mark.parametrize(
    ("window", "created"), [(1, [True, True, False, False, False]), (32, [True, True, False, True, True])]
)
def test_a_refused_add_is_reported_and_nothing_is_sent_after_it(
    directory: LdapDirectory, unique: Callable[[str], str], window: int, created: list[bool]
) -> None:
    """The server refuses the third entry: the outcomes say exactly what was created, the entries already in flight
    (with a window of 32, all five) included, and the directory holds just that."""
    uids = [unique("pipe") for _ in range(5)]

    def entry(uid: str, parent: str) -> tuple[str, dict[str, list[str]]]:
        attrs = {"objectClass": ["inetOrgPerson", "antinOfficial"], "uid": [uid], "cn": ["Thử Nghiệm"]}
        return f"uid={uid},{parent}", {**attrs, "sn": ["Thử"], "antinStatus": ["active"]}

    people = directory.names.people_dn
    entries = [entry(u, people) for u in uids[:2]]
    entries.append(entry(uids[2], f"ou=no-such-unit,{directory.config.base_dn}"))  # the server refuses it
    entries += [entry(u, people) for u in uids[3:]]

    with directory.pool.pinned() as conn:
        outcomes = conn.add_many(entries, window=window)

    assert outcomes[2] is not None and "no-such-unit" in str(outcomes[2])
    assert [o is None for o in outcomes] == created[: len(outcomes)]
    assert [directory.find_by_uid(u) is not None for u in uids] == created


def test_an_import_checks_each_value_once_and_stores_it_as_checked(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's checks are the only ones (applying does not run them again), and what they normalise is what
    the directory stores: a name typed decomposed (NFD) arrives composed (NFC), a mail lower-cased."""
    uids = [unique("once") for _ in range(20)]
    name = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    lines = ["uid,name,unit,mail,employee_number,position,status"]
    lines += [f"{u},{name},{unit},{u.upper()}@Bench.Example,NV-{u},Chuyên viên,active" for u in uids]
    calls = [0]

    def counted(check: Callable[..., str]) -> Callable[..., str]:
        def run(*args: object, **kwargs: object) -> str:
            calls[0] += 1
            return check(*args, **kwargs)

        return run

    for module in (planning, people_changes):
        monkeypatch.setattr(module, "check_text", counted(module.check_text))
    rows, rejected = read_rows("\n".join(lines) + "\n", "csv")
    plan = plan_import(directory, rows, rejected)
    planned = calls[0]
    result = apply_plan(plan)

    assert planned >= len(uids)  # the name of every row, at least
    assert calls[0] == planned  # applying checked nothing again
    assert result.failed is None and [op.key for op in result.applied] == uids
    person = directory.get_person(uids[0])
    assert person.full_name == "Nguyễn Thị Ánh" == unicodedata.normalize("NFC", name)
    assert person.mail == f"{uids[0]}@bench.example"


def test_create_people_still_checks_what_it_is_given(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    """Outside an import (no plan ran the checks), create_people checks every official: a bad value is that
    official's error, naming the field, and nothing from it on is created."""
    first, bad, after = unique("chk"), unique("chk"), unique("chk")
    outcomes = directory.create_people(
        [
            NewPerson(uid=first, full_name="Người Một", unit_code=unit),
            NewPerson(uid=bad, full_name="Người\x07Hai", unit_code=unit),
            NewPerson(uid=after, full_name="Người Ba", unit_code=unit),
        ]
    )
    assert outcomes[0] is None and outcomes[1] is not None and "full_name" in str(outcomes[1])
    assert len(outcomes) == 2
    assert directory.find_by_uid(first) is not None
    assert directory.find_by_uid(bad) is None and directory.find_by_uid(after) is None


def test_create_people_checks_each_chunk_and_tells_each_official_created_as_the_server_answers(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    """Chunks of two: the fourth official's mail is taken, found by the second chunk's check; the three before
    are created and heard one by one, the fourth refused with the precise reason, the fifth not sent."""
    owner = unique("own")
    directory.create_person(NewPerson(uid=owner, full_name="Chủ Thư", unit_code=unit, mail=f"{owner}@x.vn"))
    uids = [unique("chunk") for _ in range(5)]
    people = [NewPerson(uid=u, full_name="Người Mới", unit_code=unit, mail=f"{u}@x.vn") for u in uids]
    people[3] = NewPerson(uid=uids[3], full_name="Người Mới", unit_code=unit, mail=f"{owner}@x.vn")
    heard: list[int] = []

    outcomes = directory.create_people(people, chunk=2, on_created=heard.append)

    assert outcomes[:3] == [None, None, None] and len(outcomes) == 4
    assert str(outcomes[3]) == f"mail '{owner}@x.vn' already exists"
    assert heard == [0, 1, 2]
    assert [directory.find_by_uid(u) is not None for u in uids] == [True, True, True, False, False]


def test_an_import_of_more_than_one_chunk_reports_progress_row_by_row_in_file_order(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uids = [unique("prog") for _ in range(1100)]
    rows, rejected = read_rows(_csv(uids, unit), "csv")
    plan = plan_import(directory, rows, rejected)
    heard: list[str] = []

    result = apply_plan(plan, progress=lambda op: heard.append(op.key))

    assert result.failed is None and heard == uids == [op.key for op in result.applied]
    assert {p.uid for p in directory.iter_people(unit_code=unit)} >= set(uids)
