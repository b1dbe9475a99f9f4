"""An import job whose database goes away while it runs (issue 14: a PostgreSQL failover): the failure and the
outcome that could not be recorded are one warning line each, not a traceback in the log and another escaping the
job's thread; once the database is back the job shows as interrupted and may be started again. Real PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin.delegation import Actor
from admin.import_jobs import STALE_AFTER, ImportJobs
from admin.imports import ImportReport, Progress, RowOutcome
from antin.kernel.database import Database
from antin.migrate import upgrade
from tests.postgres_standby import kill_host, start_postgres
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]


class ImporterWhoseDatabaseDies:
    """Checks two rows; while applying them, the database's host dies before the first row's progress is written."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.started = threading.Event()  # set once `start` has answered: it reads the job after the thread starts

    def preview(self, actor: Actor, csv_bytes: bytes) -> ImportReport:
        return ImportReport(dry_run=True, rows=[RowOutcome(n + 2, f"u{n}", "create") for n in range(2)])

    def apply(
        self, actor: Actor, csv_bytes: bytes, *, skip_refused: bool = False, progress: Progress | None = None
    ) -> ImportReport:
        assert progress is not None
        assert self.started.wait(30), "start() did not answer"
        kill_host(self.url)
        progress(1, 2)  # raises: the database is away
        raise AssertionError("progress was written to a dead database")


def test_an_import_cut_by_an_outage_is_logged_in_two_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    escaped: list[BaseException | None] = []
    saved, threading.excepthook = threading.excepthook, lambda args: escaped.append(args.exc_value)
    caplog.set_level(logging.WARNING, logger="admin.import_jobs")
    moments = [datetime.now(UTC)]
    try:
        with postgres_server(tmp_path / "pg") as url:
            database = Database(url, pool_size=2)
            upgrade(database)
            importer = ImporterWhoseDatabaseDies(url)
            jobs = ImportJobs(database, lambda: moments[-1], {"officials": importer})
            actor = Actor.administrator("tuanbv")
            job = jobs.check(actor, "officials", "hai-dong.csv", b"uid,name\n")
            jobs.start(actor, job.id)
            importer.started.set()
            jobs.close()  # waits for the job's thread
            start_postgres(url)
            moments.append(moments[0] + STALE_AFTER * 2)  # its heartbeat is old: shown interrupted
            assert jobs.get(actor, job.id).status == "interrupted"
            database.dispose()
    finally:
        threading.excepthook = saved
    assert escaped == []
    records = [r for r in caplog.records if r.name == "admin.import_jobs"]
    assert [r.exc_info for r in records] == [None, None]
    assert [r.getMessage().split(": ", 1)[1] for r in records] == [
        "the database is unavailable (OperationalError)",
        "its outcome could not be recorded: the database is unavailable (OperationalError)",
    ]
