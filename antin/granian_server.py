"""granian as the server of ``antin serve --server granian``: the same WSGI app, workers, reload and stop as gunicorn.

``antin serve`` runs this module (``python -m antin.granian_server``) after it checked the settings and the database,
with SIGINT and SIGTERM blocked across its exec (see antin.serve); it is not meant to be run by hand.

What it adds to granian's own server (2.8), for what the reload and stop tests of ``antin serve`` and their scripts
found (figures in docs/production.md):

- One listening socket shared by every worker (inherited at fork), as gunicorn has, instead of granian's one
  SO_REUSEPORT socket per worker on Linux: a worker stopped by a reload (SIGHUP) resets the connections still queued
  on its own socket (granian itself warns of it unless the ``net.ipv4.tcp_migrate_req`` sysctl is on).
- Stop signals: let through once granian's handlers are in place; a worker still loading the app (seconds on a busy
  machine) exits at once on one, where it would have swallowed it in its copy of the main process' handler; a
  worker that answered its last request ends with ``os._exit``, as gunicorn's does in antin.gunicorn_worker (the
  interpreter's finalisation would join the app's threads).
- A stopping worker first stops taking connections, then, a moment later, shuts its connections down: granian does
  both at once, and a connection it had just accepted, whose request had not arrived yet, counted as idle and was
  closed unanswered (1–5 requests per reload under load here).
- A reload (SIGHUP) stops an old worker only once its replacement has loaded the app, one worker at a time: granian
  waited a fixed 3.5 s, and a replacement still loading (longer on a busy machine) left no worker to answer.
- A stop signal the kernel hands to one of granian's threads instead of the worker's main thread is still handled
  (see :func:`stop_accepting_then_stop`).
- A worker that ends because the whole process group got SIGINT (Ctrl-C) is a stop, not a failure: exit code 0.
- A worker whose request has run past ``[server] timeout``, or that stayed silent that long (its heartbeat, see
  antin.in_flight), is killed and replaced with one line logged, as gunicorn's arbiter does: granian has no limit on
  a request's time, and a request stuck in the app held its thread for ever.
- A worker whose main process died (SIGKILL) stops gracefully, as gunicorn's do, instead of serving on as an orphan.
- The heap upkeep of ``[server] heap_upkeep_seconds`` and the heap trace of ``[server] heap_trace_minutes``, as
  gunicorn's ``post_worker_init`` starts them.
- Several addresses (``--bind`` more than once, as gunicorn takes them): granian's worker serves one socket, so each
  worker runs one of granian's Rust servers per address, all calling the same app (one loaded copy per worker), each
  with ``[server] threads`` blocking threads of its own; a stop or reload stops every address of the worker at once.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import granian._signals
import granian.server.mp
from granian._granian import WorkerSignal
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import logger
from granian.net import SocketSpec, UnixSocketSpec  # type: ignore[attr-defined]
from granian.server.mp import MPServer

from antin.granian_addresses import every_address, remove_if_stale
from antin.heap_trace import start_heap_trace
from antin.heap_upkeep import start_heap_upkeep
from antin.in_flight import InFlight, track_requests

__all__ = ["GRACEFUL_TIMEOUT", "HEADER_READ_TIMEOUT_MS", "AntinGranian", "main"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACEFUL_TIMEOUT = 30
"""Seconds a stopping worker has to answer what it holds before it is killed (gunicorn's ``graceful_timeout``)."""
HEADER_READ_TIMEOUT_MS = 10_000
"""A request's headers must arrive within this (nginx's ``client_header_timeout`` in docs/production.md)."""
HEADER_BUFFER_BYTES = 64 * 1024
"""Largest request head (request line and headers) read; more is refused with 431, as gunicorn refuses a header
line over 8 kB (granian's default, 408 kB, let a 400 kB header through)."""
ACCEPTED_GRACE = 0.2
"""Seconds between a stopping worker's last accept and its connections' shutdown: a connection it accepted reads its
request meanwhile, and is then answered instead of closed as idle."""
LOAD_TIMEOUT = 120
"""Seconds a reload waits for a new worker to load the app before it stops the old one all the same."""
WSGI_APP = "antin.wsgi:app"
LOG_CONFIG = {
    "formatters": {"generic": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"}},
    "handlers": {"console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
    "loggers": {"_granian": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
"""granian's own lines as gunicorn writes its own: on stderr, with the time and the process (granian: stdout)."""
HEARTBEAT_SECONDS = 1.0
"""How often a worker beats, and how often the main process looks at the beats."""
TIMED_OUT = (
    "worker-{idx} (pid {pid}) killed: a request in flight for over {timeout} s, or the worker silent that long"
    " ([server] timeout); the requests it held are dropped, a new worker is started"
)


class AntinGranian(MPServer):
    """granian's multi-process server with one shared socket and the stop rules of ``antin serve``."""

    def __init__(self, *args: Any, request_timeout: int, more_binds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.more_binds = more_binds  # the addresses after the first (granian's own), served by every worker too
        self.more_listeners: list[Any] = []  # their sockets' handles, built with the first, inherited at fork
        # set by a worker once it loaded the app (fork: the workers share it); a reload replaces one worker at a time
        self.app_loaded = multiprocessing.get_context("fork").Event()
        self.request_timeout = request_timeout
        self.main_pid = os.getpid()  # built in the main process, which then serves
        # a file per worker (named by its pid) whose time the worker moves (fork: the workers know the folder)
        self.heartbeats = Path(tempfile.mkdtemp(prefix="antin-granian-"))
        self.timed_out: set[int] = set()

    def watch_heartbeats(self) -> None:
        """The main process' watchdog (a thread): kill a worker whose heartbeat is older than the timeout, and have
        the main loop start another, as for a worker that died."""
        while not self.interrupt_signal:
            time.sleep(HEARTBEAT_SECONDS)
            workers: list[Any] = list(self.wrks)
            for worker in workers:
                pid = worker.inner.pid
                try:
                    silent = time.monotonic() - (self.heartbeats / str(pid)).stat().st_mtime
                except FileNotFoundError:
                    continue  # still loading the app (a reload waits LOAD_TIMEOUT for it)
                if silent <= self.request_timeout or pid in self.timed_out or self.interrupt_signal:
                    continue
                self.timed_out.add(pid)
                logger.error(TIMED_OUT.format(idx=worker.idx + 1, pid=pid, timeout=self.request_timeout))
                worker.interrupt_by_parent = True  # no "Unexpected exit" besides the line above
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self.respawned_wrks.pop(worker.idx, None)  # a timeout is not a crash loop (granian would exit)
                self.interrupt_children.append(worker.idx)
                self.main_loop_interrupt.set()
            current = {str(worker.inner.pid) for worker in workers}
            for beat in self.heartbeats.iterdir():
                if beat.name not in current:
                    beat.unlink(missing_ok=True)  # a worker gone or stopping: its own descriptor beats on, unseen

    def _init_shared_socket(self) -> None:
        # the path granian takes outside Linux: one socket built here, its handle inherited by every worker
        first = self._bind_addr_fmt  # unix:PATH, HOST:PORT or [IPv6]:PORT
        shared_handle, *self.more_listeners = self._listen_on([first, *self.more_binds])
        self._shd = shared_handle
        self._sfd = shared_handle.get_fd()
        self._ssp = None
        shared = socket.socket(fileno=self._sfd)
        shared.set_inheritable(True)
        self._sso = shared
        for bind in self.more_binds:
            logger.info(f"Listening at: http://{bind}")

    def _listen_on(self, binds: list[str]) -> list[Any]:
        """A listening socket's handle per address; one that cannot be had (in use, no such address) ends the start
        with one line that names it (granian: a traceback and a Rust backtrace) and exit code 1."""
        handles: list[Any] = []
        for bind in binds:
            if bind.startswith("unix:") and remove_if_stale(Path(bind[len("unix:") :])):
                logger.info(f"removed {bind}, which nobody listened on")
            try:
                handles.append(_listener_spec(bind, self.backlog, self.uds_permissions).build())
            except (RuntimeError, OSError) as err:
                logger.error(f"cannot listen on {bind}: {str(err).splitlines()[0]}")
                for made in binds[: len(handles)]:  # the socket files made so far are this server's
                    if made.startswith("unix:"):
                        Path(made[len("unix:") :]).unlink(missing_ok=True)
                shutil.rmtree(self.heartbeats, ignore_errors=True)
                raise SystemExit(1) from None
        return handles

    def _unlink_pidfile(self) -> None:
        super()._unlink_pidfile()  # type: ignore[no-untyped-call]
        for bind in self.more_binds:  # as granian removes its own address' socket file
            if bind.startswith("unix:"):
                Path(bind[len("unix:") :]).unlink(missing_ok=True)

    def shutdown(self, exit_code: int = 0) -> None:
        if self.interrupt_signal:
            # a worker that ended before this process handled the same SIGINT (sent to the group) was stopping too
            self.interrupt_children.clear()
        try:
            super().shutdown(exit_code)  # type: ignore[no-untyped-call]
        finally:
            shutil.rmtree(self.heartbeats, ignore_errors=True)

    def _respawn_workers(self, workers: list[int], spawn_target: Any, target_loader: Any, delay: float = 0) -> None:
        for idx in workers:
            self.respawned_wrks[idx] = time.monotonic()
            old: Any = self.wrks.pop(idx)
            self.app_loaded.clear()
            new: Any = self._spawn_worker(idx=idx, target=spawn_target, callback_loader=target_loader)
            new.start()
            self.wrks.insert(idx, new)
            self._wait_until_loaded(new)
            old.terminate()  # it answers what it holds, then ends (granian's worker), or is killed after the timeout
            old.join(self.workers_kill_timeout)
            if old.is_alive():
                old.kill()
                old.join()
        self._metrics.incr_spawn(len(workers))

    def _wait_until_loaded(self, worker: Any) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT
        while not self.app_loaded.wait(0.1):
            if self.interrupt_signal or not worker.is_alive() or time.monotonic() > deadline:
                return


def load_app_stoppable(server: AntinGranian) -> Callable[[str], Any]:
    """The worker's app loader: a stop signal before granian's worker handlers exist ends the worker at once."""

    def load(target: str) -> Any:
        for sig in STOP_SIGNALS:
            signal.signal(sig, _exit_at_once)
        if server.interrupt_signal:
            os._exit(0)  # the stop reached this worker's copy of the main process' handler, between fork and here
        from granian._internal import load_target

        app: Any = load_target(target)
        instance = app.extensions.get("antin.instance") if hasattr(app, "extensions") else None
        if instance is not None:
            settings = instance.settings
            start_heap_upkeep(settings.server.heap_upkeep_seconds)
            start_heap_trace(Path(settings.data_dir) / "heap-trace", settings.server.heap_trace_minutes)
        in_flight = InFlight()
        beat_from(server.heartbeats / str(os.getpid()), in_flight, parent=server.main_pid)
        server.app_loaded.set()
        return track_requests(app, in_flight)

    return load


def beat_from(path: Path, in_flight: InFlight, parent: int) -> None:
    """Move ``path``'s time to the worker's heartbeat every HEARTBEAT_SECONDS, from a thread of its own: it stops
    when the oldest request in flight started, or when the worker cannot run Python any more. A worker whose main
    process is gone (killed with SIGKILL) stops as on SIGTERM, as gunicorn's workers do: granian's served on for ever,
    orphans holding the address."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)

    def beat() -> None:
        while True:
            if os.getppid() != parent:
                logger.info(f"main process {parent} gone: worker (pid {os.getpid()}) stopping")
                os.kill(os.getpid(), signal.SIGTERM)  # handled by stop_accepting_then_stop, from any thread
                shutil.rmtree(path.parent, ignore_errors=True)  # the main process' folder of beats: nobody reads it
                return
            beat = in_flight.heartbeat()
            os.utime(descriptor, (beat, beat))
            time.sleep(HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="antin-heartbeat", daemon=True).start()


def serve_wsgi_then_exit(server: AntinGranian, *args: Any, **kwargs: Any) -> None:
    """The worker process: granian's WSGI worker on every address, then an exit that does not wait on the app's
    threads."""
    first = args[3][0][1]  # (spec, shared handle) from AntinGranian._init_shared_socket
    listeners = [first, *server.more_listeners]
    more_stops = [WorkerSignal() for _ in server.more_listeners]
    more_stopped = [threading.Event() for _ in server.more_listeners]
    for stop, stopped in zip(more_stops, more_stopped, strict=True):
        stop.add_cb(stopped.set)  # granian calls it once the server's connections are answered
    # granian's worker reads these names when it starts serving (this process' copies: it is a forked worker)
    granian._signals.set_sync_signals = lambda: stop_accepting_then_stop(
        [listener.get_fd() for listener in listeners], more_stops
    )
    one_address = granian.server.mp.WSGIWorker  # type: ignore[attr-defined]
    granian.server.mp.WSGIWorker = every_address(one_address, server.more_listeners, more_stops)  # type: ignore[attr-defined,assignment]
    MPServer._spawn_wsgi_worker(*args, **kwargs)  # returns once the first address' server has stopped
    for stopped in more_stopped:
        stopped.wait(GRACEFUL_TIMEOUT)  # the main process kills the worker after as long in any case
    _forget_metrics_of_this_process()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def stop_accepting_then_stop(listeners: list[int], more_stops: list[Any]) -> Any:
    """The worker's stop signals: no more accepts at once, the connections' graceful shutdown ACCEPTED_GRACE later
    (on every address: ``more_stops`` are the other addresses' servers' signals).

    Python runs a signal's handler in the main thread only, and granian's worker parks it in an endless wait: a stop
    signal that the kernel handed to another thread (one of granian's, while the main thread had signals blocked for a
    moment) was never handled, and the worker served until killed (seen once in ten SIGINTs to the group). The C-level
    handler writes the signal to a pipe from whatever thread it lands on, and a thread of ours reads it.
    """
    stop = WorkerSignal()
    stopping = threading.Lock()

    def begin_stop() -> None:
        if not stopping.acquire(blocking=False):
            return  # already stopping
        # The listening socket is shared with every process of the server: this worker alone stops taking from its
        # queue when its descriptor becomes a socket nobody connects to (its accept loop then finds nothing).
        nobody = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        nobody.bind("")  # an unnamed (abstract) address
        nobody.listen(1)
        nobody.setblocking(False)
        for listener in listeners:
            os.dup2(nobody.fileno(), listener)
        nobody.close()
        threading.Timer(ACCEPTED_GRACE, lambda: [each.set() for each in (stop, *more_stops)]).start()

    reader, writer = os.pipe()
    os.set_blocking(writer, False)
    signal.set_wakeup_fd(writer)
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda _sig, _frame: begin_stop())
    threading.Thread(target=_stop_on_wakeup, args=(reader, begin_stop), name="antin-stop-signals", daemon=True).start()
    return stop


def _stop_on_wakeup(reader: int, begin_stop: Callable[[], None]) -> None:
    while received := os.read(reader, 64):
        if any(number in received for number in STOP_SIGNALS):
            begin_stop()


def build_server(arguments: argparse.Namespace) -> AntinGranian:
    first, *more = arguments.bind
    uds = Path(first[len("unix:") :]) if first.startswith("unix:") else None
    host, port = ("127.0.0.1", 0) if uds else _host_and_port(first)
    return AntinGranian(
        WSGI_APP,
        address=host,
        port=port,
        uds=uds,
        interface=Interfaces.WSGI,
        workers=arguments.workers,
        blocking_threads=arguments.threads,
        http=HTTPModes.http1,  # behind a reverse proxy, as gunicorn: HTTP/1.1
        websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=HEADER_BUFFER_BYTES),
        respawn_failed_workers=True,  # as gunicorn's arbiter: a worker that died is replaced
        workers_kill_timeout=GRACEFUL_TIMEOUT,
        log_access=False,  # as gunicorn in antin.gunicorn_conf: the proxy keeps the access log
        request_timeout=arguments.timeout,
        more_binds=more,
        log_dictconfig=LOG_CONFIG,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m antin.granian_server", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True, action="append", help="HOST:PORT or unix:PATH, once per address")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--timeout", type=int, required=True, help="[server] timeout, in seconds")
    server = build_server(parser.parse_args(argv))
    # granian installs its main handlers before it calls the startup hooks and before any worker is forked: a stop
    # sent while `antin serve` handed over was held (blocked) and is handled now, workers inherit the open mask
    server.on_startup(_let_stop_signals_through)
    server.on_startup(lambda: threading.Thread(target=server.watch_heartbeats, daemon=True).start())
    spawn_target = functools.partial(serve_wsgi_then_exit, server)  # the workers are forked: nothing is pickled
    server.serve(spawn_target=spawn_target, target_loader=load_app_stoppable(server))


def _listener_spec(bind: str, backlog: int, uds_permissions: int | None) -> Any:
    if bind.startswith("unix:"):
        return UnixSocketSpec(str(Path(bind[len("unix:") :]).resolve()), backlog, uds_permissions)
    host, port = _host_and_port(bind)
    return SocketSpec(host, port, backlog)


def _host_and_port(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), int(port)


def _let_stop_signals_through() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _exit_at_once(_sig: int, _frame: object) -> None:
    os._exit(0)  # nothing is served yet: nothing to finish


def _forget_metrics_of_this_process() -> None:
    # what gunicorn_conf.child_exit does in the arbiter: the finished worker's live gauges go, its counts stay
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
