"""Listening addresses under granian. Several (``antin serve --bind A --bind B``): granian's worker serves one socket,
so antin.granian_server has each worker run one of granian's servers per address. They share the worker's loaded app
and callback scheduler; each has its own blocking threads and its own stop signal (a granian server takes its stop
signal for itself: a second server given the same one panics)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EveryAddress", "every_address", "remove_if_stale"]


def every_address(one_address: Any, more_listeners: list[Any], more_stops: list[Any]) -> Callable[..., Any]:
    """granian's WSGI worker class made to serve ``more_listeners`` too: one of its servers per address, each stopped
    by its own signal of ``more_stops`` (a granian server takes its stop signal for itself)."""

    def build(worker_id: int, sock: Any, *rest: Any) -> Any:
        servers = [(one_address(worker_id, sock, *rest), sock[1], None)]
        for listener, stop in zip(more_listeners, more_stops, strict=True):
            servers.append((one_address(worker_id, (None, listener), *rest), listener, stop))
        return EveryAddress(servers)

    return build


class EveryAddress:
    """granian's worker with one server per address: ``serve_*`` starts each with the method its socket needs."""

    def __init__(self, servers: list[tuple[Any, Any, Any]]) -> None:
        self.servers = servers  # (granian's WSGIWorker, its socket's handle, its stop signal: None for the first)

    def _serve(self, runtime: str, scheduler: Any, loop: Any, stop: Any) -> None:
        for server, listener, own_stop in self.servers:
            method = f"serve_{runtime}_uds" if listener.is_uds() else f"serve_{runtime}"
            getattr(server, method)(scheduler, loop, own_stop or stop)  # returns at once: the server runs in Rust

    def serve_mtr(self, scheduler: Any, loop: Any, stop: Any) -> None:
        self._serve("mtr", scheduler, loop, stop)

    serve_mtr_uds = serve_mtr

    def serve_str(self, scheduler: Any, loop: Any, stop: Any) -> None:
        self._serve("str", scheduler, loop, stop)

    serve_str_uds = serve_str


def remove_if_stale(path: Path) -> bool:
    """Remove a socket file that nobody listens on any more (left by a server killed with SIGKILL, or a host that
    crashed), as gunicorn does: granian refused to start on it ("Address already in use"), and a service manager's
    restarts all failed. A file another live server listens on is kept (the start then fails, naming it)."""
    if not path.is_socket():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        path.unlink(missing_ok=True)
        return True
    except OSError:
        pass  # not ours to judge: the start goes on and says what went wrong
    finally:
        probe.close()
    return False
