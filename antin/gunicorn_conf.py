"""gunicorn configuration used by ``antin serve`` (``gunicorn -c python:antin.gunicorn_conf antin.wsgi:app``)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from antin.gunicorn_worker import announce_ready, post_fork
from antin.heap_trace import start_heap_trace
from antin.heap_upkeep import start_heap_upkeep

__all__ = ["post_fork", "post_worker_init"]

worker_class = "antin.gunicorn_worker.StoppableThreadWorker"  # gthread, with stop signals made safe (see there)
timeout = 60  # antin serve gives [server] timeout (--timeout); a request past it has its worker replaced
graceful_timeout = 30
keepalive = 5
proc_name = "antin"
# gunicorn's control socket (for `gunicornc`) is one path per user ($HOME/.gunicorn/gunicorn.ctl): every instance on
# the machine took it over from the others and removed it when it stopped, which also took its stop a second longer.
# Signals (HUP, TERM, TTIN…) do what we need of it.
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """gunicorn hook (in the worker, the app loaded): tell the arbiter; keep the heap (``[server]
    heap_upkeep_seconds``); trace the heap when asked (``[server] heap_trace_minutes``)."""
    announce_ready(worker)
    instance = worker.wsgi.extensions.get("antin.instance") if hasattr(worker.wsgi, "extensions") else None
    if instance is not None:
        settings = instance.settings
        start_heap_upkeep(settings.server.heap_upkeep_seconds)
        start_heap_trace(Path(settings.data_dir) / "heap-trace", settings.server.heap_trace_minutes)


def child_exit(_server: Any, worker: Any) -> None:
    # Metrics of a finished worker stay counted, but its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def when_ready(_server: Any) -> None:
    # `antin serve` blocks SIGINT and SIGTERM across its exec into gunicorn (see antin.serve): the arbiter's handlers
    # are now in place, so one sent meanwhile is handled here, before any worker is forked (they inherit the mask).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
