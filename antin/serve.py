"""``antin serve``: production serving with gunicorn workers behind a TLS reverse proxy."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import click

from antin import lifecycle
from antin.kernel.instance import Instance
from antin.kernel.settings import SettingsError
from antin.migrate import current_revision, head_revision
from antin.settings import load_settings

__all__ = ["serve"]


@click.command()
@click.option("--bind", "binds", multiple=True, help="Address to listen on (default: ANTIN_SERVER_HOST:PORT).")
@click.option("--workers", type=click.IntRange(1, 256), help="Worker processes (default: ANTIN_SERVER_WORKERS).")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Threads per worker.")
def serve(binds: tuple[str, ...], workers: int | None, threads: int) -> None:
    """Serve the platform with gunicorn (production). The database must be migrated first (`antin db upgrade`)."""
    try:
        settings = load_settings()
    except SettingsError as err:
        raise click.ClickException(str(err)) from None
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
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn, "--config", "python:antin.gunicorn_conf"]
    for bind in binds or (f"{settings.server.host}:{settings.server.port}",):
        args += ["--bind", bind]
    args += ["--workers", str(workers or settings.server.workers), "--threads", str(threads)]
    args += ["--forwarded-allow-ips", "*" if settings.server.trusted_proxies else "127.0.0.1"]
    args.append("antin.wsgi:app")
    # A handler does not survive exec: until gunicorn's arbiter has its own, a SIGTERM would kill it half started
    # (exit -15) and a SIGINT end in a traceback. Blocked, a stop signal waits (the mask and what is pending survive
    # exec) and gunicorn_conf.when_ready lets it through once the arbiter handles it. Blocked first, then the flag
    # read: a signal between the two cannot be lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    if lifecycle.stop_requested():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return  # stopped before gunicorn was started
    os.execve(gunicorn, args, env)  # noqa: S606 - replace this process with gunicorn, arguments as a list


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
