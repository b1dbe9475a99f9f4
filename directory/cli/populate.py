"""``antin directory generate`` and ``seed-demo``: filling the directory for scale work and demonstrations."""

from __future__ import annotations

from collections.abc import Callable

import click

from directory.cli.context import instance_of, json_option, open_directory, read_secret_stdin
from directory.cli.output import echo_json
from directory.instance import managed_slapd

__all__ = ["generate", "seed_demo_command"]


@click.command()
@click.option("--officials", type=click.IntRange(1, 2_000_000), required=True, help="How many officials.")
@click.option("--seed", type=int, default=2025, help="Random seed (the same seed gives the same directory).")
@click.option("--password-stdin", is_flag=True, help="The password every generated official gets.")
@click.option("--method", type=click.Choice(["auto", "server", "slapadd"]), default="auto")
@json_option
@click.pass_context
def generate(
    ctx: click.Context, *, officials: int, seed: int, password_stdin: bool, method: str, as_json: bool
) -> None:
    """Fill the directory with a realistic synthetic Party organisation, for scale work.

    slapadd (offline, fastest) is used with a managed slapd that is not running; otherwise the entries go
    through the server in batches. Every official gets the same password (printed unless given).
    """
    from directory.generator import DEFAULT_PASSWORD, generate_directory

    password = read_secret_stdin("a password") if password_stdin else DEFAULT_PASSWORD
    slapd = managed_slapd(instance_of(ctx))
    if method == "auto":
        method = "slapadd" if slapd is not None and not slapd.is_running() else "server"
    if method == "slapadd":
        if slapd is None:
            raise click.ClickException("--method slapadd needs the managed slapd")
        summary = generate_directory(
            None, officials=officials, seed=seed, password=password, slapd=slapd, progress=_stderr_progress()
        )
    else:
        summary = generate_directory(
            open_directory(ctx), officials=officials, seed=seed, password=password, progress=_stderr_progress()
        )
    data = {**summary, "password": None if password_stdin else password}
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"generated {summary['units']} units and {summary['officials']} officials "
            f"in {summary['seconds']:.1f} s ({summary['method']})"
        )
        if not password_stdin:
            click.echo(f"every generated official's password: {password}")


def _stderr_progress() -> Callable[[int, int], None]:
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != state["last"]:
            state["last"] = percent
            click.echo(f"\r  {done}/{total} ({percent}%)", err=True, nl=done >= total)

    return report


@click.command("seed-demo")
@json_option
@click.pass_context
def seed_demo_command(ctx: click.Context, as_json: bool) -> None:
    """Add the demonstration units, officials and roles (idempotent); print the demo accounts."""
    from directory.demo_data import seed_demo

    accounts = seed_demo(open_directory(ctx))
    if as_json:
        echo_json([{"uid": u, "password": p, "role": r} for u, p, r in accounts])
        return
    for uid, password, role in accounts:
        click.echo(f"{uid:<16} {password:<20} {role}")
