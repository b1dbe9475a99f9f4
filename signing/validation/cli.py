"""``antin verify FILE.pdf``: verify every signature and document time-stamp of a PDF.

Exit status: 0 when every signature passed (TOTAL_PASSED), 1 when one did not or the PDF has no signature
(indication NO_SIGNATURE), 2 when the input is unusable (missing, empty, too large, not a PDF, truncated,
encrypted, unreadable, decode-limit) or a ``--trust`` file is not a certificate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from antin.kernel.settings import Settings
from signing.pades.reading.errors import UnusableInputError
from signing.settings import SigningSettings
from signing.validation.models import DocumentReport

__all__ = ["EXIT_NOT_PASSED", "EXIT_PASSED", "EXIT_UNUSABLE", "exit_status", "verify"]

EXIT_PASSED = 0
EXIT_NOT_PASSED = 1
EXIT_UNUSABLE = 2


def exit_status(report: DocumentReport) -> int:
    return EXIT_PASSED if report.all_passed else EXIT_NOT_PASSED


@click.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Also trust the root certificate(s) in this PEM or DER file (repeatable).",
)
@click.option("--html", "html_out", type=click.Path(path_type=Path, dir_okay=False), help="Write an HTML report.")
@click.option("--pdf", "pdf_out", type=click.Path(path_type=Path, dir_okay=False), help="Write a PDF report.")
@click.option(
    "--fetch/--no-fetch",
    default=None,
    help="Fetch CRLs/OCSP responses online when the document has none "
    "(default: ANTIN_SIGNING_VERIFY_FETCH_REVOCATION).",
)
def verify(
    file: Path,
    as_json: bool,
    trust: tuple[Path, ...],
    html_out: Path | None,
    pdf_out: Path | None,
    fetch: bool | None,
) -> None:
    """Verify the signatures and document time-stamps of FILE (ETSI EN 319 102-1 indications).

    Exit status: 0 every signature passed, 1 one did not (or there is none), 2 the input is unusable.
    """
    # Imported here: pyHanko and the report renderers cost a second of start-up every other command skips.
    from signing.validation.render import render_html, render_pdf, render_text
    from signing.validation.service import policy_from_settings, verify_file

    # Settings only (``antin`` loads them for this command): verifying needs no database, directory or token,
    # and starts quicker without them.
    settings = click.get_current_context().find_object(Settings)
    if settings is None:
        raise click.UsageError("no settings: run this through `antin verify`")
    try:
        policy = policy_from_settings(settings, trust)
    except (OSError, ValueError) as err:
        click.echo(f"antin verify: cannot use the trust roots: {err}", err=True)
        sys.exit(EXIT_UNUSABLE)
    if fetch is not None:
        import dataclasses

        policy = dataclasses.replace(policy, fetch_revocation=fetch)
    try:
        report = verify_file(file, policy, max_bytes=settings.section(SigningSettings).verify_max_bytes)
    except UnusableInputError as err:
        if as_json:
            click.echo(json.dumps({"error": err.reason, "detail": str(err)}, ensure_ascii=False))
        click.echo(f"antin verify: {file}: {err.message_vi} / {err}", err=True)
        sys.exit(EXIT_UNUSABLE)
    if html_out is not None:
        html_out.write_text(render_html(report), encoding="utf-8")
    if pdf_out is not None:
        pdf_out.write_bytes(render_pdf(report))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
    sys.exit(exit_status(report))
