"""``antin directory import`` and ``export``: officials, units and groups in and out as CSV or LDIF."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from directory.cli.context import instance_of, json_option, open_directory
from directory.cli.listeners import announce
from directory.cli.output import print_import_report
from directory.instance import managed_slapd

if TYPE_CHECKING:
    from directory.slapd import ManagedSlapd

__all__ = ["export", "import_"]


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "ldif"]), default="auto")
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
@click.option("--skip-invalid", is_flag=True, help="Apply the valid rows even when some are rejected.")
@click.option(
    "--offline",
    is_flag=True,
    help="Load the new officials with slapadd, the managed slapd stopped meanwhile (a first import of many; "
    "no passwords, no updates).",
)
@json_option
@click.pass_context
def import_(
    ctx: click.Context, *, file: Path, fmt: str, dry_run: bool, skip_invalid: bool, offline: bool, as_json: bool
) -> None:
    """Import officials (CSV, UTF-8) or units, officials and groups (LDIF).

    Every row is validated first. With rejected rows nothing is written unless --skip-invalid is given.
    CSV columns: uid,name,unit,mail,employee_number,position,phone,party_card,status[,password].
    """
    from directory.transfer import apply_plan, apply_plan_offline, offline_refusal, plan_import, read_rows

    slapd = _offline_slapd(ctx) if offline else None
    if fmt == "auto":
        fmt = "ldif" if file.suffix.lower() == ".ldif" else "csv"
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise click.ClickException(f"{file} is not UTF-8 (byte {err.start})") from None
    rows, rejected = read_rows(text, "ldif" if fmt == "ldif" else "csv")
    d = open_directory(ctx)
    plan = plan_import(d, rows, rejected)
    report: dict[str, Any] = {
        "file": str(file),
        "dry_run": dry_run,
        "create": plan.count("create"),
        "update": plan.count("update"),
        "unchanged": plan.count("unchanged"),
        "rejected": [{"line": r.line, "key": r.key, "reason": r.reason} for r in plan.rejections],
        "changes": [
            {"line": op.line, "kind": op.kind, "key": op.key, "action": op.action, "fields": list(op.changes)}
            for op in plan.operations
            if op.action != "unchanged"
        ],
        "applied": 0,
    }
    for r in plan.rejections:
        click.echo(f"{file.name}:{r.line}: rejected {r.key}: {r.reason}", err=True)
    refusal = offline_refusal(plan, slapd) if slapd is not None else None
    if refusal is not None:
        raise click.ClickException(f"--offline: {refusal}")
    blocked = bool(plan.rejections) and not skip_invalid
    if dry_run or blocked:
        report["status"] = "dry-run" if dry_run else "nothing applied: fix the rejected rows or use --skip-invalid"
        print_import_report(report, as_json)
        if plan.rejections:
            ctx.exit(1)
        return
    todo = [op for op in plan.operations if op.action != "unchanged"]
    if slapd is not None:
        click.echo(f"loading {len(todo)} officials offline: the directory is stopped meanwhile", err=True)
        result = apply_plan_offline(plan, slapd)
    else:
        with click.progressbar(length=len(todo), label="importing", file=sys.stderr) as bar:
            result = apply_plan(plan, progress=lambda op: bar.update(1))
    report["applied"] = len(result.applied)
    if result.applied:
        extra = {"offline": True} if slapd is not None else {}
        announce(ctx, "directory:entries:import", file.name, applied=len(result.applied), **extra)
    if result.failed is not None:
        report["status"] = (
            f"stopped at line {result.failed.line} ({result.failed.key}): {result.error}; "
            f"{len(result.applied)} applied, {len(result.not_attempted) + 1} not applied"
        )
        report["not_applied"] = [op.line for op in [result.failed, *result.not_attempted]]
        print_import_report(report, as_json)
        ctx.exit(1)
    report["status"] = "applied"
    print_import_report(report, as_json)
    if plan.rejections:
        ctx.exit(1)


def _offline_slapd(ctx: click.Context) -> ManagedSlapd:
    """The managed slapd, stopped: this command starts it to plan, and stops it while slapadd loads."""
    slapd = managed_slapd(instance_of(ctx))
    if slapd is None:
        raise click.ClickException(
            "--offline loads into the managed slapd; for your own server, use slapadd (docs/directory.md)"
        )
    if slapd.is_running():
        raise click.ClickException(
            "--offline: the managed slapd is running (antin serve, antin demo, antin directory serve?): stop it "
            "first, since the directory is stopped while slapadd loads"
        )
    return slapd


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["ldif", "csv"]), default="ldif")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.option("--unit", help="CSV only: officials of this unit and its sub-units.")
@click.pass_context
def export(ctx: click.Context, fmt: str, output: Path | None, unit: str | None) -> None:
    """Export units, officials and groups (LDIF) or officials (CSV), without passwords."""
    from directory.transfer import export_csv, export_ldif

    d = open_directory(ctx)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        if fmt == "csv":
            for line in export_csv(d.iter_people(unit_code=unit)):
                out.write(line)
        else:
            out.write(export_ldif(d))
    finally:
        if output:
            out.close()
