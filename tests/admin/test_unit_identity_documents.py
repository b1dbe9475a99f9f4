"""The records office's register and a unit's group steps (its leaders', its records office's) are bound to the unit's
identity (its entryUUID), not only its code, against the real slapd: a unit deleted and a new one created with the
same code starts a register of its own (the old one's numbers of the year are not taken from it) and its records
office and leaders act on none of the old unit's steps, even as members of the groups named after the code; a unit
renamed or moved keeps its register and its steps."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pytest
from sqlalchemy import select, update

from directory.models import NewPerson, Person, UnitKind
from signing.documents.errors import DocumentNotFoundError, RegisterRefusedError, UploadRefusedError
from signing.documents.groups import leaders_named
from signing.documents.models import (
    Document,
    DocumentIssue,
    DocumentRecipient,
    DocumentStep,
    RecipientKind,
    StepKind,
    StepStatus,
)
from signing.documents.records_office import Recipient, reserve_number
from signing.documents.service import DocumentService, document_service
from signing.samples import sample_pdf
from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import problem
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd


class Unit(NamedTuple):
    code: str
    drafter: str
    clerk: str
    leader: str


def person(platform: AdminPlatform, login: str) -> Person:
    found = platform.ldap.get_person(login)
    return found


def staffed_unit(
    platform: AdminPlatform, code: str, unique: Callable[[str], str], *, groups: bool = True, parent: str = "BNH-VP"
) -> Unit:
    """A unit with a drafter, a records-office clerk and a leader; with ``groups``, its records office
    (van-thu-<code>) and its leaders (lanh-dao-<code>), scoped to it, with the clerk and the leader in them."""
    platform.ldap.create_unit(code, "Phòng Tổng hợp", UnitKind.DEPARTMENT, parent)
    staff = Unit(code, unique("st"), unique("vt"), unique("ld"))
    for login, name in ((staff.drafter, "Ngô Văn Soạn"), (staff.clerk, "Lê Thị Thư"), (staff.leader, "Trịnh Văn Đạo")):
        platform.ldap.create_person(NewPerson(uid=login, full_name=name, unit_code=code, password=PASSWORD))
    if groups:
        give_groups(platform, staff)
    return staff


def give_groups(platform: AdminPlatform, staff: Unit) -> None:
    code = staff.code
    for group, member in ((f"van-thu-{code.lower()}", staff.clerk), (f"lanh-dao-{code.lower()}", staff.leader)):
        platform.ldap.create_group(group, "Nhóm của đơn vị", unit_code=code)
        platform.ldap.add_member(group, uid=member)


def dissolve(platform: AdminPlatform, staff: Unit) -> None:
    """The unit deleted (its officials first); the groups named after its code stay in the directory."""
    for login in (staff.drafter, staff.clerk, staff.leader):
        platform.ldap.delete_person(login)
    platform.ldap.delete_unit(staff.code)


def draft(platform: AdminPlatform, documents: DocumentService, staff: Unit, title: str) -> str:
    """A document signed by the unit's leaders, then sealed and issued by its records office, to the unit itself."""
    code = staff.code
    return documents.upload(
        person(platform, staff.drafter),
        io.BytesIO(sample_pdf(pages=1, title=title)),
        file_name="cong-van.pdf",
        title=title,
        signers=[leaders_named(platform.instance, f"lanh-dao-{code.lower()}")],
        recipients=[Recipient(RecipientKind.UNIT, code, "Phòng Tổng hợp")],
    ).id


def activate(platform: AdminPlatform, document_id: str, kind: StepKind) -> None:
    """The workflow moved on to the step ``kind`` (the steps before it done: signing them needs a security key)."""
    with platform.instance.database.session() as s:
        steps = list(s.scalars(select(DocumentStep).where(DocumentStep.document_id == document_id)))
        for step in steps:
            step.status = (StepStatus.ACTIVE if step.kind == kind.value else StepStatus.WAITING).value


def issue(platform: AdminPlatform, document_id: str) -> None:
    """The records office issued the document (sealing it needs the whole workflow: the register's state is what
    counts here)."""
    now = platform.instance.clock.now()
    with platform.instance.database.session() as s:
        s.execute(update(DocumentIssue).where(DocumentIssue.document_id == document_id).values(issued_at=now))
        s.execute(update(Document).where(Document.id == document_id).values(status="done", issued_at=now))


