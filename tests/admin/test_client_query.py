"""admin/client_query.py on SQLite and on a real PostgreSQL: the clients a page reads from SQL are those the
in-memory search of every client gave (name folded with or without diacritics, client_id, the caller's units by
code and entryUUID, after the cursor, by client_id)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest

from admin.client_query import clients_after, unbound_clients
from admin.officials import fold
from antin.kernel.database import Database
from antin.migrate import upgrade
from idp.oidc.models import Client
from tests.servers import postgres_server

# (client_id, name, unit_code, unit_uuid)
CLIENTS = [
    ("hop-1", "Họp trực tuyến", "BNH-VP", "uuid-vp"),
    ("hoso-2", "HỒ SƠ CÔNG VIỆC", "bnh-vp", "uuid-vp"),  # a code spelled otherwise: the unit still
    ("thu-3", unicodedata.normalize("NFD", "Thư điện tử"), "BNH-BTC", "uuid-btc"),  # combining marks
    ("dang-4", "Đảng vụ 100%", "BNH-BTC", "uuid-btc"),
    ("hoi_5", "Hỏi đáp", "BNH-VP", "uuid-old"),  # orphaned: its unit's code has another unit since
    ("lich-6", "Lịch công tác", "HNI-VP", "uuid-hni"),
    ("Portal", "Cổng thông tin", "*", None),
    ("old-8", "Ứng dụng cũ", "BNH-VP", None),  # registered before units were bound by entryUUID
]
BAC_NINH = {("bnh-vp", "uuid-vp"), ("bnh-btc", "uuid-btc")}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The clients in a new database, once for the module (read only by the tests)."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        yield from _filled(f"sqlite:///{tmp_path / 'antin.sqlite3'}")
    else:
        with postgres_server(tmp_path / "pg") as url:
            yield from _filled(url)


def _filled(url: str) -> Iterator[Database]:
    database = Database(url)
    upgrade(database)
    with database.session() as session:
        for client_id, name, unit_code, unit_uuid in CLIENTS:
            session.add(
                Client(
                    client_id=client_id,
                    name=name,
                    token_endpoint_auth_method="client_secret_basic",
                    unit_code=unit_code,
                    unit_uuid=unit_uuid,
                )
            )
    try:
        yield database
    finally:
        database.engine.dispose()


def expected(text: str, reach: set[tuple[str, str]] | None, after: str = "") -> list[str]:
    """What the in-memory search of every client answered."""
    needle = fold(text)
    return sorted(
        client_id
        for client_id, name, code, uuid in CLIENTS
        if (reach is None or (code.lower(), uuid) in reach)
        and client_id > after
        and (needle in fold(name) or needle in client_id.casefold())
    )


def read(
    database: Database, text: str, reach: set[tuple[str, str]] | None, after: str = "", size: int = 50
) -> list[str]:
    with database.reading() as session:
        return [r.client_id for r in clients_after(session, reach=reach, text=fold(text), after=after, size=size)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hop",
        "Họp",
        "HO SO",
        "hồ sơ",
        "thu dien",
        "Thư điện",
        "đảng",
        "dang",
        "100%",
        "0%",
        "_",
        "hoi_",
        "P",
        "portal",
        "cong",
        "zzz",
        "%",
        "ung dung",
    ],
)
@pytest.mark.parametrize("reach", [None, BAC_NINH], ids=["platform", "bac-ninh"])
def test_a_page_s_clients_are_those_the_in_memory_search_found(
    database: Database, text: str, reach: set[tuple[str, str]] | None
) -> None:
    assert read(database, text, reach) == expected(text, reach)


def test_the_cursor_and_the_size_page_in_python_s_order(database: Database) -> None:
    everyone = expected("", None)
    assert everyone[0] == "Portal"  # upper case first, as Python orders code points
    assert read(database, "", None, size=3) == everyone[:3]
    assert read(database, "", None, after=everyone[2], size=3) == everyone[3:6]
    assert read(database, "", BAC_NINH, after="hop-1") == expected("", BAC_NINH, after="hop-1")
    assert read(database, "", set()) == []


def test_the_clients_not_yet_bound_to_their_unit_are_found(database: Database) -> None:
    with database.reading() as session:
        assert [r.client_id for r in unbound_clients(session)] == ["old-8"]
