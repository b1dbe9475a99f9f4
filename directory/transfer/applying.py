"""Applying an import plan in file order, officials' creates pipelined, stopping at the first failure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from directory.errors import DirectoryError
from directory.transfer.operations import ImportPlan, ImportResult, Operation

__all__ = ["apply_plan"]


def apply_plan(plan: ImportPlan, progress: Callable[[Operation], None] | None = None) -> ImportResult:
    """Apply the plan's creates and updates in file order; stop at the first failure and say where.

    Each run of consecutive creates of officials goes to the directory together (:meth:`LdapDirectory.create_people`:
    pipelined adds, with no pause between its chunks of 500), each reported applied (and to ``progress``) as
    the server answers; the rest one by one. When the server refuses an add, nothing more is sent; rows already
    in flight finish and are listed as applied when they were, the rest as not attempted.
    """
    result = ImportResult()
    todo = [op for op in plan.operations if op.action != "unchanged"]
    index = 0
    while index < len(todo):
        batch = _person_creates(todo, index) if plan.directory is not None else []
        if batch:
            if not _create_people(plan, batch, result, progress):
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


def _create_people(
    plan: ImportPlan, batch: list[Operation], result: ImportResult, progress: Callable[[Operation], None] | None
) -> bool:
    """Create the batch's officials; each one created goes to ``result.applied`` as the server answers. False
    (with ``result.failed`` and ``result.error`` set) when one was refused or the directory failed midway."""

    def created(position: int) -> None:
        result.applied.append(batch[position])
        if progress is not None:
            progress(batch[position])

    heard_before = len(result.applied)
    people = [op.new_person for op in batch if op.new_person is not None]
    try:  # the plan ran the checks on every value: not again (checked=True)
        outcomes = plan.directory.create_people(people, checked=True, on_created=created)  # type: ignore[union-attr]
    except DirectoryError as err:  # the connection was lost: the first row not heard from is the one that failed
        result.failed, result.error = batch[len(result.applied) - heard_before], str(err)
        return False
    for op, outcome in zip(batch, outcomes, strict=False):
        if outcome is not None:
            result.failed, result.error = op, str(outcome)
            return False
    return True


def _person_creates(todo: Sequence[Operation], start: int) -> list[Operation]:
    """The run of creates of officials starting at ``start``."""
    end = start
    while end < len(todo) and todo[end].new_person is not None:
        end += 1
    return list(todo[start:end])
