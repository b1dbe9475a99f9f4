"""Deadline reminders and re-sending a rejected document.

Reminders: what a run of ``send_reminders`` costs (``antin documents remind``, or a server's periodic job).

- ``run, nothing due``: the periodic job's usual look: N active steps with deadlines, none near yet (one indexed
  query and nothing else).
- ``run, N due``: every one of the N steps due soon (mail off: the e-mail is the mailer thread's, off this path):
  per reminder, the official looked up, the row inserted (the claim) and the audit entry.
- ``run, all sent already``: the same N steps, every claim refused by the unique key (a second host, a cron run
  beside the servers).

Re-sending (``signing.documents.resend.resend``): a rejected document sent again ``as it was, with a note`` (a
new round of steps, the audit entry), and ``with a corrected 1 MB PDF`` (also the file stored, hashed, checked by
pyHanko's reader and pdfinfo as an upload is).

Rows are inserted straight into a fresh SQLite database migrated by Alembic; the officials are in memory. Every
run's counts are checked. Usage: ``python -m bench.deadlines_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from datetime import timedelta
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "deadlines"


def main(argv: list[str] | None = None) -> int:
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.instance import use_directory
    from directory.memory import InMemoryDirectory
    from signing.documents.models import Document, DocumentStep
    from signing.documents.reminders import send_reminders

    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    steps = 200 if args.quick else 2000
    run = Run(BENCH, args.quick)
    with tempfile.TemporaryDirectory() as folder:
        instance = Instance(
            load_settings({"ANTIN_DATA_DIR": folder, "ANTIN_ENV": "test", "ANTIN_LOG_LEVEL": "WARNING"})
        )
        upgrade(instance.database)
        directory = InMemoryDirectory()
        people = [directory.add(f"cb{i}", "x", full_name=f"Cán bộ {i}", mail=f"cb{i}@antin.vn") for i in range(100)]
        use_directory(instance, directory)
        deadline = instance.clock.now() + timedelta(days=5)
        with instance.database.session() as s:
            for i in range(steps):
                document_id = secrets.token_urlsafe(16)
                s.add(
                    Document(
                        id=document_id,
                        unit_code="HT",
                        title=f"Văn bản {i}",
                        file_name="v.pdf",
                        status="in_progress",
                        created_by="x",
                        created_by_name="X",
                        pages=1,
                    )
                )
                official = people[i % len(people)]
                s.add(
                    DocumentStep(
                        document_id=document_id,
                        position=1,
                        kind="review",
                        assignee=official.entry_uuid,
                        assignee_login=official.uid,
                        assignee_name=official.full_name,
                        status="active",
                        deadline=deadline,
                    )
                )

        def timed(label: str, expected: int, repeat: int) -> None:
            wall, cpu, wrong = [], [], 0
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                done = send_reminders(instance)
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                wrong += done.due_soon != expected
                expected = 0  # a reminder is sent once: later runs find nothing new
            run.add(row_from_samples(BENCH, label, "antin", wall, cpu=cpu, checked=repeat, wrong=wrong))

        timed(f"run, nothing due ({steps} steps)", 0, 10)
        instance.clock.advance(timedelta(days=4, hours=12))  # all inside the 24 h before their deadline
        timed(f"run, {steps} due", steps, 1)
        timed(f"run, all sent already ({steps} steps)", 0, 5)
        resend_rows(run, instance, directory, 5 if args.quick else 20)
        instance.close()
    run.write(args.json)
    return 0 if run.all_right else 1


def resend_rows(run: Run, instance: Any, directory: Any, repeat: int) -> None:
    import io

    from signing.documents.resend import resend
    from signing.documents.service import document_service
    from signing.samples import sample_pdf

    documents = document_service(instance)
    drafter, reviewer = directory.add("drafter", "x", full_name="Người Soạn"), directory.add("rv", "x", full_name="R")
    small = sample_pdf(pages=2, size=30_000, title="To trinh")
    corrected = sample_pdf(pages=4, size=1_000_000, title="To trinh (sua)")
    for label, new_file in (("re-send as it was, with a note", None), ("re-send with a corrected 1 MB PDF", corrected)):
        wall, cpu, wrong = [], [], 0
        for _ in range(repeat):
            doc = documents.upload(
                drafter, io.BytesIO(small), file_name="t.pdf", reviewers=[reviewer], signers=[drafter]
            ).id
            documents.review(reviewer, doc, False, "Sửa lại.")
            started, cpu_started = time.perf_counter(), time.process_time()
            done = resend(
                documents,
                drafter,
                doc,
                stream=io.BytesIO(new_file) if new_file else None,
                file_name="t2.pdf",
                note="Đã sửa.",
            )
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            wrong += done.round != 2 or (done.version == 2) != (new_file is not None)
        run.add(row_from_samples(BENCH, label, "antin", wall, cpu=cpu, checked=repeat, wrong=wrong))


if __name__ == "__main__":
    raise SystemExit(main())
