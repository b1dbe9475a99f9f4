"""The values of an import: each row's operation, the plan they make, and what applying it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from directory.files import Rejection
from directory.models import NewPerson
from directory.service import LdapDirectory

__all__ = ["Action", "ImportPlan", "ImportResult", "Operation"]

Action = Literal["create", "update", "unchanged"]


@dataclass(frozen=True)
class Operation:
    line: int
    kind: str
    key: str
    action: Action
    changes: tuple[str, ...] = ()  # the fields an update changes
    apply: Callable[[], None] | None = field(default=None, compare=False, repr=False)
    new_person: NewPerson | None = field(default=None, compare=False, repr=False)
    """A create of an official: applied with its neighbours in one pipelined batch rather than by ``apply``."""


@dataclass
class ImportPlan:
    operations: list[Operation] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    directory: LdapDirectory | None = field(default=None, repr=False)

    def count(self, action: Action) -> int:
        return sum(1 for op in self.operations if op.action == action)


@dataclass
class ImportResult:
    applied: list[Operation] = field(default_factory=list)
    failed: Operation | None = None
    error: str | None = None
    not_attempted: list[Operation] = field(default_factory=list)
