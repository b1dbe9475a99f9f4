"""``ManagedSlapd``: the private OpenLDAP server of the embedded default and of the tests.

Everything lives in one folder: slapd.conf (rewritten on every start), the MDB database, the pid file, the
log, the port it listens on (picked once when the setting is 0, then remembered so that every ``antin``
process of the instance finds the same server) and, when the path is short enough, the ldapi socket.
The directory admin is whoever connects on that socket with the same Unix uid (SASL EXTERNAL).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from antin.kernel.ports import free_port
from directory.errors import DirectoryError, DirectoryUnavailableError, NotFoundError
from directory.ldap_client import LdapConnection, Modification, connect_external, explode_dn
from directory.policy import SERVICE_POLICY, PasswordPolicy
from directory.search_keys import SearchKeyRun, keys_are_current, mark_keys_current
from directory.slapd_config import SlapdLayout, render_slapd_conf, schema_text
from directory.slapd_replication import (
    ReplicationPeer,
    SlapdReplication,
    context_csns,
    peer_status,
    replication_database_lines,
    replication_global_lines,
    seeds_the_directory,
)

__all__ = ["ManagedSlapd", "SlapdError", "SlapdPortTakenError", "SlapdTls"]

SLAPD_CANDIDATES = ("/usr/sbin/slapd", "/usr/local/libexec/slapd", "/usr/libexec/slapd")
REPLICA_ARRIVAL_SECONDS = 15.0
"""How long a server that receives the directory by replication waits for the service account to arrive."""


@dataclass(frozen=True)
class SlapdTls:
    """A certificate for the managed slapd: StartTLS on ldap:// and an ldaps:// listener (tests, staging)."""

    cert_file: Path
    key_file: Path


class SlapdError(DirectoryUnavailableError):
    """The managed slapd cannot be started (not installed, bad configuration, port taken…)."""


class SlapdPortTakenError(SlapdError):
    """The port slapd was told to listen on is another program's (a port picked for us is replaced instead)."""


def find_program(name: str, candidates: tuple[str, ...] = ()) -> str:
    found = shutil.which(name) or next((c for c in candidates if os.access(c, os.X_OK)), None)
    if found is None:
        raise SlapdError(f"{name} is not installed (Debian: apt-get install slapd ldap-utils)")
    return found


