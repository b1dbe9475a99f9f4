"""The slapd both providers check passwords against during the bench.

:func:`product_slapd` is the real thing: the product's managed slapd (schema, ppolicy, ACLs, argon2) filled
by ``antin directory generate --officials N`` and run by ``antin directory serve``, in a throwaway instance
folder. Ấn Tín and the peer both bind to it over TCP.

:func:`bench_slapd` is the stand-in used only while the product's directory is not importable (before the
``directory`` branch is in main): a plain slapd with the same password hash and officials as
``inetOrgPerson`` entries. It is bench scaffolding, not a second slapd manager.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.oidc.provider import Account, DirectoryInfo, ProviderUnavailableError

__all__ = ["bench_slapd", "directory_for_bench", "product_directory_available", "product_slapd"]

BASE_DN = "dc=antin,dc=vn"
SERVICE_DN = f"cn=antin-service,{BASE_DN}"
PASSWORD_HASH = "{ARGON2}"
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan", "Minh", "Nam", "Phương", "Quân")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")


def _program(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        raise ProviderUnavailableError(f"{name} is not installed (scripts/install-system-packages.sh test)")
    return path


def _hash(password: str) -> str:
    out = subprocess.run(
        [_program("slappasswd"), "-o", "module-load=argon2", "-h", PASSWORD_HASH, "-s", password],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _people_ldif(count: int, password_hash: str, service_hash: str) -> str:
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: antin\no: An Tin",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: antin-service\nuserPassword: {service_hash}",
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people",
    ]
    for i in range(count):
        given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
        uid = f"canbo{i:05d}"
        entries.append(
            f"dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn:: {_b64(f'{family} {given}')}\nsn:: {_b64(family)}\ngivenName:: {_b64(given)}\n"
            f"displayName:: {_b64(f'{family} {given}')}\nmail: {uid}@antin.vn\n"
            f"employeeNumber: {100000 + i}\nuserPassword: {password_hash}"
        )
    return "\n\n".join(entries) + "\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextmanager
def bench_slapd(folder: Path, *, officials: int, sample: int = 200) -> Iterator[DirectoryInfo]:
    """A slapd with ``officials`` people in ``folder`` on a free port; stopped on exit."""
    slapd, slapadd = _program("slapd"), _program("slapadd")
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "db"
    db.mkdir(exist_ok=True)
    service_password = "bench-" + secrets.token_urlsafe(18)
    password = "Mk-" + secrets.token_urlsafe(12)
    conf = folder / "slapd.conf"
    conf.write_text(
        "\n".join(
            [
                *(f"include /etc/ldap/schema/{name}.schema" for name in ("core", "cosine", "inetorgperson")),
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                "moduleload argon2",
                f"pidfile {folder / 'slapd.pid'}",
                f"password-hash {PASSWORD_HASH}",
                "database mdb",
                f'suffix "{BASE_DN}"',
                f'rootdn "cn=admin,{BASE_DN}"',
                f"directory {db}",
                "maxsize 1073741824",
                "dbnosync",
                "index objectClass eq",
                "index uid,mail,employeeNumber,entryUUID eq",
                f'limits dn.exact="{SERVICE_DN}" size=unlimited time=unlimited',
                f'access to attrs=userPassword by dn.exact="{SERVICE_DN}" read by anonymous auth by * none',
                f'access to * by dn.exact="{SERVICE_DN}" read by self read by * none',
                "",
            ]
        )
    )
    ldif = folder / "people.ldif"
    ldif.write_text(_people_ldif(officials, _hash(password), _hash(service_password)), encoding="utf-8")
    subprocess.run([slapadd, "-f", str(conf), "-q", "-l", str(ldif)], check=True, capture_output=True)
    port = _free_port()
    uri = f"ldap://127.0.0.1:{port}"
    log = (folder / "slapd.log").open("wb")
    proc = subprocess.Popen([slapd, "-f", str(conf), "-h", uri + "/", "-d", "0"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ProviderUnavailableError(f"slapd did not start: see {folder / 'slapd.log'}") from None
                time.sleep(0.02)
        step = max(1, officials // sample)
        accounts = tuple(Account(f"canbo{i:05d}", password) for i in range(0, officials, step))[:sample]
        yield DirectoryInfo(
            uri=uri,
            base_dn=BASE_DN,
            service_dn=SERVICE_DN,
            service_password=service_password,
            accounts=accounts,
            people=officials,
            password_hash=PASSWORD_HASH,
            pids=(proc.pid,),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def product_directory_available() -> bool:
    """True once the product's directory (managed slapd, generator, ``antin directory``) is importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("directory.generator", "directory.slapd"))


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
    from bench.oidc.processes import server_process

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
        yield DirectoryInfo(
            uri=f"ldap://127.0.0.1:{port}",
            base_dn=os.environ.get("ANTIN_DIRECTORY_BASE_DN", "dc=antin,dc=vn"),
            service_dn=f"cn=antin-service,{os.environ.get('ANTIN_DIRECTORY_BASE_DN', 'dc=antin,dc=vn')}",
            service_password=(instance / "secrets" / "directory_service_password").read_text().strip(),
            accounts=accounts,
            people=int(summary.get("officials", officials)),
            password_hash="{ARGON2} (the managed slapd's default), ppolicy on",
            pids=(int(pid_text),) if pid_text.isdigit() else (),
            origin="the product's managed slapd filled by `antin directory generate`",
        )


@contextmanager
def directory_for_bench(folder: Path, *, officials: int) -> Iterator[DirectoryInfo]:
    """The product's directory when it is in this checkout and works, else the stand-in (said loudly)."""
    with ExitStack() as stack:
        info: DirectoryInfo | None = None
        if product_directory_available():
            try:  # only the start is guarded: errors of the bench itself pass through
                info = stack.enter_context(product_slapd(folder / "product", officials=officials))
            except ProviderUnavailableError as err:
                print(f"WARNING: the product's directory failed, using the bench's stand-in slapd: {err}", flush=True)
        if info is None:
            info = stack.enter_context(bench_slapd(folder / "stand-in", officials=officials))
        yield info
