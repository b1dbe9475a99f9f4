"""A unit's leaders as one step: what the "awaiting" box costs a leader, beside an official named on their steps.

- ``awaiting: a leader (group steps)``: N documents in progress, half of them with an active step for the group
  ``lanh-dao-ht`` (unit ``HT``), half for other officials; the inbox of a member of the group working in a board
  under ``HT`` (the group and unit predicate in SQL, the count and the first page).
- ``awaiting: an official named on the steps``: the same number of documents waiting for one official by name.

Rows are inserted straight into a fresh SQLite database migrated by Alembic; the officials are in memory. Every
answer's count is checked. Usage: ``python -m bench.leaders_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "leaders"


def main(argv: list[str] | None = None) -> int:
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.instance import use_directory
    from directory.memory import InMemoryDirectory
    from directory.models import UnitKind, UnitRef
    from signing.documents.models import Document, DocumentStep
    from signing.documents.service import document_service

    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    documents_count = 400 if args.quick else 4000
    repeat = 10 if args.quick else 30
    run = Run(BENCH, args.quick)
    province = UnitRef("ou=ht,ou=units,dc=antin,dc=vn", "HT", "Tỉnh ủy Hà Tĩnh", UnitKind.PROVINCIAL_COMMITTEE)
    board = UnitRef("ou=tc,ou=ht,ou=units,dc=antin,dc=vn", "HT-TC", "Ban Tổ chức", UnitKind.DEPARTMENT)
    with tempfile.TemporaryDirectory() as folder:
        instance = Instance(
            load_settings({"ANTIN_DATA_DIR": folder, "ANTIN_ENV": "test", "ANTIN_LOG_LEVEL": "WARNING"})
        )
        upgrade(instance.database)
        directory = InMemoryDirectory()
        leader = directory.add(
            "pho", "x", full_name="Đặng Thị Phó", unit=board, unit_path=(board, province), groups=("lanh-dao-ht",)
        )
        named = directory.add("an", "x", full_name="Lê Văn An", unit=board, unit_path=(board, province))
        use_directory(instance, directory)
        with instance.database.session() as s:
            for i in range(documents_count):
                document_id = secrets.token_urlsafe(16)
                s.add(
                    Document(
                        id=document_id,
                        unit_code="HT-VP",
                        title=f"Tờ trình {i}",
                        file_name="t.pdf",
                        status="in_progress",
                        created_by="x",
                        created_by_name="X",
                        pages=1,
                    )
                )
                if i % 2:
                    who = {"assignee_group": "lanh-dao-ht", "assignee_unit": "HT", "assignee_name": province.name}
                else:
                    who = {"assignee": named.entry_uuid, "assignee_login": "an", "assignee_name": named.full_name}
                s.add(DocumentStep(document_id=document_id, position=1, kind="sign", status="active", **who))
        documents = document_service(instance)
        half = documents_count // 2
        for label, official in (("a leader (group steps)", leader), ("an official named on the steps", named)):
            wall, cpu, wrong = [], [], 0
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                page = documents.inbox(official, "awaiting")
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                wrong += page.total != half
            operation = f"awaiting: {label}, {half} of {documents_count} documents"
            run.add(row_from_samples(BENCH, operation, "antin", wall, cpu=cpu, checked=repeat, wrong=wrong))
        instance.close()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    raise SystemExit(main())
