"""gunicorn configuration used by ``antin serve`` (``gunicorn -c python:antin.gunicorn_conf antin.wsgi:app``)."""

from __future__ import annotations

from typing import Any

worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
proc_name = "antin"


def child_exit(_server: Any, worker: Any) -> None:
    # Metrics of a finished worker stay counted, but its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
