"""The README stays true: every setting and every `antin` subcommand is documented there."""

from __future__ import annotations

from pathlib import Path

import click

from antin.cli import cli
from scripts.settings_table import BEGIN, END, table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "antin") -> list[str]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def test_settings_table_is_current() -> None:
    documented = README[README.index(BEGIN) + len(BEGIN) : README.index(END)].strip()
    assert documented == table(), "run: .venv/bin/python scripts/settings_table.py --write"


def test_every_subcommand_is_in_the_readme() -> None:
    missing = [path for path in command_paths(cli) if f"`{path}" not in README]
    assert not missing, f"README.md does not document: {missing}"


def test_the_two_commands_are_in_the_readme() -> None:
    assert "make demo" in README and "make test" in README
