"""A PostgreSQL primary with a streaming standby for tests and fault scripts, and what failing it over takes: the
host killed, the standby promoted, the old primary brought back as a standby with pg_rewind (issue 14)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.components import free_port
from tests.servers import _as_postgres_user, _postgres_bin_dir, postgres_server, socket_and_port

__all__ = [
    "PrimaryAndStandby",
    "kill_host",
    "postgres_with_standby",
    "promote",
    "psql",
    "rewind_as_standby",
    "start_postgres",
    "wait_until_replayed",
]


@dataclass
class PrimaryAndStandby:
    """A primary and its streaming standby; ``url`` names both, with ``target_session_attrs=read-write``. After a
    failover the names keep their first roles: ``primary_url`` is the server first made primary."""

    url: str
    primary_url: str
    primary_data: Path
    standby_url: str
    standby_data: Path


# -R: write the standby's primary_conninfo; -X stream: stream the WAL made during the copy; a fast checkpoint: the
# default spread one made the copy wait over two minutes on a busy machine (a tiny database, the pacing alone)
BACKUP = ("-R", "-X", "stream", "--checkpoint=fast")


@contextmanager
def postgres_with_standby(folder: Path, *, synchronous: bool = False) -> Iterator[PrimaryAndStandby]:
    """A primary (:func:`postgres_server`) and a standby made by ``pg_basebackup -R``, streaming from it; both with
    what pg_rewind needs, so that either can be brought back as the other's standby after a failover
    (:func:`rewind_as_standby`). ``synchronous``: the primary waits for the standby's flush before a commit returns
    (``synchronous_standby_names = '*'``)."""
    with postgres_server(folder / "primary", rewindable=True) as primary_url:
        primary_socket, primary_port = socket_and_port(primary_url)
        bin_dir, user = _postgres_bin_dir(), _as_postgres_user()
        standby = folder / "standby"
        standby.mkdir()
        subprocess.run(["chown", "postgres:postgres", str(standby)], check=False)
        data = standby / "data"
        backup = [*user, str(bin_dir / "pg_basebackup"), "-h", primary_socket, "-p", str(primary_port)]
        backup += ["-U", "antin", "-D", str(data), *BACKUP]
        for attempt in range(3):  # failed once in a full run on a busy machine, its reason unseen: now it is shown
            done = subprocess.run(backup, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                break
            assert attempt < 2, f"pg_basebackup failed three times: {done.stderr}"
            subprocess.run([*user, "rm", "-rf", str(data)], check=False)
            time.sleep(1)
        standby_url = f"postgresql+psycopg://antin@/antin?host={standby}&port={free_port()}"
        start_postgres(standby_url)
        try:
            if synchronous:
                for sql in ("alter system set synchronous_standby_names = '*'", "select pg_reload_conf()"):
                    psql(primary_url, sql)
            yield PrimaryAndStandby(
                f"postgresql+psycopg://antin@/antin?host={primary_socket},{standby}"
                f"&port={primary_port},{socket_and_port(standby_url)[1]}&target_session_attrs=read-write",
                primary_url,
                Path(primary_socket) / "data",
                standby_url,
                data,
            )
        finally:
            stop = [*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(stop, check=False, capture_output=True)


def _data_folder(url: str) -> Path:
    return Path(socket_and_port(url)[0]) / "data"


def start_postgres(url: str) -> None:
    """Start the server of a one-host URL of :func:`postgres_with_standby` (its data in ``<socket folder>/data``,
    its log in ``<socket folder>/log``); a standby when its data folder says so (``standby.signal``)."""
    socket_dir, port = socket_and_port(url)
    options = f"-p {port} -k {socket_dir} -c listen_addresses='' -c fsync=off"
    pg_ctl = [*_as_postgres_user(), str(_postgres_bin_dir() / "pg_ctl"), "-D", str(_data_folder(url))]
    done = subprocess.run(
        [*pg_ctl, "-o", options, "-l", f"{socket_dir}/log", "-w", "start"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"PostgreSQL did not start: {done.stderr or done.stdout}"


def psql(url: str, sql: str) -> str:
    """One statement on the server of a one-host URL, its result unaligned (psql -XAtc)."""
    socket_dir, port = socket_and_port(url)
    command = [*_as_postgres_user(), str(_postgres_bin_dir() / "psql"), "-h", socket_dir, "-p", str(port)]
    done = subprocess.run(
        [*command, "-U", "antin", "-d", "antin", "-XAtc", sql], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"psql {sql!r}: {done.stderr}"
    return done.stdout.strip()


def kill_host(url: str) -> None:
    """The server's host dies: SIGKILL to the postmaster and every backend at once (nothing more leaves it)."""
    postmaster = int((_data_folder(url) / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False)
    pids = [postmaster, *map(int, children.stdout.split())]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # gone and reaped: a postmaster.pid naming a live (or zombie) process makes pg_rewind's crash recovery refuse
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, "the killed server's processes did not go"
        time.sleep(0.05)


def promote(url: str) -> float:
    """``pg_ctl promote`` the standby of a one-host URL, waited for; the seconds it took."""
    started = time.monotonic()
    command = [*_as_postgres_user(), str(_postgres_bin_dir() / "pg_ctl"), "-D", str(_data_folder(url)), "-w"]
    done = subprocess.run([*command, "promote"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"pg_ctl promote: {done.stderr or done.stdout}"
    return time.monotonic() - started


def rewind_as_standby(old_primary_url: str, new_primary_url: str) -> float:
    """The old primary, dead after a failover, brought back as a standby of the promoted one: ``pg_rewind`` (which
    first runs crash recovery on a server that was killed) takes back what it wrote that the new primary never had,
    ``--write-recovery-conf`` points it at the new primary, and it starts streaming. The seconds pg_rewind took."""
    socket_dir, port = socket_and_port(new_primary_url)
    rewind = [*_as_postgres_user(), str(_postgres_bin_dir() / "pg_rewind"), "-D", str(_data_folder(old_primary_url))]
    rewind += [f"--source-server=host={socket_dir} port={port} user=antin dbname=antin", "--write-recovery-conf"]
    started = time.monotonic()
    # pg_rewind reads the source's timeline from its control file, written by the checkpoint that ends a promotion;
    # that one is paced (22 s seen here) and until it ends pg_rewind says "no rewind required" and the old primary
    # then never follows: a CHECKPOINT now
    psql(new_primary_url, "checkpoint")
    done = subprocess.run(rewind, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    assert done.returncode == 0, f"pg_rewind failed: {done.stderr or done.stdout}"
    assert "no rewind required" not in done.stderr + done.stdout, "pg_rewind saw no new timeline on the source"
    start_postgres(old_primary_url)
    return took


def wait_until_replayed(primary_url: str, timeout: float = 30) -> float:
    """Until a standby streams from this primary and has replayed all it wrote; the seconds waited."""
    started = time.monotonic()
    query = "select count(*) from pg_stat_replication where state = 'streaming' and replay_lsn >= pg_current_wal_lsn()"
    while psql(primary_url, query) != "1":
        assert time.monotonic() - started < timeout, "no standby caught up with " + primary_url
        time.sleep(0.1)
    return time.monotonic() - started
