"""gunicorn for ``antin serve``: a reload (SIGHUP) that keeps the old workers serving until the new ones are ready.

gunicorn's own arbiter stops the old workers as soon as it has forked the new ones; the app is not preloaded, so
until the new workers have imported and built the platform (seconds, over 10 s on a busy machine) no worker takes a
request: they wait in the listening socket's queue, and a balancer does not fail over since the socket stays open.
Here each new worker says it has loaded the app (``antin.gunicorn_worker.announce_ready``, gunicorn's
``post_worker_init`` hook, writes its pid to a pipe) and only then is an old worker told to stop gracefully, as
granian does (antin/granian_server.py). A new worker that fails to load the app, or is not ready within
``LOAD_TIMEOUT``, ends the reload: the old workers keep serving (gunicorn would have halted the whole server) and the
error is logged. Run as ``python -m antin.gunicorn_server`` with gunicorn's own arguments (``antin serve`` does).

A worker past its ``timeout`` (``[server] timeout``: a request in flight that long, or the worker silent, see
antin.in_flight) is killed at once and replaced, with one line that says so: gunicorn sent SIGABRT first, whose
handler in the worker waited on the stuck thread, then SIGKILL, and logged it as "Perhaps out of memory?".

Written against gunicorn 27's arbiter (``reload``, ``manage_workers``, ``reap_workers``, ``spawn_worker``,
``murder_workers``): check it at each upgrade of gunicorn.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from gunicorn.app.base import BaseApplication
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer
from gunicorn.glogging import Logger as GLogger
from gunicorn.workers.base import Worker

__all__ = ["READY_NOTE", "TIMED_OUT", "ReadyFirstArbiter", "main"]

READY_NOTE = struct.Struct("=i")
"""What a worker writes to the arbiter's pipe once it has loaded the app: its pid (4 bytes: one atomic write)."""
LOAD_TIMEOUT = 120
"""Seconds a reload waits for its new workers to load the app (as antin.granian_server's): not ``timeout``, a
request's limit, which an operator may set far shorter than a start on a busy machine takes."""
TIMED_OUT = (
    "Worker %s killed: a request in flight for over %d s, or the worker silent that long ([server] timeout); "
    "the requests it held are dropped, a new worker is started"
)


@dataclass
class Replacement:
    """A reload under way: new workers loading, old ones serving until as many new ones are ready."""

    old: list[int]  # oldest first, each stopped once a new worker is ready
    loading: dict[int, Worker]  # the new workers not yet ready, by pid
    ready: set[int] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)

    def note_ready(self, pids: list[int]) -> None:
        for pid in pids:
            if self.loading.pop(pid, None) is not None:
                self.ready.add(pid)


