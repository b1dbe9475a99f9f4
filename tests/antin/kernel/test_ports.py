"""free_port: a port nobody listens on, below the range outgoing connections take their local ports from."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from antin.kernel import ports
from antin.kernel.ports import free_port


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_the_port_is_below_the_outgoing_range_and_a_server_can_listen_on_it() -> None:
    first_ephemeral, _ = ephemeral_range()
    for _ in range(20):
        port = free_port()
        assert ports.LOWEST_PORT <= port < first_ephemeral
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_someone_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", free_port()))
        squatter.listen()
        taken = squatter.getsockname()[1]
        free = free_port()
        draws = iter([taken - ports.LOWEST_PORT, taken - ports.LOWEST_PORT, free - ports.LOWEST_PORT])
        monkeypatch.setattr(ports.secrets, "randbelow", lambda _: next(draws))
        assert free_port() == free != taken


def test_a_machine_whose_outgoing_range_starts_low_gets_the_kernels_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = tmp_path / "ip_local_port_range"
    configured.write_text("1024\t65535\n")
    monkeypatch.setattr(ports, "_EPHEMERAL_RANGE", configured)
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
