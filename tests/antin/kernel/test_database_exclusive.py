"""`Database.exclusive(name)`: one holder of a name at a time, across connections (PostgreSQL's advisory lock) or
across openers of the database file (SQLite); another name does not wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from antin.kernel.database import Database
from tests.servers import postgres_server


@pytest.fixture(params=["postgresql", "sqlite-file", "sqlite-memory"])
def two_handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two `Database` objects on one database, as two instances (or an instance and a CLI command) have."""
    if request.param == "postgresql":
        with postgres_server(tmp_path / "pg") as url:
            first, second = Database(url), Database(url)
            yield first, second
            first.dispose()
            second.dispose()
    elif request.param == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'antin.db'}"
        yield Database(url), Database(url)
    else:
        memory = Database("sqlite://")
        yield memory, memory


def _hold_then_release(db: Database, name: str, held: threading.Event, log: list[str]) -> None:
    with db.exclusive(name):
        held.set()
        time.sleep(0.3)  # long enough for the other thread to reach its lock
        log.append("first released")


def test_a_second_holder_of_the_same_name_waits_for_the_first(two_handles: tuple[Database, Database]) -> None:
    first, second = two_handles
    held, log = threading.Event(), []
    holder = threading.Thread(target=_hold_then_release, args=(first, "certificate:uid:an", held, log))
    holder.start()
    assert held.wait(10)
    with second.exclusive("certificate:uid:an"):
        log.append("second entered")
    holder.join(10)
    assert log == ["first released", "second entered"]


def test_the_lock_is_released_when_the_block_raises(two_handles: tuple[Database, Database]) -> None:
    first, second = two_handles
    with pytest.raises(RuntimeError), first.exclusive("certificate:uid:an"):
        raise RuntimeError("issuance failed")
    done = threading.Event()

    def take() -> None:
        with second.exclusive("certificate:uid:an"):
            done.set()

    threading.Thread(target=take, daemon=True).start()
    assert done.wait(10), "the lock stayed held after the block failed"


def test_another_name_does_not_wait_on_postgresql(tmp_path: Path) -> None:
    with postgres_server(tmp_path / "pg") as url:
        first, second = Database(url), Database(url)
        try:
            with first.exclusive("certificate:uid:an"):
                entered = threading.Event()

                def take_other() -> None:
                    with second.exclusive("certificate:uid:binh"):
                        entered.set()

                threading.Thread(target=take_other, daemon=True).start()
                assert entered.wait(10), "an official's issuance waited on another's"
        finally:
            first.dispose()
            second.dispose()
