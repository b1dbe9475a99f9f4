"""CSV imports as jobs: the checked file kept in SQL, the real run in the background, its progress readable anywhere.

``check`` runs the dry run within the request (a fraction of a second for thousands of rows) and keeps the bytes and
the report in ``admin_import_job``, under a random id bound to the administrator who uploaded it: the real run then
imports exactly the bytes that were previewed, and anyone else who guesses the id reads "no such import". ``start``
claims the job with one conditional UPDATE (so a second click, or a second instance, cannot run it twice) and runs
it on a thread of this process; the thread writes how many rows are done, and a heartbeat, at most every
:data:`PROGRESS_EVERY` seconds. Because all of that is in the database, the progress page may be served by any
instance, and a job whose heartbeat stopped for :data:`STALE_AFTER` (its instance died) is shown as interrupted and
may be started again, on any instance.

What a run does is the importer's (:mod:`admin.imports`, :mod:`admin.unit_imports`): resumable, not
all-or-nothing. With a refused row nothing is written unless the administrator chose to leave them out; otherwise
rows are applied in file order and the run stops at the first one the directory refuses. Running the same checked
file again — after an interruption too — continues: the rows already applied are then "unchanged".
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import delete, or_, update

from admin.delegation import Actor
from admin.errors import AdminError, NotPermittedError, OutOfReachError
from admin.imports import ImportReport, Progress
from admin.models import AdminImportJob
from antin.kernel.audit.chain import as_utc
from antin.kernel.database import Database, log_failure
from directory.errors import DirectoryError

__all__ = ["PROGRESS_EVERY", "STALE_AFTER", "ImportJobView", "ImportJobs", "Importer", "JobKind"]

log = logging.getLogger(__name__)

JobKind = Literal["officials", "units"]
PROGRESS_EVERY = 0.25  # seconds between two writes of a running job's progress (and heartbeat)
STALE_AFTER = timedelta(seconds=60)  # a running job silent this long is taken for dead: it may be started again
KEEP_FOR = timedelta(days=1)  # jobs (and the files in them) older than this are removed
RUNNING = "running"
FINISHED = ("applied", "stopped", "nothing-applied", "failed")
# what may be (re)started: a checked file; a run that stopped, failed or refused rows (the same file again continues
# where it stopped); not one that applied everything (a second click or the back button must not run it again)
RESTARTABLE = ("checked", "stopped", "failed", "nothing-applied")


class Importer(Protocol):
    def preview(self, actor: Actor, csv_bytes: bytes) -> ImportReport: ...

    def apply(
        self, actor: Actor, csv_bytes: bytes, *, skip_refused: bool = False, progress: Progress | None = None
    ) -> ImportReport: ...


@dataclass(frozen=True)
class ImportJobView:
    id: str
    kind: JobKind
    filename: str
    status: str  # checked, running, interrupted (running, but no heartbeat), or one of FINISHED
    done: int
    total: int
    report: dict[str, Any]  # ImportReport.as_json(): the dry run's until the real run ends

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def progress_json(self) -> dict[str, Any]:
        return {"status": self.status, "done": self.done, "total": self.total, "finished": self.finished}


class ImportJobs:
    def __init__(
        self,
        database: Database,
        now: Callable[[], datetime],
        importers: dict[str, Importer],
        may_import: Callable[[Actor], bool] = lambda _actor: True,
    ) -> None:
        self.database = database
        self.may_import = may_import
        self.now = now
        self.importers = importers
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def check(self, actor: Actor, kind: JobKind, filename: str, csv_bytes: bytes) -> ImportJobView:
        """The dry run of ``csv_bytes``, kept with the bytes under a new id (refused files raise, nothing kept)."""
        report = self.importers[kind].preview(actor, csv_bytes)
        now = self.now()
        job = AdminImportJob(
            id=secrets.token_hex(16),
            actor=actor.name,
            kind=kind,
            filename=filename[:255],
            body=csv_bytes,
            status="checked",
            skip_refused=False,
            total=report.count("create") + report.count("change"),
            done=0,
            report=json.dumps(report.as_json()),
            created_at=now,
            heartbeat_at=now,
        )
        with self.database.session() as s:
            s.execute(delete(AdminImportJob).where(AdminImportJob.created_at < now - KEEP_FOR))
            s.add(job)
        return self._view(job)

    def get(self, actor: Actor, job_id: str) -> ImportJobView:
        """The job, if it is ``actor``'s; otherwise the same 404 as a job that does not exist (403 for one who may
        import nothing anywhere, as every other admin route answers them)."""
        if not self.may_import(actor):
            raise NotPermittedError("officials:write or units:write")
        with self.database.reading() as s:
            job = s.get(AdminImportJob, job_id) if job_id.isalnum() else None
            if job is None or job.actor != actor.name:
                raise OutOfReachError("import", job_id)
            return self._view(job)

    def start(self, actor: Actor, job_id: str, *, skip_refused: bool = False) -> ImportJobView:
        """Run the checked job in the background, unless it runs already or is over (then: as it is)."""
        self.get(actor, job_id)
        now = self.now()
        with self.database.transaction() as conn:
            claimed = conn.execute(
                update(AdminImportJob)
                .where(
                    AdminImportJob.id == job_id,
                    AdminImportJob.actor == actor.name,
                    or_(
                        AdminImportJob.status.in_(RESTARTABLE),
                        (AdminImportJob.status == RUNNING) & (AdminImportJob.heartbeat_at < now - STALE_AFTER),
                    ),
                )
                .values(status=RUNNING, skip_refused=skip_refused, done=0, heartbeat_at=now)
            ).rowcount
        if claimed:
            thread = threading.Thread(target=self._run, args=(actor, job_id), name=f"antin-import-{job_id[:8]}")
            with self._lock:
                self._threads.add(thread)
            thread.start()
        return self.get(actor, job_id)

    def close(self, timeout: float = 30.0) -> None:
        """Wait for this process's running imports (an instance closing under one would cut it short)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    # -- the run --------------------------------------------------------------------------------------------

    def _run(self, actor: Actor, job_id: str) -> None:
        try:
            outcome = self._outcome(actor, job_id)
            with self.database.session() as s:
                s.execute(
                    update(AdminImportJob).where(AdminImportJob.id == job_id).values(heartbeat_at=self.now(), **outcome)
                )
        except Exception as err:  # the outcome not recorded (a failover): the page shows it interrupted, to start again
            log_failure(log, err, "import %s: its outcome could not be recorded", job_id)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _outcome(self, actor: Actor, job_id: str) -> dict[str, Any]:
        """What the run did, as the job's new columns; any failure ends the job as "failed", saying why."""
        with self.database.reading() as s:
            job = s.get(AdminImportJob, job_id)
            assert job is not None
            kind, body, skip, checked = job.kind, job.body, job.skip_refused, json.loads(job.report)
        try:
            report = self.importers[kind].apply(actor, body, skip_refused=skip, progress=self._progress_of(job_id))
        except Exception as err:  # the directory down, say: the page must say so, and the job may be started again
            log_failure(log, err, "import %s failed", job_id)
            reason = str(err) if isinstance(err, AdminError | DirectoryError) else type(err).__name__
            return {"status": "failed", "report": json.dumps({**checked, "status": "failed", "error": reason})}
        return {"status": report.status, "report": json.dumps(report.as_json())}

    def _progress_of(self, job_id: str) -> Progress:
        last = [0.0]

        def write(done: int, total: int) -> None:
            moment = self.now()
            if done and done < total and moment.timestamp() - last[0] < PROGRESS_EVERY:
                return
            last[0] = moment.timestamp()
            with self.database.session() as s:
                s.execute(
                    update(AdminImportJob)
                    .where(AdminImportJob.id == job_id)
                    .values(done=done, total=total, heartbeat_at=moment)
                )

        return write

    def _view(self, job: AdminImportJob) -> ImportJobView:
        status = job.status
        if status == RUNNING and as_utc(job.heartbeat_at) < self.now() - STALE_AFTER:
            status = "interrupted"
        kind: JobKind = "units" if job.kind == "units" else "officials"
        return ImportJobView(job.id, kind, job.filename, status, job.done, job.total, json.loads(job.report))
