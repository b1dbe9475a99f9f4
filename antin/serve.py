"""``antin serve``: production serving with granian (the default) or gunicorn workers behind a TLS reverse proxy."""

from __future__ import annotations

import os
import shutil
import signal
import sys

import click

from antin import lifecycle
from antin.kernel.instance import Instance
from antin.kernel.settings import SettingsError
from antin.migrate import current_revision, head_revision
from antin.settings import load_settings

__all__ = ["serve"]

SERVERS = ("granian", "gunicorn")


@click.command()
@click.option(
    "--bind",
    "binds",
    multiple=True,
    help="HOST:PORT or unix:PATH to listen on, repeated for several (default: ANTIN_SERVER_HOST:PORT).",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Worker processes (default: ANTIN_SERVER_WORKERS).")
@click.option("--threads", type=click.IntRange(1, 64), help="Threads per worker (default: ANTIN_SERVER_THREADS).")
@click.option(
    "--server", "server_name", type=click.Choice(SERVERS), help="HTTP server (default: ANTIN_SERVER_SERVER, granian)."
)
def serve(binds: tuple[str, ...], workers: int | None, threads: int | None, server_name: str | None) -> None:
    """Serve the platform with granian, or gunicorn with --server gunicorn (production). The database must be
    migrated first (`antin db upgrade`). SIGHUP starts new workers and stops the old ones gracefully once the new
    ones have loaded the app; SIGTERM lets requests in flight finish (SIGINT too under granian; at once under
    gunicorn)."""
    try:
        settings = load_settings()
    except SettingsError as err:
        raise click.ClickException(str(err)) from None
    server_name = server_name or settings.server.server
    binds = binds or (f"{settings.server.host}:{settings.server.port}",)
    for bind in binds:
        check_bind(bind)
    instance = Instance(settings)
    current, head = current_revision(instance.database), head_revision(instance.database)
    instance.close()
    if current != head:
        at = current or "(empty)"
        raise click.ClickException(f"the database is at revision {at}, not {head}: run `antin db upgrade` first")
    # prometheus_client picks its multi-process mode when it is imported: gunicorn starts afresh with this set.
    metrics_dir = instance.ensure_data_dir() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(mode=0o700)
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir.resolve()))
    workers = workers or settings.server.workers
    threads = threads or settings.server.threads
    timeout = str(settings.server.timeout)  # a request past it: its worker replaced (antin.in_flight)
    if server_name == "granian":
        executable = sys.executable
        args = [executable, "-m", "antin.granian_server"]
        for bind in binds:
            args += ["--bind", bind]
        args += ["--workers", str(workers), "--threads", str(threads), "--timeout", timeout]
    else:
        # gunicorn with its arbiter's reload made ready-first (antin.gunicorn_server)
        executable = sys.executable
        args = [executable, "-m", "antin.gunicorn_server", "--config", "python:antin.gunicorn_conf"]
        for bind in binds:
            args += ["--bind", bind]
        args += ["--workers", str(workers), "--threads", str(threads), "--timeout", timeout]
        # X-Forwarded-Proto is believed only from trusted proxies, which the app counts (antin.kernel.proxy_fix);
        # without any, gunicorn believes no one (its default believed loopback, which granian never does)
        args += ["--forwarded-allow-ips", "*" if settings.server.trusted_proxies else ""]
        args.append("antin.wsgi:app")
    # A handler does not survive exec: until the server (gunicorn's arbiter, granian's main process) has its own, a
    # SIGTERM would kill it half started (exit -15) and a SIGINT end in a traceback. Blocked, a stop signal waits
    # (the mask and what is pending survive exec) and gunicorn_conf.when_ready or antin.granian_server's startup
    # hook lets it through once the server handles it. Blocked first, then the flag read: a signal between the two
    # cannot be lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    if lifecycle.stop_requested():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return  # stopped before the server was started
    os.execve(executable, args, env)  # noqa: S606 - replace this process with the server, arguments as a list


def check_bind(bind: str) -> None:
    """Refuse a listening address that is neither HOST:PORT nor unix:PATH, before a server is started."""
    if bind.startswith("unix:") and len(bind) > len("unix:"):
        return
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{bind!r} is not HOST:PORT or unix:PATH", param_hint="--bind")


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
