"""One running instance of the platform: its settings, data folder and the services built from them.

The CLI and the app factory both build an :class:`Instance`; services are created on first use so that a
command that needs only the database never starts slapd. Feature packages keep their own services in
``instance.extensions["antin.<name>"]`` (the same habit as Flask's ``app.extensions``).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idp.audit.service import AuditLog
from idp.database import Database
from idp.settings import Settings, generate_secret

if TYPE_CHECKING:
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd

__all__ = ["Instance"]


class Instance:
    def __init__(self, settings: Settings, *, start_directory: bool = False) -> None:
        """``start_directory``: a managed slapd that is not running is started on first use of the directory
        and stopped by :meth:`close` (what one-off CLI commands want; ``antin demo`` runs it itself)."""
        self.settings = settings
        self.extensions: dict[str, Any] = {}
        self._start_directory = start_directory
        self._started_slapd: ManagedSlapd | None = None

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
        return AuditLog(self.database, self.secret_key)

    @cached_property
    def managed_slapd(self) -> ManagedSlapd | None:
        """The private slapd of the embedded default, or None when an outside directory is configured."""
        if not self.settings.directory.managed:
            return None
        from directory.slapd import ManagedSlapd

        d = self.settings.directory
        return ManagedSlapd(
            self.ensure_data_dir() / "slapd",
            base_dn=d.base_dn,
            port=d.port,
            service_password=self.directory_bind_password,
        )

    @property
    def directory_bind_password(self) -> str:
        return self.settings.directory.bind_password or self.local_secret("directory_service_password")

    @cached_property
    def directory(self) -> LdapDirectory:
        """The directory service; in the embedded default it talks to the managed slapd."""
        from directory.config import DirectoryConfig
        from directory.service import LdapDirectory

        d = self.settings.directory
        uris = d.uris
        if self.managed_slapd is not None:
            uris = self.managed_slapd.uris
            if self._start_directory and self.managed_slapd.ensure_running():
                self._started_slapd = self.managed_slapd
        config = DirectoryConfig(
            uris=tuple(uris),
            base_dn=d.base_dn,
            bind_dn=self.settings.directory_bind_dn,
            bind_password=self.directory_bind_password,
            start_tls=d.start_tls,
            ca_file=d.ca_file,
            timeout=d.timeout,
            page_size=d.page_size,
            pool_size=d.pool_size,
        )
        return LdapDirectory(config)

    def close(self) -> None:
        """Release what this instance holds (connections, pools); safe to call twice."""
        for name in ("database", "directory"):
            service = self.__dict__.pop(name, None)
            if service is None:
                continue
            closer = getattr(service, "dispose", None) or getattr(service, "close", None)
            if closer is not None:
                closer()
        for ext in list(self.extensions.values()):
            closer = getattr(ext, "close", None)
            if callable(closer):
                closer()
        self.extensions.clear()
        if self._started_slapd is not None:
            self._started_slapd.stop()
            self._started_slapd = None
