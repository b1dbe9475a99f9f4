"""Applying an import plan in file order, officials' creates in pipelined batches, stopping at the first failure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from directory.errors import DirectoryError
from directory.transfer.operations import ImportPlan, ImportResult, Operation

__all__ = ["apply_plan"]


def apply_plan(plan: ImportPlan, progress: Callable[[Operation], None] | None = None) -> ImportResult:
    """Apply the plan's creates and updates in file order; stop at the first failure and say where.

    Consecutive creates of officials go to the directory together (:meth:`LdapDirectory.create_people`:
    pipelined adds, up to 500 per run); the rest one by one. Either way each row's outcome is reported. When
    the server refuses an add, nothing more is sent; rows already in flight finish and are listed as applied
    when they were, the rest as not attempted.
    """
    result = ImportResult()
    todo = [op for op in plan.operations if op.action != "unchanged"]
    index = 0
    while index < len(todo):
        batch = _person_creates(todo, index) if plan.directory is not None else []
        if batch:
            try:
                people = [op.new_person for op in batch if op.new_person]
                outcomes = plan.directory.create_people(people, checked=True)  # type: ignore[union-attr]
            except DirectoryError as err:
                outcomes = [err]
            for op, outcome in zip(batch, outcomes, strict=False):
                if outcome is None:
                    result.applied.append(op)
                    if progress is not None:
                        progress(op)
                elif result.failed is None:
                    result.failed, result.error = op, str(outcome)
            if result.failed is not None:
                done = {id(op) for op in result.applied} | {id(result.failed)}
                result.not_attempted = [op for op in todo[index:] if id(op) not in done]
                return result
            index += len(batch)
            continue
        op = todo[index]
        try:
            if op.apply is not None:
                op.apply()
        except DirectoryError as err:
            result.failed = op
            result.error = str(err)
            result.not_attempted = todo[index + 1 :]
            return result
        result.applied.append(op)
        if progress is not None:
            progress(op)
        index += 1
    return result


def _person_creates(todo: Sequence[Operation], start: int, limit: int = 500) -> list[Operation]:
    """The run of creates of officials starting at ``start`` (at most ``limit``, so that progress shows)."""
    end = start
    while end < len(todo) and end - start < limit and todo[end].new_person is not None:
        end += 1
    return list(todo[start:end])
