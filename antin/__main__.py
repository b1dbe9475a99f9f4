"""``python -m antin`` and the ``antin`` console script.

A command that runs until stopped takes its stop signals as requests (:mod:`antin.lifecycle`) from here, before
the commands and the kernel are imported, so that no moment of its start is unguarded.
"""

from __future__ import annotations

import sys

from antin import lifecycle

__all__ = ["main"]


def main() -> None:
    if lifecycle.is_serving(sys.argv[1:]):
        lifecycle.defer_stop_signals()
    from antin.cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
