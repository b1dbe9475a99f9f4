"""Import and export: CSV (UTF-8, officials) and LDIF (units, officials, groups).

An import is planned before anything is written: every row is parsed and validated, against the file and
against the directory, and each becomes a create, an update, "unchanged", or a rejection with its line and
reason. Only then is the plan applied (unless it is a dry run), and the result says exactly which rows were
applied: nothing is half-imported silently.

The files are read and written by :mod:`directory.files`; ``planning`` makes the plan, ``applying`` applies
it (``offline`` by slapadd, for a first load of many officials), ``operations`` holds the plan's values.
"""

from __future__ import annotations

from directory.files import CSV_COLUMNS, Rejection, export_csv, export_ldif, read_rows
from directory.transfer.applying import apply_plan
from directory.transfer.offline import OfflineImportRefusedError, apply_plan_offline, offline_refusal
from directory.transfer.operations import ImportPlan, ImportResult, Operation
from directory.transfer.planning import plan_import

__all__ = [
    "CSV_COLUMNS",
    "ImportPlan",
    "ImportResult",
    "OfflineImportRefusedError",
    "Operation",
    "Rejection",
    "apply_plan",
    "apply_plan_offline",
    "export_csv",
    "export_ldif",
    "offline_refusal",
    "plan_import",
    "read_rows",
]
