"""``antin serve``: production serving with gunicorn workers behind a TLS reverse proxy."""

from __future__ import annotations

import os
import shutil
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from antin.app import create_app
from antin.migrate import current_revision, head_revision
from idp.instance import Instance
from idp.settings import SettingsError, load_settings

__all__ = ["serve"]


class PlatformApplication(BaseApplication):
    """gunicorn with our app factory: each worker builds its own app and connections after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:  # gunicorn's stubs type the app as a bare WSGI callable; a Flask app is one
        app: Flask = create_app()
        return app


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


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
        raise click.ClickException(
            f"the database is at revision {current or '(empty)'}, not {head}: run `antin db upgrade`"
        )
    metrics_dir = instance.ensure_data_dir() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    options = {
        "bind": list(binds) or [f"{settings.server.host}:{settings.server.port}"],
        "workers": workers or settings.server.workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "forwarded_allow_ips": "*" if settings.server.trusted_proxies else "127.0.0.1",
        "child_exit": _child_exit,
        "proc_name": "antin",
    }
    PlatformApplication(options).run()