def seen_by(platform: AdminPlatform, documents: DocumentService, login: str, document_id: str, box: str) -> bool:
    """Whether ``login`` opens the document, and finds it in ``box`` (both, or neither)."""
    official = person(platform, login)
    listed = document_id in {d.id for d in documents.inbox(official, box).items}
    try:
        documents.view(official, document_id)
    except DocumentNotFoundError:
        assert not listed
        return False
    return listed


def acting(platform: AdminPlatform, documents: DocumentService, login: str, document_id: str) -> set[str]:
    """The kinds of the document's steps ``login`` may act on ("" when they cannot even see it)."""
    official = person(platform, login)
    try:
        view = documents.view(official, document_id)
    except DocumentNotFoundError:  # they see nothing of it
        return set()
    awaiting = {d.id for d in documents.inbox(official, "awaiting").items}
    kinds = {view.my_step.kind} if view.my_step is not None else set()
    assert (document_id in awaiting) == bool(kinds)
    return kinds


@pytest.fixture
def documents(admin_platform: AdminPlatform) -> Iterator[DocumentService]:
    yield document_service(admin_platform.instance)


def test_a_new_unit_given_a_deleted_units_code_has_neither_its_register_nor_its_steps(
    admin_platform: AdminPlatform, documents: DocumentService, unique: Callable[[str], str]
) -> None:
    code = unique("BNH-RX").upper()
    old = staffed_unit(admin_platform, code, unique)
    pending = draft(admin_platform, documents, old, "Công văn chờ ký")
    activate(admin_platform, pending, StepKind.SIGN)
    assert acting(admin_platform, documents, old.leader, pending) == {StepKind.SIGN.value}
    issued = draft(admin_platform, documents, old, "Công văn đã ban hành")
    with admin_platform.instance.database.reading() as s:
        document = s.get(Document, issued)
        assert document is not None
        s.expunge(document)
    today = admin_platform.instance.clock.now().date()
    reserve_number(admin_platform.instance, document, f"1/CV-{code}", today)
    issue(admin_platform, issued)  # to the unit itself
    assert seen_by(admin_platform, documents, old.clerk, issued, "received")  # a colleague who drafted nothing

    dissolve(admin_platform, old)
    new = staffed_unit(admin_platform, code, unique, groups=False)
    leaders, office = f"lanh-dao-{code.lower()}", f"van-thu-{code.lower()}"
    # the groups named after the code are the gone unit's: not the new unit's leaders, nor its administrators' own
    with pytest.raises(UploadRefusedError) as refused_group:
        leaders_named(admin_platform.instance, leaders)
    assert refused_group.value.reason == "unknown-group"
    problem(admin_platform.call("GET", f"/api/admin/groups/{leaders}", "tuanbv"), 404)
    seen = admin_platform.call("GET", f"/api/admin/groups/{office}", "dungpt")
    assert seen.status_code == 200 and seen.json()["orphaned"] is True
    # the new unit's officials neither see the old unit's documents nor receive what was issued to it
    for document_id, box in ((issued, "done"), (issued, "received")):
        assert not seen_by(admin_platform, documents, new.drafter, document_id, box)
    # the platform clears them up and the new unit gets groups of the same names, its own people in them
    for group in (leaders, office):
        admin_platform.ldap.delete_group(group)
    give_groups(admin_platform, new)
    assert admin_platform.call("GET", f"/api/admin/groups/{leaders}", "tuanbv").json()["orphaned"] is False

    # the old unit's pending document: the new unit's leaders do not sign it, nor does its records office seal it
    assert acting(admin_platform, documents, new.leader, pending) == set()
    activate(admin_platform, pending, StepKind.SEAL)
    assert acting(admin_platform, documents, new.clerk, pending) == set()
    # the new unit's register is its own: the old one's number of the year is free in it, once
    mine = draft(admin_platform, documents, new, "Công văn mới")
    with admin_platform.instance.database.reading() as s:
        fresh = s.get(Document, mine)
        assert fresh is not None
        s.expunge(fresh)
    assert reserve_number(admin_platform.instance, fresh, f"1/CV-{code}", today).number == f"1/CV-{code}"
    again = draft(admin_platform, documents, new, "Công văn trùng số")
    with admin_platform.instance.database.reading() as s:
        twin = s.get(Document, again)
        assert twin is not None
        s.expunge(twin)
    with pytest.raises(RegisterRefusedError) as refused:
        reserve_number(admin_platform.instance, twin, f"1/CV-{code}", today)
    assert refused.value.reason == "number-taken"
    # and the new unit's own document is the new unit's to sign and seal
    activate(admin_platform, mine, StepKind.SIGN)
    assert acting(admin_platform, documents, new.leader, mine) == {StepKind.SIGN.value}
    activate(admin_platform, mine, StepKind.SEAL)
    assert acting(admin_platform, documents, new.clerk, mine) == {StepKind.SEAL.value}


