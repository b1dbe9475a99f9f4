"""``antin audit``: read and verify the audit log of this instance."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from antin.kernel.audit.anchor import (
    Anchor,
    AnchorError,
    anchor_document,
    latest_anchor_file,
    load_anchor,
    take_anchor,
    write_anchor,
)
from antin.kernel.audit.anchor_check import check_anchor
from antin.kernel.audit.anchor_job import AnchorGapError, anchor_into_folder
from antin.kernel.audit.anchor_keys import (
    AnchorKeyError,
    TrustedKeys,
    anchor_signer,
    instance_keys,
    load_public_key_file,
    public_key_pem,
)
from antin.kernel.instance import Instance

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Read and verify the hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--anchor",
    "anchor_path",
    type=click.Path(exists=True, path_type=Path),
    help="An anchor file, or a folder of them (the newest is used); default: the newest in [audit] anchor_dir.",
)
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust only this anchor key (PEM, from `antin audit anchor-key`): checks an anchor without the HSM.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def audit_verify(instance: Instance, anchor_path: Path | None, public_key: Path | None, as_json: bool) -> None:
    """Check every entry of the chain; name the first broken or missing one. Exit 1 when broken.

    With an anchor (``antin audit anchor``), also fail when the log no longer holds the anchored entries: lost
    with the database (a failover, a restore) or rewritten. Exit 2 when the anchor itself is refused.
    """
    anchor_file = _anchor_file(instance, anchor_path)
    anchor = _load_or_exit(instance, anchor_file, public_key) if anchor_file else None
    result = instance.audit.verify()
    brk = result.first_break
    if brk is None and anchor is not None:
        brk = check_anchor(instance.database, anchor)
    if as_json:
        document: dict[str, object] = {
            "ok": brk is None,
            "entries_checked": result.entries_checked,
            "first_break": None if brk is None else {"seq": brk.seq, "reason": brk.reason},
        }
        if anchor is not None:
            document["anchor"] = {
                "file": str(anchor_file),
                "seq": anchor.seq,
                "anchored_at": anchor.anchored_at,
                "epoch": anchor.epoch,
                "restore": anchor.restore,
            }
        click.echo(json.dumps(document))
    elif brk is None:
        held = f"; holds anchor #{anchor.seq} of {anchor.anchored_at} ({anchor_file})" if anchor else ""
        if anchor is not None and anchor.restore is not None:
            lost = anchor.restore.get("lost_entries", 0)
            held += f"; epoch {anchor.epoch} began with a restore at {anchor.restore.get('restored_at')}"
            held += f" that lost {lost} {'entry' if lost == 1 else 'entries'} (reported then)" if lost else ""
        click.echo(f"audit log intact: {result.entries_checked} entries checked{held}")
    else:
        click.echo(f"audit log BROKEN at entry {brk.seq}: {brk.reason}", err=True)
    if brk is not None:
        raise SystemExit(1)


@audit.command("anchor")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A file, or a folder to add a new anchor file to; default: [audit] anchor_dir, else standard output.",
)
@click.pass_obj
def audit_anchor(instance: Instance, out: Path | None) -> None:
    """Write a signed anchor of the log's head, to keep outside the database (run it from a timer).

    Refuses (exit 1, nothing written) when the log no longer holds the newest anchor already in the folder, so
    that a loss is never papered over by a newer anchor of the shorter log.
    """
    folder = instance.settings.audit.anchor_dir
    out = out or folder
    try:
        if out is None:
            anchor, signature = take_anchor(instance.database, anchor_signer(instance), instance.clock)
            click.echo(json.dumps(anchor_document(anchor, signature), indent=1))
            return
        if out == folder or out.is_dir():
            written = anchor_into_folder(instance, out)
        else:
            anchor, signature = take_anchor(instance.database, anchor_signer(instance), instance.clock)
            written = write_anchor(anchor, signature, out)
        anchored = load_anchor(written, instance_keys(instance))
    except AnchorGapError as err:
        click.echo(f"{err}; no new anchor written", err=True)
        raise SystemExit(1) from err
    except (AnchorError, AnchorKeyError) as err:
        click.echo(str(err), err=True)
        raise SystemExit(2) from err
    click.echo(f"anchored entry #{anchored.seq} ({anchored.entries} entries) in {written}")


@audit.command("anchor-key")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it to this file.")
@click.pass_obj
def audit_anchor_key(instance: Instance, out: Path | None) -> None:
    """Print the anchor key's public key (PEM; made in the HSM on first use), to check anchors elsewhere with
    `antin audit verify --anchor FILE --public-key PEM`."""
    try:
        pem = public_key_pem(anchor_signer(instance).public_key())
    except AnchorKeyError as err:
        click.echo(str(err), err=True)
        raise SystemExit(2) from err
    if out is None:
        click.echo(pem, nl=False)
    else:
        out.write_text(pem, encoding="ascii")
        click.echo(f"anchor key written to {out}", err=True)


def _anchor_file(instance: Instance, given: Path | None) -> Path | None:
    where = given or instance.settings.audit.anchor_dir
    if where is None or not where.is_dir():
        return given  # a configured folder not made yet holds no anchor
    newest = latest_anchor_file(where)
    if newest is None and given is not None:  # asked for, and nothing to check against: not a pass
        click.echo(f"no anchor in {given} (anchor-*.json)", err=True)
        raise SystemExit(2)
    return newest


def _load_or_exit(instance: Instance, path: Path, public_key: Path | None) -> Anchor:
    try:
        trusted = TrustedKeys(keys=[load_public_key_file(public_key)]) if public_key else instance_keys(instance)
        return load_anchor(path, trusted)
    except (AnchorError, AnchorKeyError) as err:
        click.echo(str(err), err=True)
        raise SystemExit(2) from err


@audit.command("list")
@click.option("--event", help="Only this event, e.g. login:password:failure.")
@click.option("--actor", help="Only events by this actor.")
@click.option("--subject", help="Only events about this subject.")
@click.option("--since", type=click.DateTime(), help="Only events at or after this time (UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def audit_list(
    instance: Instance,
    event: str | None,
    actor: str | None,
    subject: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the newest entries first."""
    for rec in instance.audit.entries(event=event, actor=actor, subject=subject, since=since, limit=limit):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "seq": rec.seq,
                        "occurred_at": rec.occurred_at.isoformat(),
                        "event": rec.event,
                        "actor": rec.actor,
                        "subject": rec.subject,
                        "client_id": rec.client_id,
                        "ip": rec.ip,
                        "details": rec.details,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            who = rec.actor or "-"
            click.echo(f"{rec.seq:>7}  {rec.occurred_at:%Y-%m-%d %H:%M:%S}  {rec.event:<32} {who}  {rec.subject or ''}")
