"""The slapd both providers check passwords against during the bench: the product's own.

The product's managed slapd (schema, ppolicy, ACLs, argon2 password hashes) in a throwaway instance folder,
filled by ``antin directory generate --officials N`` and run by ``antin directory serve``. Ấn Tín and the
peer both bind to it over TCP; the bench reads the service account's password from the instance's secrets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.oidc.processes import server_process
from bench.oidc.provider import Account, DirectoryInfo, ProviderUnavailableError

__all__ = ["product_slapd"]


def _antin(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "antin", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise ProviderUnavailableError(f"antin {' '.join(args)} did not finish in {timeout:.0f} s") from None
    if done.returncode != 0:
        raise ProviderUnavailableError(f"antin {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


@contextmanager
def product_slapd(folder: Path, *, officials: int, sample: int = 200) -> Iterator[DirectoryInfo]:
    """The product's managed slapd with ``officials`` generated officials, run by ``antin directory serve``."""
    instance = folder / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env.update({"ANTIN_DATA_DIR": str(instance), "ANTIN_ENV": "development", "ANTIN_LOG_LEVEL": "WARNING"})
    summary = json.loads(_antin(["directory", "generate", "--officials", str(officials), "--json"], env))
    password = summary["password"]
    slapd_dir = instance / "slapd"
    with server_process(
        [sys.executable, "-m", "antin", "directory", "serve"], env=env, log=folder / "directory-serve.log"
    ) as proc:
        port = int((slapd_dir / "port").read_text().strip())
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ProviderUnavailableError(f"the managed slapd did not start: {folder}") from None
                time.sleep(0.05)
        listed = json.loads(
            _antin(["directory", "users", "list", "--status", "active", "--limit", "5000", "--json"], env)
        )
        people = [p for p in listed if not p.get("locked") and not p.get("must_change_password")]
        step = max(1, len(people) // sample)
        accounts = tuple(Account(p["uid"], password) for p in people[::step])[:sample]
        if not accounts:
            raise ProviderUnavailableError("antin directory generate made no active official to sign in with")
        pid_text = (slapd_dir / "slapd.pid").read_text().strip() if (slapd_dir / "slapd.pid").exists() else ""
        settings = json.loads(_antin(["config", "show", "--json"], env))["directory"]
        base_dn = settings["base_dn"]
        yield DirectoryInfo(
            uri=f"ldap://127.0.0.1:{port}",
            base_dn=base_dn,
            service_dn=settings["bind_dn"] or f"cn=antin-service,{base_dn}",
            service_password=(instance / "secrets" / "directory_service_password").read_text().strip(),
            accounts=accounts,
            people=int(summary.get("officials", officials)),
            password_hash="{ARGON2} (the managed slapd's default), ppolicy on",
            pids=(int(pid_text),) if pid_text.isdigit() else (),
            origin="the product's managed slapd filled by `antin directory generate`",
        )
