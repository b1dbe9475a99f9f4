"""The adapter for Ấn Tín: ``antin serve`` (granian, or gunicorn) in production mode on a fresh instance.

The instance lives in a temporary data folder with a migrated database (``antin db upgrade``), points at the
bench's slapd as an outside directory (``ANTIN_DIRECTORY_MANAGED=false``), and sits behind the TLS proxy the
driver plays (``https://`` issuer, one trusted proxy). Clients are registered with ``antin clients add
--json``, as an operator would. Whatever of that is not in main yet is reported, not faked.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from bench.oidc.http import Target
from bench.oidc.processes import (
    children,
    free_port,
    server_process,
    sql_statements,
    store_processes,
    wait_http,
)
from bench.oidc.provider import BenchClient, Deployment, DirectoryInfo, ProviderUnavailableError

__all__ = ["AntinProvider"]

PUBLIC_ISSUER = "https://antin.bench.invalid"
REDIRECT_URI = "https://rp.bench.invalid/callback"


def _last_line(text: str) -> str:
    """The line of a command's error output that says what went wrong (the last one, under a traceback)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


class AntinProvider:
    name = "Ấn Tín"

    def __init__(
        self, *, database_url: str = "", redis_url: str = "", threads: int = 4, server: str = "granian"
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.threads = threads
        # `antin serve --server`: "granian" (WSGI, the default) or "gunicorn" (gthread), measured beside each other
        # (issue 13, item 2)
        self.server = server

    def version(self) -> str:
        try:
            version = metadata.version("antin")
        except metadata.PackageNotFoundError:
            version = "(not installed)"
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        server = "gunicorn gthread" if self.server == "gunicorn" else f"granian {_granian_version()} WSGI"
        return f"antin {version} ({commit or 'no git'}) on Python {sys.version.split()[0]}, {server}"

    def _environment(self, directory: DirectoryInfo, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
        env.update(
            {
                "ANTIN_ENV": "production",
                "ANTIN_DATA_DIR": str(data_dir),
                "ANTIN_ISSUER": PUBLIC_ISSUER,
                "ANTIN_SECRET_KEY": secrets.token_urlsafe(48),
                "ANTIN_MFA_ENCRYPTION_KEY": secrets.token_urlsafe(48),
                "ANTIN_SERVER_TRUSTED_PROXIES": "1",
                "ANTIN_DIRECTORY_MANAGED": "false",
                "ANTIN_DIRECTORY_URIS": directory.uri,
                "ANTIN_DIRECTORY_BASE_DN": directory.base_dn,
                "ANTIN_DIRECTORY_BIND_DN": directory.service_dn,
                "ANTIN_DIRECTORY_BIND_PASSWORD": directory.service_password,
                "ANTIN_HSM_PIN": secrets.token_hex(8),
                "ANTIN_LOG_LEVEL": "WARNING",
            }
        )
        if self.database_url:
            env["ANTIN_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["ANTIN_REDIS_URL"] = self.redis_url
        return env

    @staticmethod
    def _antin(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "antin", *args]
        return subprocess.run(argv, env=env, check=False, capture_output=True, text=True)

    def _register(self, env: dict[str, str], missing: list[str]) -> tuple[BenchClient | None, BenchClient | None]:
        """The web client (code + refresh, trusted: no consent) and the service client (client_credentials)."""
        probe = self._antin(["clients", "add", "--help"], env)
        if probe.returncode != 0:
            missing.append("`antin clients add` is not in main yet: no client could be registered")
            return None, None
        web_args = ["clients", "add", "--name", "bench-web", "--redirect-uri", REDIRECT_URI, "--trusted", "--json"]
        # The service client is also the resource server that introspects users' tokens: Ấn Tín lets the
        # token's own client, its audience, or a trusted (first-party) client introspect.
        service_args = ["clients", "add", "--name", "bench-service", "--trusted", "--json"]
        if "--grant-type" in probe.stdout:
            web_args[-1:-1] = ["--grant-type", "authorization_code", "--grant-type", "refresh_token"]
            service_args[-1:-1] = ["--grant-type", "client_credentials"]
        clients: list[BenchClient | None] = []
        for args, redirect in ((web_args, REDIRECT_URI), (service_args, None)):
            done = self._antin(args, env)
            if done.returncode != 0:
                missing.append(f"antin {' '.join(args[:4])}… failed: {_last_line(done.stderr)}")
                clients.append(None)
                continue
            data = json.loads(done.stdout)
            clients.append(BenchClient(data["client_id"], data.get("client_secret"), redirect))
        return clients[0], clients[1]

    @contextmanager
    def deploy(self, directory: DirectoryInfo, workdir: Path, workers: int) -> Iterator[Deployment]:
        data_dir = workdir / "antin-data"
        env = self._environment(directory, data_dir)
        upgraded = self._antin(["db", "upgrade"], env)
        if upgraded.returncode != 0:
            raise ProviderUnavailableError(f"antin db upgrade failed: {_last_line(upgraded.stderr)}")
        missing: list[str] = []
        web, service = self._register(env, missing)
        port = free_port()
        log = workdir / "antin.log"
        argv = [
            sys.executable,
            "-m",
            "antin",
            "serve",
            "--server",
            self.server,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(self.threads),
        ]
        if self.server == "granian":
            served = f"antin serve (granian WSGI), {workers} workers × {self.threads} blocking threads"
        else:
            served = f"antin serve --server gunicorn (gthread), {workers} workers × {self.threads} threads"
        with server_process(argv, env=env, log=log) as proc:
            target = Target(PUBLIC_ISSUER, f"http://127.0.0.1:{port}")
            wait_http(target.local(PUBLIC_ISSUER + "/healthz"), proc, log, headers=target.proxy_headers())
            database = "PostgreSQL" if self.database_url.startswith("postgresql") else "SQLite"
            yield Deployment(
                name=self.name,
                target=target,
                web_client=web,
                service_client=service,
                accounts=directory.accounts,
                login_scope="openid profile email offline_access",
                pids=tuple(children(proc.pid)),
                python=True,
                notes=(
                    f"Ấn Tín: ANTIN_ENV=production, {served}, {database}{', Redis' if self.redis_url else ''}; "
                    "login = the product's own directory code against the same slapd.",
                ),
                missing=tuple(missing),
                sql_statements=((lambda: sql_statements(self.database_url)) if database == "PostgreSQL" else None),
                store_pids=lambda: store_processes(self.database_url, self.redis_url),
            )


def _granian_version() -> str:
    try:
        return metadata.version("granian")
    except metadata.PackageNotFoundError:
        return "(not installed)"