class ReadyFirstArbiter(Arbiter):
    def __init__(self, app: BaseApplication) -> None:
        super().__init__(app)
        # non-blocking both ways: the arbiter polls it, and a worker never waits on it
        self.ready_pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.replacement: Replacement | None = None
        self.stopping: set[int] = set()  # workers told to stop, answering what they hold: no longer counted
        # new workers of a reload that failed, told to stop while still loading: one may fail to load all the same
        self.abandoned: dict[int, Worker] = {}
        self.set_aside: dict[int, Worker] = {}  # workers hidden from gunicorn's own counting for a moment
        self.timed_out: set[int] = set()  # workers this arbiter killed for their timeout
        self.halting: int | None = None  # the signal gunicorn's stop sent every worker, while it waits for them
        logging.getLogger("gunicorn.error").addFilter(self.without_kill_notes_of_timed_out_workers)

    def murder_workers(self) -> None:
        for pid, worker in list(self.WORKERS.items()):
            try:
                silent = time.monotonic() - worker.tmp.last_update()
            except (OSError, ValueError):
                continue
            if silent > self.timeout and pid not in self.timed_out:
                self.timed_out.add(pid)
                self.logger().error(TIMED_OUT, pid, self.timeout)
                # at once: the stuck request cannot be finished, and a worker that waits on it cannot exit
                self.kill_worker(pid, signal.SIGKILL)
        self.timed_out &= set(self.WORKERS)

    def without_kill_notes_of_timed_out_workers(self, record: logging.LogRecord) -> bool:
        # gunicorn's "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?" for a worker this arbiter timed out
        args = record.args if isinstance(record.args, tuple) else ()
        return not (str(record.msg).startswith("Worker (pid:%s) was sent") and args and args[0] in self.timed_out)

    def reload(self) -> None:
        """gunicorn's reload (settings, logs, listeners, hooks, new workers), with the old workers kept aside so
        that it neither stops them nor waits for them; they are stopped as the new ones become ready."""
        if self.replacement is not None:  # a reload during a reload: the workers still loading are superseded
            self.stop_workers(list(self.replacement.loading), "superseded by a new reload")
            self.replacement = None
        old = sorted((pid for pid in self.WORKERS if pid not in self.stopping), key=lambda pid: self.WORKERS[pid].age)
        if not old:  # no worker serving (all gone): nothing to keep, gunicorn's own reload
            super().reload()
            return
        with self.workers_set_aside(set(self.WORKERS)):
            super().reload()
            new = dict(self.WORKERS)
        self.replacement = Replacement(old=old, loading=new)
        self.logger().info("Reload: %d new workers loading the app, %d old ones serving meanwhile", len(new), len(old))

    def manage_workers(self) -> None:
        if self.set_aside:
            return  # called by gunicorn's reload: only the new workers are in view, none to stop
        ready = self.read_ready_notes()  # read at every turn, so that the pipe never fills
        self.stop_again(ready)
        if self.replacement is not None:
            self.replacement.note_ready(ready)
            self.advance_replacement(self.replacement)
        if self.replacement is not None:
            return  # old and new workers side by side until the new ones are ready
        self.stopping &= set(self.WORKERS)
        with self.workers_set_aside(self.stopping):
            super().manage_workers()

    def wait_for_signals(self, timeout: float | None = 1.0) -> list[int]:
        # while new workers load, look at their readiness often: an old worker stops as soon as one is ready
        signals: list[int] = super().wait_for_signals(0.1 if self.replacement is not None else timeout)
        return signals

    def spawn_worker(self) -> int:
        # a worker forked while others are set aside must still close their files (the child's copy of gunicorn's
        # loop closes the siblings it sees in WORKERS); in the arbiter they stay aside
        self.WORKERS.update(self.set_aside)
        try:
            pid: int = super().spawn_worker()
        finally:
            for aside in self.set_aside:
                self.WORKERS.pop(aside, None)
        return pid

    def stop(self, graceful: bool = True) -> None:
        self.halting = signal.SIGTERM if graceful else signal.SIGQUIT
        try:
            super().stop(graceful)
        finally:
            self.halting = None

    def reap_workers(self) -> None:
        if self.halting is not None:  # gunicorn's stop waits here: a worker still starting may have missed its signal
            for pid in self.read_ready_notes():
                if pid in self.WORKERS:
                    self.kill_worker(pid, self.halting)
        while True:
            self.abandoned = {pid: worker for pid, worker in self.abandoned.items() if pid in self.WORKERS}
            try:
                super().reap_workers()
                return
            except HaltServer:  # a worker could not load the app: the server halts unless it was a replacement
                lost = self.lost_replacements(self.replacement) if self.replacement is not None else []
                # or one of a failed reload's, which failed to load before it read its stop signal
                given_up = [pid for pid in self.abandoned if pid not in self.WORKERS]
                if not lost and not given_up:
                    raise
                gone = [self.replacement.loading[pid] for pid in lost] if self.replacement is not None else []
                gone += [self.abandoned.pop(pid) for pid in given_up]
                for worker in gone:
                    worker.tmp.close()  # what gunicorn does for a worker that exits, skipped by its raise
                    self.cfg.child_exit(self, worker)

    def stop_again(self, ready: list[int]) -> None:
        """Tell again a worker told to stop before it was ready, now that it says it is: until gunicorn's worker has
        installed its own signal handlers (``init_signals``), a SIGTERM runs the arbiter's handler inherited through
        fork, which queues it in the worker's copy of the arbiter's queue, and the worker would load and serve on
        (after a stop, until gunicorn's ``graceful_timeout`` sends SIGKILL: see :meth:`reap_workers`)."""
        for pid in ready:
            if pid in self.stopping and pid in self.WORKERS:
                self.kill_worker(pid, signal.SIGTERM)

    def read_ready_notes(self) -> list[int]:
        notes = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.ready_pipe[0], 4096):
                notes += chunk
        return [pid for (pid,) in READY_NOTE.iter_unpack(notes)]

    def advance_replacement(self, replacement: Replacement) -> None:
        replacement.old = [pid for pid in replacement.old if pid in self.WORKERS]
        lost = self.lost_replacements(replacement)
        waited = time.monotonic() - replacement.started
        if lost or (replacement.loading and waited > LOAD_TIMEOUT):
            cause = "exited before it had loaded the app" if lost else f"had not loaded the app after {waited:.0f} s"
            self.logger().error(
                "Reload failed: a new worker %s (see its error above); the %d old workers keep serving, "
                "fix the cause and reload again",
                cause,
                len(replacement.old),
            )
            self.abandoned.update(replacement.loading)
            self.stop_workers(list(replacement.loading), "the reload failed")
            self.replacement = None
            return
        # as many old workers keep serving as new ones are missing; all go once every new one is ready
        still_needed = max(0, self.num_workers - len(replacement.ready)) if replacement.loading else 0
        retiring = replacement.old[: max(0, len(replacement.old) - still_needed)]
        replacement.old = replacement.old[len(retiring) :]
        self.stop_workers(retiring, "its replacement is ready")
        if not replacement.loading:
            self.logger().info("Reload done: %d new workers ready after %.1f s", len(replacement.ready), waited)
            self.replacement = None

    def logger(self) -> GLogger:
        assert self.log is not None, "gunicorn sets its logger up in __init__"
        return self.log

    def lost_replacements(self, replacement: Replacement) -> list[int]:
        return [pid for pid in replacement.loading if pid not in self.WORKERS]

    def stop_workers(self, pids: list[int], reason: str) -> None:
        for pid in pids:
            if pid in self.WORKERS and pid not in self.stopping:
                self.logger().info("Stopping worker %s gracefully: %s", pid, reason)
                self.stopping.add(pid)
                self.kill_worker(pid, signal.SIGTERM)

    @contextlib.contextmanager
    def workers_set_aside(self, pids: set[int]) -> Iterator[None]:
        self.set_aside = {pid: self.WORKERS.pop(pid) for pid in pids if pid in self.WORKERS}
        try:
            yield
        finally:
            self.WORKERS.update(self.set_aside)
            self.set_aside = {}


class AntinApplication(WSGIApplication):
    def run(self) -> None:
        # gunicorn's Application.run, less what `antin serve` never asks for (daemon, print_config, spew…)
        try:
            ReadyFirstArbiter(self).run()
        except RuntimeError as err:
            print(f"\nError: {err}\n", file=sys.stderr)
            sys.exit(1)


def main() -> None:
    AntinApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="antin serve").run()


if __name__ == "__main__":
    main()
