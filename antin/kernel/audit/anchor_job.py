"""Writing anchors to the ``[audit] anchor_dir`` folder: from ``antin audit anchor`` or a server process's thread.

A new anchor is written only when the log still holds the folder's newest one: an anchor of a log that lost
entries would make the loss look like the log's true state to every later verify.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from antin.kernel.audit.anchor import AnchorError, latest_anchor_file, load_anchor, take_anchor, write_anchor
from antin.kernel.audit.anchor_check import check_anchor
from antin.kernel.audit.anchor_keys import AnchorKeyError, anchor_signer, instance_keys
from antin.kernel.audit.verify import ChainBreak
from antin.kernel.database import Database
from antin.kernel.periodic import PeriodicJob
from antin.kernel.settings import Settings

__all__ = ["EXTENSION_KEY", "AnchorGapError", "AnchorJob", "anchor_into_folder", "begin_epoch"]

EXTENSION_KEY = "antin.audit_anchors"
log = logging.getLogger("antin.audit")


class AnchorGapError(Exception):
    """The log no longer holds the folder's newest anchor: no new anchor is written."""

    def __init__(self, previous: Path, first_break: ChainBreak) -> None:
        super().__init__(f"audit log BROKEN at entry {first_break.seq}: {first_break.reason}")
        self.previous = previous
        self.first_break = first_break


class AnchoringInstance(Protocol):
    """What anchoring needs of the instance (``antin.kernel.instance.Instance``, which imports this package)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def database(self) -> Database: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...

    extensions: dict[str, Any]

    def service(self, key: str, build: Callable[[Any], Any]) -> Any: ...


def anchor_into_folder(instance: AnchoringInstance, folder: Path) -> Path:
    """Check the folder's newest anchor, then add a new one; :class:`AnchorGapError` or AnchorError if refused."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = latest_anchor_file(folder)
    epoch = 0
    if previous is not None:
        anchor = load_anchor(previous, instance_keys(instance))
        found = check_anchor(instance.database, anchor)
        if found is not None:
            raise AnchorGapError(previous, found)
        epoch = anchor.epoch
    anchor, signature = take_anchor(instance.database, anchor_signer(instance), instance.clock, epoch=epoch)
    return write_anchor(anchor, signature, folder)


def begin_epoch(instance: AnchoringInstance, folder: Path, epoch: int, restore: dict[str, Any]) -> Path:
    """After a restore: an anchor of the restored log that says what the restore lost, whatever the folder's newest
    anchor holds (the restore reported the loss). Later anchors and verifies go on from it."""
    folder.mkdir(parents=True, exist_ok=True)
    anchor, signature = take_anchor(
        instance.database, anchor_signer(instance), instance.clock, epoch=epoch, restore=restore
    )
    return write_anchor(anchor, signature, folder)


class AnchorJob(PeriodicJob):
    """A thread per server process that anchors the log every ``[audit] anchor_every_minutes``. Processes
    (workers, hosts) skip a turn when another wrote an anchor less than half an interval ago."""

    thread_name = "antin-audit-anchors"

    def __init__(self, instance: AnchoringInstance) -> None:
        super().__init__(instance.settings.audit.anchor_every_minutes * 60.0)
        self.instance = instance
        self.folder = instance.settings.audit.anchor_dir
        self._reported = ""

    def enabled(self) -> bool:
        return self.folder is not None and super().enabled()

    def run_once(self) -> Path | None:
        """Write an anchor unless a fresh one is there; the path written, or None."""
        assert self.folder is not None
        newest = latest_anchor_file(self.folder)
        if newest is not None and time.time() - newest.stat().st_mtime < self.interval / 2:
            return None
        return anchor_into_folder(self.instance, self.folder)

    def tick(self) -> None:
        try:
            self.run_once()
            self._reported = ""
        except (AnchorGapError, AnchorError, AnchorKeyError, SQLAlchemyError, OSError) as err:
            message = str(err) if not isinstance(err, SQLAlchemyError) else type(err).__name__
            if message != self._reported:  # once per state, not every interval of every worker
                log.error("the audit log was not anchored: %s", message)
            self._reported = message
