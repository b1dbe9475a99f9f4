"""The adapter for the peer: npm ``oidc-provider`` 9 run by ``bench/peers/oidc-provider/server.mjs``.

Clients are static in the peer's configuration (oidc-provider's usual way), so registering one is writing
its metadata into the JSON the server reads. The login form is the peer script's own (``username``,
``password``), checked by a bind to the same slapd as Ấn Tín's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.oidc.http import Target
from bench.oidc.processes import children, free_port, server_process, store_processes, wait_http
from bench.oidc.provider import BenchClient, Deployment, DirectoryInfo, ProviderUnavailableError

__all__ = ["PEER_DIR", "OidcProviderPeer", "ensure_node_modules"]

PEER_DIR = Path(__file__).resolve().parent.parent / "peers" / "oidc-provider"
RESOURCE = "urn:antin:bench:api"
PUBLIC_ISSUER = "https://peer.bench.invalid"
REDIRECT_URI = "https://rp.bench.invalid/callback"


def ensure_node_modules() -> None:
    """``npm install`` the pinned peer once (``make bench`` on a fresh machine)."""
    if (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ProviderUnavailableError("npm is not installed (Node 20 and npm are needed for the peer)")
    lock = PEER_DIR / "package-lock.json"
    command = [npm, "ci" if lock.exists() else "install", "--no-audit", "--no-fund", "--silent"]
    subprocess.run(command, cwd=PEER_DIR, check=True)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ProviderUnavailableError("node is not installed")
    return node


class OidcProviderPeer:
    """oidc-provider in production mode (NODE_ENV=production); ``workers`` > 1 uses node:cluster and Redis."""

    name = "oidc-provider"

    def __init__(self, *, store_url: str | None = None) -> None:
        self.store_url = store_url

    def version(self) -> str:
        ensure_node_modules()
        package = json.loads((PEER_DIR / "node_modules" / "oidc-provider" / "package.json").read_text())
        node = subprocess.run([_node(), "--version"], capture_output=True, text=True, check=True).stdout.strip()
        return f"oidc-provider {package['version']} on Node {node}"

    @contextmanager
    def deploy(self, directory: DirectoryInfo, workdir: Path, workers: int) -> Iterator[Deployment]:
        ensure_node_modules()
        if workers > 1 and not self.store_url:
            raise ProviderUnavailableError("oidc-provider with several workers needs a shared store (Redis)")
        port = free_port()
        web = BenchClient("bench-web", secrets.token_urlsafe(32), REDIRECT_URI)
        service = BenchClient("bench-service", secrets.token_urlsafe(32))
        config = {
            "issuer": PUBLIC_ISSUER,
            "port": port,
            "workers": workers,
            "store": self.store_url if workers > 1 else None,
            "resource": RESOURCE,
            "ldap": {
                "url": directory.uri,
                "base": directory.base_dn,
                "serviceDn": directory.service_dn,
                "servicePassword": directory.service_password,
                "poolSize": 4,
            },
            "clients": [
                {
                    "client_id": web.client_id,
                    "client_secret": web.client_secret,
                    "redirect_uris": [web.redirect_uri],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "client_secret_basic",
                    "scope": "openid offline_access profile email",
                },
                {
                    "client_id": service.client_id,
                    "client_secret": service.client_secret,
                    "redirect_uris": [],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "token_endpoint_auth_method": "client_secret_basic",
                    "scope": "api",
                },
            ],
        }
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "NODE_ENV": "production",
            "PEER_CONFIG": json.dumps(config),
        }
        log = workdir / "oidc-provider.log"
        with server_process([_node(), str(PEER_DIR / "server.mjs")], env=env, log=log, cwd=PEER_DIR) as proc:
            target = Target(PUBLIC_ISSUER, f"http://127.0.0.1:{port}")
            wait_http(
                target.local(PUBLIC_ISSUER + "/.well-known/openid-configuration"),
                proc,
                log,
                headers=target.proxy_headers(),
            )
            time.sleep(0.2)  # every cluster worker listening, not just the first
            pids = tuple(children(proc.pid)) if workers > 1 else (proc.pid,)
            mode = f"node:cluster, {workers} workers, Redis store" if workers > 1 else "1 process, in-memory store"
            yield Deployment(
                name=self.name,
                target=target,
                web_client=web,
                service_client=service,
                accounts=directory.accounts,
                login_scope="openid profile email",
                service_scope="api",
                pids=pids,
                notes=(
                    f"oidc-provider: NODE_ENV=production, {mode}; PKCE S256 required; ID tokens RS256; "
                    "client_credentials → JWT ES256 (RFC 9068 via resource indicator); code-flow access "
                    "tokens opaque (the only ones it introspects); refresh tokens rotated on every use; "
                    "login = search + bind as the official on slapd (ldapts, pooled connections).",
                ),
                store_pids=(lambda: store_processes(redis_url=self.store_url or "")) if workers > 1 else None,
            )
