"""Throwaway servers for tests: PostgreSQL and Redis (production mode), nginx in front of instances, and a client's
JWK Set over HTTP. A PostgreSQL primary with a standby, and failing it over: :mod:`tests.postgres_standby`."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from antin.kernel.database import Database
from tests.components import free_port, require_command

__all__ = [
    "JwksServer",
    "jwks_server",
    "nginx_server",
    "postgres_server",
    "redis_server",
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


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[Database]:
    """A new database with no tables, ``kind`` "sqlite" (a file in ``folder``) or "postgresql" (a throwaway server
    in ``folder``), disposed of after: for tests that run the migrations themselves."""
    if kind == "sqlite":
        database = Database(f"sqlite:///{folder / 'antin.sqlite3'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    with postgres_server(folder / "pg") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def socket_and_port(url: str) -> tuple[str, int]:
    """The first server of a PostgreSQL URL of :func:`postgres_server` or :func:`postgres_with_standby`."""
    query = parse_qs(urlsplit(url).query)
    return query["host"][0].split(",")[0], int(query["port"][0].split(",")[0])


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