def test_a_renamed_or_moved_unit_keeps_its_register_and_its_steps(
    admin_platform: AdminPlatform, documents: DocumentService, unique: Callable[[str], str]
) -> None:
    code = unique("BNH-RY").upper()
    staff = staffed_unit(admin_platform, code, unique)
    first, second = (draft(admin_platform, documents, staff, title) for title in ("Thông báo", "Thông báo 2"))
    today = admin_platform.instance.clock.now().date()
    with admin_platform.instance.database.reading() as s:
        rows = [s.get(Document, first), s.get(Document, second)]
        for row in rows:
            s.expunge(row)
    reserve_number(admin_platform.instance, rows[0], f"7/TB-{code}", today)
    admin_platform.ldap.modify_unit(code, name="Phòng Tổng hợp (tên mới)")
    admin_platform.ldap.move_unit(code, "BNH-KINHBAC")
    with pytest.raises(RegisterRefusedError):  # the same register: its number of the year is taken
        reserve_number(admin_platform.instance, rows[1], f"7/TB-{code}", today)
    activate(admin_platform, second, StepKind.SEAL)
    assert acting(admin_platform, documents, staff.clerk, second) == {StepKind.SEAL.value}
    activate(admin_platform, second, StepKind.SIGN)
    assert acting(admin_platform, documents, staff.leader, second) == {StepKind.SIGN.value}
    issue(admin_platform, first)
    assert seen_by(admin_platform, documents, staff.leader, first, "received")


def test_register_entries_and_steps_of_earlier_versions_are_bound_at_first_sight(
    admin_platform: AdminPlatform, documents: DocumentService, unique: Callable[[str], str]
) -> None:
    code = unique("BNH-RZ").upper()
    staff = staffed_unit(admin_platform, code, unique)
    document_id = draft(admin_platform, documents, staff, "Báo cáo")
    instance = admin_platform.instance
    with instance.database.session() as s:  # as an earlier version stored them
        s.execute(update(DocumentIssue).where(DocumentIssue.document_id == document_id).values(unit_uuid=None))
        s.execute(update(DocumentStep).where(DocumentStep.document_id == document_id).values(assignee_unit_uuid=None))
        s.execute(update(Document).where(Document.id == document_id).values(unit_uuid=None))
        s.execute(update(DocumentRecipient).where(DocumentRecipient.document_id == document_id).values(unit_uuid=None))
    instance.extensions.pop("antin.signing.documents.units_bound", None)  # a process started after the upgrade
    activate(admin_platform, document_id, StepKind.SEAL)
    assert acting(admin_platform, documents, staff.clerk, document_id) == {StepKind.SEAL.value}
    unit_uuid = admin_platform.ldap.get_unit(code).entry_uuid
    with instance.database.reading() as s:
        issue = s.get(DocumentIssue, document_id)
        bound = set(s.scalars(select(DocumentStep.assignee_unit_uuid).where(DocumentStep.document_id == document_id)))
        document = s.get(Document, document_id)
        to_unit = set(
            s.scalars(select(DocumentRecipient.unit_uuid).where(DocumentRecipient.document_id == document_id))
        )
    assert issue is not None and issue.unit_uuid == unit_uuid and bound == {unit_uuid}
    assert document is not None and document.unit_uuid == unit_uuid and to_unit == {unit_uuid}
