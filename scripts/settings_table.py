"""Print the settings reference (Markdown) that README.md carries between its SETTINGS markers.

python scripts/settings_table.py --write   # rewrite the README's table in place
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from antin.kernel.settings import env_name
from antin.settings import all_sections

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- SETTINGS:BEGIN -->", "<!-- SETTINGS:END -->"


def default_text(value: object) -> str:
    if value is None or value in ("", ()):
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def table() -> str:
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for section, cls in all_sections().items():
        for f in dataclasses.fields(cls):
            lines.append(f"| `{env_name(section, f.name)}` | {default_text(f.default)} | {f.metadata['doc']} |")
    return "\n".join(lines)


def main() -> None:
    text = table()
    if "--write" in sys.argv:
        readme = README.read_text(encoding="utf-8")
        start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
        README.write_text(readme[:start] + "\n" + text + "\n" + readme[end:], encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
