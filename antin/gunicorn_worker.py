"""The gunicorn worker of ``antin serve``: gthread, with stop signals that can neither hang a worker nor be lost.

What ``scripts/stop_soak.py`` found in gunicorn's own worker, under CPU load:

- Its signal handlers take locks: SIGTERM queues a callback (a ``queue.Queue``), SIGINT and SIGQUIT shut the thread
  pool down (its shutdown lock). A signal that lands while the main thread itself holds that lock (it takes both in
  its event loop) waits for it for ever; the arbiter SIGKILLed the worker after ``graceful_timeout`` (30 s), seen
  with gdb on a stuck worker. Here a handler only sets a flag, or ends a process that has nothing to finish.
- A worker still loading the platform (seconds when busy) looked at SIGTERM only once it served: ``antin serve``
  stopped during its start took up to 13 s.
- Between the fork and the worker's own handlers, the arbiter's handler (inherited) queued a stop signal into the
  worker's copy of the arbiter's queue, where nobody reads it: the worker then served until SIGKILLed.
- After its last request, the worker's interpreter finalisation joins the pool's threads and collects a large heap
  (seconds when busy, and a thread stuck in a call would hold it): the answered worker ends with ``os._exit``.

And its heartbeat (what gunicorn's ``timeout`` watches) stops at the start of its oldest request in flight
(``antin.in_flight``): gthread's main thread beat whatever its request threads did, so a request stuck in the app held
its thread for ever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import selectors
import signal
import sys
from types import FrameType
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from antin.gunicorn_server import READY_NOTE
from antin.in_flight import InFlight

__all__ = ["StoppableThreadWorker", "announce_ready", "post_fork"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class StoppableThreadWorker(ThreadWorker):
    arbiter_queue: Any = None
    """The arbiter's signal queue as this worker inherited it (see :func:`post_fork`)."""
    ready_fd: int | None = None
    """Where this worker says it has loaded the app (antin.gunicorn_server's arbiter reads it during a reload)."""
    in_flight = InFlight()
    """The requests this worker serves (a class attribute: one worker a process)."""

    def handle_request(self, req: Any, conn: Any) -> Any:
        key = self.in_flight.begin()
        try:
            return super().handle_request(req, conn)
        finally:
            self.in_flight.end(key)

    def notify(self) -> None:
        beat = self.in_flight.heartbeat()
        os.utime(self.tmp.fileno(), (beat, beat))

    def init_signals(self) -> None:
        super().init_signals()
        # the gthread loop waits in select(): a byte on this pipe (written by the C-level handler, no lock) wakes it
        self.poller.register(self.PIPE[0], selectors.EVENT_READ, _drain)
        if self.arbiter_queue is not None and _holds_a_stop(self.arbiter_queue):
            os._exit(0)  # stopped between the fork and now: nothing started yet

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # SIGTERM: answer what is in flight, then go
        if not self.booted:
            os._exit(0)
        self.alive = False

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:  # SIGINT, SIGQUIT: at once
        os._exit(0)

    def run(self) -> None:
        super().run()  # returns once the requests in flight are answered (or graceful_timeout passed)
        self.log.info("Worker exiting (pid: %s)", self.pid)
        logging.shutdown()
        sys.stderr.flush()
        os._exit(0)


def post_fork(server: Any, worker: Any) -> None:
    """gunicorn hook (in the new worker): keep the arbiter's queue, which catches a stop until the worker's handlers,
    and the pipe on which it says it is ready."""
    if isinstance(worker, StoppableThreadWorker):
        worker.arbiter_queue = server.SIG_QUEUE
        if isinstance(ready_pipe := getattr(server, "ready_pipe", None), tuple):
            os.close(ready_pipe[0])  # the arbiter's end
            worker.ready_fd = ready_pipe[1]


def announce_ready(worker: Any) -> None:
    """gunicorn hook ``post_worker_init`` (in the worker, the app loaded): tell the arbiter, which stops an old worker
    of a reload only then (antin.gunicorn_server)."""
    if isinstance(worker, StoppableThreadWorker) and worker.ready_fd is not None:
        with contextlib.suppress(OSError):  # a full pipe (never: 4 bytes a worker) or a gone arbiter
            os.write(worker.ready_fd, READY_NOTE.pack(worker.pid))


def _holds_a_stop(signals: Any) -> bool:
    found = False
    with contextlib.suppress(queue.Empty):
        while True:
            found |= signals.get_nowait() in STOP_SIGNALS
    return found


def _drain(fileobj: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fileobj, 64):
            pass
