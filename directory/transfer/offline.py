"""Applying a plan offline: its new officials written as LDIF and loaded by ``slapadd -q`` into the managed slapd.

For a first import of many officials into a directory that has none yet (an HR export, on installation
day): slapadd does without the server's work per add (a connection's request, the ACLs, the overlays, one
write transaction with its index keys). What it does without is also why only some plans may go this way,
and why the directory is stopped while it loads:

- only creates of officials: an update, a unit or a group needs the server (the memberof, refint and unique
  overlays keep other entries right); a new official from a CSV file is in no group, so nothing is skipped;
- no passwords: slapadd stores what it is given, so a password would be kept unhashed (officials without one
  get theirs by reset, as after any import without passwords);
- the uniqueness the unique overlay would check is checked by :meth:`LdapDirectory.new_people_entries` just
  before slapd stops, and nobody else can write while it is stopped;
- no officials in the directory yet: ``-q`` leaves a database that cannot be used when a load fails half-way,
  so the directory (then only units, groups and policies: small) is written out by slapcat first and put back
  if slapadd fails; the result then says that nothing was applied;
- not under replication: entries loaded by slapadd reach the other providers only with ``-S`` and a resync.

The plan, its per-row report and the caller's audit entry are the online import's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from directory.errors import DirectoryError
from directory.ldap_client import write_ldif
from directory.transfer.operations import ImportPlan, ImportResult

if TYPE_CHECKING:
    from directory.slapd import ManagedSlapd

__all__ = ["OfflineImportRefusedError", "apply_plan_offline", "offline_refusal"]


class OfflineImportRefusedError(DirectoryError):
    """The plan (or the directory) cannot be applied offline; nothing was written."""


def offline_refusal(plan: ImportPlan, slapd: ManagedSlapd) -> str | None:
    """Why this plan cannot be applied offline into this slapd, or None when it can."""
    if slapd.replication is not None:
        return "the managed slapd replicates: slapadd's entries would not reach the other providers; import online"
    pending = [op for op in plan.operations if op.action != "unchanged"]
    if pending and plan.directory is not None and plan.directory.has_people():
        return "the directory already holds officials: --offline is for a first import; import online"
    for op in pending:
        if op.new_person is None:
            return f"line {op.line}: only new officials load offline, not a {op.kind} {op.action}; import online"
        if op.new_person.password is not None:
            return (
                f"line {op.line}: a password: slapadd would store it unhashed; import online, or leave the "
                "passwords out and reset them"
            )
    return None


def apply_plan_offline(plan: ImportPlan, slapd: ManagedSlapd) -> ImportResult:
    """Stop slapd, load the plan's new officials with ``slapadd -q``, start slapd again; all applied, or none."""
    reason = offline_refusal(plan, slapd)
    if reason is not None:
        raise OfflineImportRefusedError(reason)
    if plan.directory is None:
        raise OfflineImportRefusedError("the plan has no directory")
    directory = plan.directory
    todo = [op for op in plan.operations if op.action != "unchanged"]
    if not todo:
        return ImportResult()
    people = [op.new_person for op in todo if op.new_person is not None]
    entries = directory.new_people_entries(people, checked=True)  # the plan's checks, not run twice
    error: str | None = None
    slapd.stop()
    try:
        with tempfile.TemporaryDirectory(prefix="antin-offline-") as folder:
            before, load = Path(folder) / "before.ldif", Path(folder) / "officials.ldif"
            slapd.slapcat(before)
            with load.open("w", encoding="utf-8") as out:
                for start in range(0, len(entries), 5000):
                    out.write(write_ldif(entries[start : start + 5000]))
            try:
                slapd.slapadd(load, quick=True)
            except DirectoryError as err:
                error = f"{err}; the directory was put back as it was before the load"
                slapd.wipe_database()
                slapd.slapadd(before, quick=True)
    finally:
        slapd.start()
    if error is None:
        return ImportResult(applied=todo)
    return ImportResult(failed=todo[0], error=error, not_attempted=todo[1:])
