"""Throwaway servers for tests: PostgreSQL and Redis (production mode), nginx in front of instances, and a client's
JWK Set over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.components import free_port, require_command

__all__ = [
    "JwksServer",
    "PrimaryAndStandby",
    "jwks_server",
    "kill_host",
    "nginx_server",
    "postgres_server",
    "postgres_with_standby",
    "promote",
    "psql",
    "redis_server",
    "rewind_as_standby",
    "start_postgres",
    "wait_until_replayed",
]


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root; CI machines run tests as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _postgres_bin_dir() -> Path:
    """Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off the PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        require_command("initdb", hint="scripts/install-system-packages.sh test (package postgresql)")
        return Path(str(shutil.which("initdb"))).resolve().parent
    return found[-1].parent


def _initdb(command: list[str], data: Path) -> None:
    """initdb, tried again once: on a busy machine it failed once in a full run (both xdist workers at the same
    moment, never reproduced); the second failure is raised with initdb's own words."""
    for attempt in (1, 2):
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode == 0:
            return
        if attempt == 1:
            shutil.rmtree(data, ignore_errors=True)
            time.sleep(1)
    raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


# what pg_rewind needs of a cluster, in postgresql.conf so that a server started again by hand (a fault script)
# keeps it: its target logs hint bits and still holds its WAL back to the last checkpoint both servers share (the
# crash recovery pg_rewind runs first recycled that segment: "could not find previous WAL record"; production keeps
# a WAL archive and passes --restore-target-wal); its source writes full pages after each checkpoint
REWINDABLE = "wal_log_hints = on\nwal_keep_size = '256MB'\nfull_page_writes = on\n"


@contextmanager
def postgres_server(folder: Path, *, rewindable: bool = False) -> Iterator[str]:
    """Start PostgreSQL in ``folder``; yield a SQLAlchemy URL of an empty database ``antin``. ``rewindable``: the
    settings pg_rewind needs (:data:`REWINDABLE`; otherwise full pages are not written, which tests do not need)."""
    bin_dir = _postgres_bin_dir()
    initdb, pg_ctl, createdb = (str(bin_dir / name) for name in ("initdb", "pg_ctl", "createdb"))
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for parent in folder.parents:
            if parent == Path("/tmp") or parent == parent.parent:
                break
            parent.chmod(parent.stat().st_mode | 0o005)
    data = folder / "data"
    port = free_port()
    user = _as_postgres_user()
    _initdb([*user, initdb, "-D", str(data), "-U", "antin", "-A", "trust", "-E", "UTF8", "--no-sync"], data)
    options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off"
    if rewindable:
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(REWINDABLE)
    else:
        options += " -c full_page_writes=off"
    subprocess.run(
        [*user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                *user,
                createdb,
                "-h",
                str(folder),
                "-p",
                str(port),
                "-U",
                "antin",
                "antin",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://antin@/antin?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], check=False, capture_output=True
        )


def socket_and_port(url: str) -> tuple[str, int]:
    """The first server of a PostgreSQL URL of :func:`postgres_server` or :func:`postgres_with_standby`."""
    query = parse_qs(urlsplit(url).query)
    return query["host"][0].split(",")[0], int(query["port"][0].split(",")[0])


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


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Start Redis on a free loopback port; yield its redis:// URL."""
    redis = require_command("redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


class JwksServer:
    """A client's ``jwks_uri`` on loopback. It counts the requests it answers; a test changes what it serves:
    the keys, extra headers (``Cache-Control``), a redirect, a body of any size, or a body trickled slowly."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.headers: dict[str, str] = {}
        self.redirect_to: str | None = None
        self.body: bytes | None = None  # served instead of the keys when set
        self.trickle_seconds = 0.0  # when set, one byte of the body every this many seconds
        self.send_length = True  # False: no Content-Length, the body ends when the connection closes
        self.requests = 0
        self.last_host: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                server.last_host = self.headers.get("Host")
                if server.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.body if server.body is not None else json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/jwk-set+json")
                if server.send_length:
                    self.send_header("Content-Length", str(len(body)))
                for name, value in server.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if server.trickle_seconds:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(server.trickle_seconds)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass  # the client gave up: what the slow and oversize tests expect

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def jwks_server(tls: ssl.SSLContext | None = None) -> Iterator[JwksServer]:
    server = JwksServer(tls)
    try:
        yield server
    finally:
        server.close()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.02)


@contextmanager
def nginx_server(folder: Path, site: Path, values: dict[str, str], port: int = 0) -> Iterator[int]:
    """Run nginx with its own prefix, config and pid file in ``folder`` (never the system's nginx), serving
    ``site`` (a file with ``@NAME@`` placeholders, filled from ``values`` plus ``LISTEN``) on loopback, on
    ``port`` or a free one; yield the port. Its access log says which upstream answered each request."""
    nginx = require_command("nginx", hint="scripts/install-system-packages.sh test (package nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    text = site.read_text()
    for name, value in {"LISTEN": f"127.0.0.1:{port}", **values}.items():
        text = text.replace(f"@{name}@", value)
    settings = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert not re.search("@[A-Z_]+@", settings), "a placeholder was left unfilled"
    (folder / "site.conf").write_text(text)
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    # Run as root, nginx's workers would be "nobody", who cannot enter pytest's private temp folders.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {folder}/access.log upstream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/site.conf;
}}
"""
    )
    command = [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, proc, "nginx")
        yield port
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
