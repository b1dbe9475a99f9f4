"""A free TCP port for a server we start ourselves (the managed slapd, the test suite's servers, the benches).

Asking the kernel for port 0 hands out a port from its ephemeral range, the same range every outgoing connection
on the machine draws its local port from: between the moment we learn the port and the moment our server binds
it (or, for the managed slapd, which keeps its port across restarts, at any later start), a connection to
PostgreSQL or Redis can take it. A port below that range is never taken that way, so ``free_port`` picks one
there at random and checks nobody listens on it.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

__all__ = ["free_port"]

LOWEST_PORT = 20000
"""Ports below are registered to well-known services (PostgreSQL 5432, Redis 6379, 8080…)."""
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_TRIES = 100


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nobody binds now, outside the range of outgoing connections when possible."""
    first_ephemeral = _first_ephemeral_port()
    if first_ephemeral - LOWEST_PORT >= 1000:
        for _ in range(_TRIES):
            port = LOWEST_PORT + secrets.randbelow(first_ephemeral - LOWEST_PORT)
            if _bindable(host, port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a machine configured otherwise: the kernel's
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
