"""One running instance of the platform: its settings, data folder and the services built from them.

The CLI and the app factory both build an :class:`Instance`; services are created on first use so that a
command that needs only the database never starts slapd. Feature packages keep their own services in
``instance.extensions["antin.<name>"]`` (the same habit as Flask's ``app.extensions``) through
:meth:`Instance.service`, the one get-or-create.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

from antin.kernel.audit.service import AuditLog
from antin.kernel.clock import Clock
from antin.kernel.database import Database
from antin.kernel.settings import Settings, generate_secret

__all__ = ["Instance"]

ServiceT = TypeVar("ServiceT")


class Instance:
    def __init__(self, settings: Settings, *, start_directory: bool = False) -> None:
        """``start_directory``: a managed slapd that is not running is started on first use of the directory
        and stopped by :meth:`close` (what one-off CLI commands want; ``antin demo`` runs it itself)."""
        self.settings = settings
        self.start_directory = start_directory
        self.clock = Clock()
        self.extensions: dict[str, Any] = {}
        self._services_lock = threading.RLock()
        self._closers: list[Callable[[], object]] = []

    # -- the data folder ---------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        return self.data_dir

    def local_secret(self, name: str) -> str:
        """A secret generated once into ``<data_dir>/secrets/<name>`` (development defaults only)."""
        folder = self.ensure_data_dir() / "secrets"
        folder.mkdir(exist_ok=True, mode=0o700)
        path = folder / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(generate_secret())
        return path.read_text().strip()

    @cached_property
    def secret_key(self) -> str:
        return self.settings.core.secret_key or self.local_secret("secret_key")

    # -- services ----------------------------------------------------------------------------------------

    @cached_property
    def database(self) -> Database:
        if not self.settings.database.url:
            self.ensure_data_dir()
        db = self.settings.database
        return Database(self.settings.database_url, echo=db.echo, pool_size=db.pool_size)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.database, self.secret_key, clock=self.clock)

    def service(self, key: str, build: Callable[[Instance], ServiceT]) -> ServiceT:
        """The service kept under ``key``, built by ``build(self)`` on first use.

        Each feature's accessor is one line over this (``signing_service(instance)``, ``get_provider(instance)``):
        the get-or-create lives here once. A service with ``close()`` is closed by :meth:`close`.
        """
        try:  # the hot path (every request asks): a plain read, no lock
            return cast(ServiceT, self.extensions[key])
        except KeyError:
            pass
        with self._services_lock:  # built once even when several threads ask at the same moment
            if key not in self.extensions:
                self.extensions[key] = build(self)
            return cast(ServiceT, self.extensions[key])

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the instance closes (after its services), e.g. to stop a slapd it started."""
        self._closers.append(callback)

    def close(self) -> None:
        """Release what this instance holds (connections, pools); safe to call twice."""
        for ext in list(self.extensions.values()):
            closer = getattr(ext, "close", None)
            if callable(closer):
                closer()
        self.extensions.clear()
        database = self.__dict__.pop("database", None)
        if database is not None:
            database.dispose()
        closers, self._closers = self._closers, []
        for callback in reversed(closers):
            callback()
