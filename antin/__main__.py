"""``python -m antin`` and the ``antin`` console script.

A command that runs until stopped takes its stop signals as requests (:mod:`antin.lifecycle`) from here, before
the commands and the kernel are imported, so that no moment of its start is unguarded.
"""

from __future__ import annotations

import gc
import sys

from antin import lifecycle

__all__ = ["main"]


def main() -> None:
    if lifecycle.is_serving(sys.argv[1:]):
        lifecycle.defer_stop_signals()
    from antin.cli import main as run_cli

    try:
        run_cli()
    finally:
        # The command is done and has released what it held. The interpreter's finalisation would still collect
        # garbage over the whole heap several times (pyHanko, SQLAlchemy, Flask and the rest): 3-4 s after
        # `antin demo` had stopped everything, on a busy machine (seen with gdb in finalize_modules). Frozen, the
        # heap is left to the operating system; modules are still torn down and atexit handlers still run.
        gc.freeze()


if __name__ == "__main__":
    main()