class ManagedSlapd:
    """A slapd whose configuration and data live in ``folder``."""

    def __init__(
        self,
        folder: Path,
        *,
        base_dn: str,
        port: int = 0,
        service_password: str,
        password_hash: str = "{ARGON2}",  # noqa: S107 (a scheme name)
        default_policy: PasswordPolicy | None = None,
        tls: SlapdTls | None = None,
        replication: SlapdReplication | None = None,
        sync_commits: bool = False,
    ) -> None:
        self.layout = SlapdLayout(Path(folder))
        self.base_dn = base_dn
        self.requested_port = port
        self.service_password = service_password
        self.password_hash = password_hash
        self.default_policy = default_policy or PasswordPolicy()
        self.tls = tls
        self.replication = replication
        self.sync_commits = sync_commits
        self.extra_listeners: tuple[str, ...] = ()
        """More listener URLs (``-h``) than loopback and ldapi: what other providers connect to."""
        self._proc: subprocess.Popen[bytes] | None = None
        self.search_key_run: SearchKeyRun | None = None
        """The officials' search keys being brought up to date in the background since this start, if they were not."""

    # -- names -----------------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.layout.folder

    @property
    def service_dn(self) -> str:
        return f"cn=antin-service,{self.base_dn}"

    @property
    def admin_dn(self) -> str:
        return f"cn=admin,{self.base_dn}"

    @property
    def port(self) -> int:
        """The TCP port: the setting, or the one picked on the first start and kept in the folder."""
        if self.requested_port:
            return self.requested_port
        try:
            return int(self.layout.portfile.read_text().strip())
        except (OSError, ValueError):
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
            port = free_port()
            self.layout.portfile.write_text(f"{port}\n")
            return port

    @property
    def ldaps_uri(self) -> str | None:
        """The ldaps:// listener, when the slapd has a certificate (its port is kept in the folder too)."""
        if self.tls is None:
            return None
        portfile = self.folder / "ldaps-port"
        try:
            port = int(portfile.read_text().strip())
        except (OSError, ValueError):
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
            port = free_port()
            portfile.write_text(f"{port}\n")
        return f"ldaps://127.0.0.1:{port}"

    @property
    def ldap_uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldapi_uri(self) -> str:
        return "ldapi://" + quote(str(self.layout.socket), safe="")

    @property
    def uris(self) -> tuple[str, ...]:
        """ldapi first (no port to go stale, no TCP), then loopback TCP."""
        return (self.ldapi_uri, self.ldap_uri)

    # -- lifecycle -------------------------------------------------------------------------------------

    def pid(self) -> int | None:
        try:
            pid = int(self.layout.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # A recycled pid belongs to someone else: only a slapd reading our slapd.conf is ours.
        return pid if os.fsencode(self.layout.conf) in cmdline else None

    def is_running(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
        return self.pid() is not None and self.layout.socket.exists()

    def ensure_running(self, timeout: float = 10.0) -> bool:
        """Start slapd unless one already runs on this folder; True when this call started it."""
        with self._start_lock():
            if self.is_running():
                return False
            self._start_locked(timeout)
            return True

    def start(self, timeout: float = 10.0) -> None:
        """Start slapd in the background and return once it answers; create the base entries on first start."""
        with self._start_lock():
            if self.is_running():
                raise SlapdError(f"a slapd already runs on {self.folder} (pid {self.pid()})")
            self._start_locked(timeout)

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        with open(self.layout.lockfile, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write_config(self) -> None:
        self.layout.db.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.layout.schema.write_text(schema_text(), encoding="utf-8")
        conf = render_slapd_conf(
            self.layout,
            base_dn=self.base_dn,
            service_dn=self.service_dn,
            admin_dn=self.admin_dn,
            password_hash=self.password_hash,
            tls=(self.tls.cert_file, self.tls.key_file) if self.tls else None,
            global_extra=replication_global_lines(self.replication),
            database_extra=replication_database_lines(
                self.replication,
                base_dn=self.base_dn,
                service_dn=self.service_dn,
                service_password=self.service_password,
            ),
            sync_commits=self.sync_commits,
        )
        self.layout.conf.write_text(conf, encoding="utf-8")
        self.layout.conf.chmod(0o600)

    def _start_locked(self, timeout: float) -> None:
        slapd = find_program("slapd", SLAPD_CANDIDATES)
        self.write_config()
        for attempt in range(3):
            log_start = self._log_size()
            self._spawn(slapd)
            failure = self._wait_until_up(timeout)
            if failure is None:
                break
            if not self._port_is_free():
                if self.requested_port:
                    raise SlapdPortTakenError(f"slapd did not start: port {self.port} is taken")
                if attempt < 2:
                    self.layout.portfile.unlink(missing_ok=True)  # a port picked for us: pick another, try again
                    continue
            said = self._log_tail(since=log_start) or self._config_check(slapd) or "no message"
            raise SlapdError(f"slapd did not start ({failure}): {said}")
        self.initialize()

    def _spawn(self, slapd: str) -> None:
        self.layout.socket.unlink(missing_ok=True)
        self.layout.pidfile.unlink(missing_ok=True)
        listen = f"{self.ldap_uri}/ {self.ldapi_uri}" + (f" {self.ldaps_uri}/" if self.ldaps_uri else "")
        listen += "".join(f" {uri}" for uri in self.extra_listeners)
        with open(self.layout.logfile, "ab") as log:
            # -d 0 keeps slapd in the foreground of its own session: we know its pid and it outlives us. It then
            # writes next to nothing (-d none would write a line per operation deferred under load), hence
            # _port_is_free and _config_check to say why it did not start.
            self._proc = subprocess.Popen(
                [slapd, "-f", str(self.layout.conf), "-h", listen, "-d", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )

    def _wait_until_up(self, timeout: float) -> str | None:
        """None once slapd answers, else why not."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while time.monotonic() < deadline:
            if self._proc is not None and (code := self._proc.poll()) is not None:
                self._proc = None
                return f"it exited with status {code}"
            if self.layout.socket.exists() and self.layout.pidfile.exists():
                try:
                    self.admin_connection(timeout=1.0).close()
                    return None
                except DirectoryUnavailableError:
                    pass
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        self.stop()
        return f"it did not answer within {timeout:g} s"

    def _port_is_free(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as slapd does: TIME_WAIT is no owner
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                return False
        return True

    def _config_check(self, slapd: str) -> str:
        """slaptest's verdict on the configuration when it finds a fault (slapd at -d 0 says nothing)."""
        slaptest = str(Path(slapd).with_name("slaptest"))
        try:
            checked = subprocess.run(
                [slaptest, "-f", str(self.layout.conf), "-u"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        if checked.returncode == 0:
            return ""
        return " | ".join(line.strip() for line in (checked.stderr + checked.stdout).splitlines() if line.strip())

    def _log_size(self) -> int:
        try:
            return self.layout.logfile.stat().st_size
        except OSError:
            return 0

    def _log_tail(self, lines: int = 5, since: int = 0) -> str:
        """The last lines slapd wrote after offset ``since`` (at -d 0, only what a library prints on a crash)."""
        try:
            with open(self.layout.logfile, "rb") as log:
                log.seek(since)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop slapd with SIGTERM (it flushes and exits cleanly) and wait; SIGKILL only if it hangs."""
        pid = self.pid() or (self._proc.pid if self._proc is not None and self._proc.poll() is None else None)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_for_exit(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_for_exit(pid, 5.0)
        self._proc = None
        self.layout.socket.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would (for tests of what clients see when the server dies)."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_for_exit(pid, 5.0)
        self._proc = None
        self.layout.pidfile.unlink(missing_ok=True)

    def _wait_for_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=0.05)
                    return True
                continue
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return True
            time.sleep(0.02)
        return False

    def serve(self, until: Callable[[], bool]) -> None:
        """Run in the foreground until ``until()`` is true (the caller's stop request) or slapd dies, then stop it.

        A stop requested while slapd starts is honoured once it has started: never a slapd left behind.
        """
        if until():
            return  # stopped before slapd was started
        started = self.ensure_running()
        if not started:
            raise SlapdError(f"a slapd already runs on {self.folder} (pid {self.pid()})")
        try:
            while self.is_running() and not until():
                time.sleep(0.1)
        finally:
            self.stop()

    # -- content -----------------------------------------------------------------------------------------

    def admin_connection(self, timeout: float = 5.0) -> LdapConnection:
        """A connection bound as the directory admin (ldapi, SASL EXTERNAL)."""
        return connect_external(str(self.layout.socket), timeout=timeout)

    def initialize(self) -> None:
        """Create the base entries on first start; make the service account's password the configured one; bring
        the officials' search keys up to date when this version has not written them (:mod:`directory.search_keys`).
        """
        self.search_key_run = None
        conn = self.admin_connection()
        try:
            if conn.read(self.base_dn, ["1.1"]) is None:
                if not self._seeds_the_directory():
                    return  # a provider holds the directory: replication brings the base entries
                for dn, attrs in self.base_entries():
                    conn.add(dn, attrs)
                mark_keys_current(conn, self.base_dn)  # a new directory: every official is written with its key
            self._ensure_service_password(conn)
            if not keys_are_current(conn, self.base_dn):
                # In the background: at a million officials the run takes minutes, and only this start pays it.
                self.search_key_run = SearchKeyRun(self.admin_connection, self.base_dn)
                self.search_key_run.start()
        finally:
            conn.close()

    def _seeds_the_directory(self) -> bool:
        """Whether an empty database gets the base entries here (see :func:`seeds_the_directory`)."""
        return seeds_the_directory(self.replication, service_dn=self.service_dn, password=self.service_password)

    def replication_status(self) -> list[ReplicationPeer]:
        """Each provider: does it answer, and has it the same changes as this server."""
        if self.replication is None:
            return []
        conn = self.admin_connection(timeout=1.0)
        try:
            local = context_csns(conn, self.base_dn)
        finally:
            conn.close()
        return [
            peer_status(uri, local, base_dn=self.base_dn, service_dn=self.service_dn, password=self.service_password)
            for uri in self.replication.providers
        ]

    def base_entries(self) -> list[tuple[str, dict[str, list[str]]]]:
        base = self.base_dn
        attr, value = explode_dn(base)[0]
        top: dict[str, list[str]]
        if attr.lower() == "dc":
            top = {"objectClass": ["dcObject", "organization"], "dc": [value], "o": ["Ấn Tín"]}
        elif attr.lower() == "o":
            top = {"objectClass": ["organization"], "o": [value]}
        elif attr.lower() == "ou":
            top = {"objectClass": ["organizationalUnit"], "ou": [value]}
        else:
            raise DirectoryError(f"the base DN must start with dc=, o= or ou=, not {base!r}")

        def ou(name: str, description: str) -> tuple[str, dict[str, list[str]]]:
            return f"ou={name},{base}", {
                "objectClass": ["organizationalUnit"],
                "ou": [name],
                "description": [description],
            }

        policies = f"ou=policies,{base}"
        return [
            (base, top),
            ou("people", "Accounts outside the unit hierarchy"),
            ou("units", "Party units; officials live under their unit"),
            ou("groups", "Groups and roles"),
            ou("policies", "Password policies"),
            (f"cn={self.default_policy.name},{policies}", self.default_policy.entry_attributes()),
            (f"cn={SERVICE_POLICY.name},{policies}", SERVICE_POLICY.entry_attributes()),
            (
                self.service_dn,
                {
                    "objectClass": ["organizationalRole", "simpleSecurityObject"],
                    "cn": ["antin-service"],
                    "description": ["The account Ấn Tín reads and writes the directory with"],
                    "userPassword": [self.service_password],
                    "pwdPolicySubentry": [f"cn={SERVICE_POLICY.name},{policies}"],
                },
            ),
        ]

    def _ensure_service_password(self, conn: LdapConnection) -> None:
        probe = LdapConnection(self.ldapi_uri, conn.config)
        try:
            probe.bind(self.service_dn, self.service_password)
            return
        except DirectoryError:
            pass
        finally:
            probe.close()
        deadline = time.monotonic() + (REPLICA_ARRIVAL_SECONDS if self.replication is not None else 0.0)
        while True:
            try:
                conn.modify(self.service_dn, [Modification("replace", "userPassword", [self.service_password])])
                return
            except NotFoundError as err:
                # a server that receives the directory by replication may hold the base entry and not yet the
                # service account, a moment behind it: wait for it before calling it missing
                if time.monotonic() >= deadline:
                    raise SlapdError(f"{self.service_dn} is missing from the directory") from err
            time.sleep(0.1)

    def slapadd(self, ldif_path: Path, *, quick: bool = True) -> None:
        """Load an LDIF file offline (slapd must be stopped): fast, but overlays do not run.

        ``quick`` (``-q``) is the fastest, and leaves a database that cannot be used if the load fails half-way:
        right for a folder made for the load; without it, each entry is committed as it is added.
        """
        if self.is_running():
            raise SlapdError("slapadd needs the managed slapd to be stopped")
        self.write_config()
        program = find_program("slapadd", ("/usr/sbin/slapadd",))
        result = subprocess.run(
            [program, *(["-q"] if quick else []), "-f", str(self.layout.conf), "-l", str(ldif_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SlapdError(f"slapadd failed: {result.stderr.strip()[-500:]}")

    def slapcat(self, ldif_path: Path) -> None:
        """Write the whole database as LDIF (operational attributes and password hashes included)."""
        if self.is_running():
            raise SlapdError("slapcat here needs the managed slapd to be stopped")
        self.write_config()
        program = find_program("slapcat", ("/usr/sbin/slapcat",))
        result = subprocess.run(
            [program, "-f", str(self.layout.conf), "-o", "ldif-wrap=no", "-l", str(ldif_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SlapdError(f"slapcat failed: {result.stderr.strip()[-500:]}")

    def wipe_database(self) -> None:
        """Delete the database files (slapd stopped): what is left of a failed ``slapadd -q`` cannot be used."""
        if self.is_running():
            raise SlapdError("the managed slapd must be stopped")
        for name in ("data.mdb", "lock.mdb"):
            (self.layout.db / name).unlink(missing_ok=True)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True
