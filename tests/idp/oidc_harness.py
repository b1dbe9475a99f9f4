"""Building a provider app for tests: an instance in a temp folder, SQLite, an InMemoryDirectory, a live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.settings import load_settings
from directory.memory import InMemoryDirectory
from idp.oidc.service import OidcProvider, replace_directory


def build_app(data_dir: Path, issuer: str, directory: InMemoryDirectory, **overrides: Any) -> Flask:
    sections: dict[str, dict[str, Any]] = {"core": {"data_dir": str(data_dir), "issuer": issuer, "env": "test"}}
    for key, value in overrides.items():
        section, name = key.split("__")
        sections.setdefault(section, {})[name] = value
    settings = load_settings({}, overrides=sections)
    instance = Instance(settings)
    import idp.mfa.models
    import idp.oidc.models
    import idp.throttle.models

    Base.metadata.create_all(instance.database.engine)
    replace_directory(instance, directory)
    import idp.login
    import idp.oidc
    from antin.app import create_app

    app: Flask = create_app(settings, instance=instance)
    # until the factory calls them itself
    if "oidc" not in app.blueprints:
        idp.oidc.init_app(app)
    if "login" not in app.blueprints:
        idp.login.init_app(app)
    return app


@dataclass
class LiveProvider:
    issuer: str
    app: Flask
    directory: InMemoryDirectory
    server: BaseWSGIServer
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def instance(self) -> Instance:
        instance: Instance = self.app.extensions["antin.instance"]
        return instance

    @property
    def provider(self) -> OidcProvider:
        from idp.oidc.service import get_provider

        return get_provider(self.instance)


class _Late:
    """A WSGI app set after the server knows its port (the issuer needs the port)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@contextmanager
def live_provider(data_dir: Path, directory: InMemoryDirectory, **overrides: Any) -> Iterator[LiveProvider]:
    late = _Late()
    server = make_server("localhost", 0, late, threaded=True)
    issuer = f"http://localhost:{server.server_port}"
    app = build_app(data_dir, issuer, directory, **overrides)
    late.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveProvider(issuer, app, directory, server)
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["antin.instance"].close()


BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""The params of a provider fixture run on SQLite (SQLAlchemy Core) and on PostgreSQL (the driver's statements)."""


@contextmanager
def live_provider_on(database: str, tmp_path: Path, **overrides: Any) -> Iterator[LiveProvider]:
    """A live provider on ``database`` (one of :data:`BOTH_DATABASES`); on PostgreSQL its own server, whose
    statements go through the driver (asserted: those are the statements under test)."""
    from tests.idp.conftest import make_directory  # the conftest imports this module

    if database == "sqlite":
        with live_provider(tmp_path / "op", make_directory(), **overrides) as live:
            yield live
        return
    from tests.servers import postgres_server

    with (
        postgres_server(tmp_path / "pg") as url,
        live_provider(tmp_path / "op", make_directory(), database__url=url, **overrides) as live,
    ):
        assert live.instance.database.driver is not None
        yield live
        live.instance.database.dispose()
