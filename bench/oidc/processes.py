"""Start a server process, wait until it answers, find its workers, stop it (only what the bench started)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from antin.kernel.ports import free_port
from bench.oidc.provider import ProviderUnavailableError

__all__ = [
    "children",
    "connections_per_process",
    "cpu_seconds",
    "free_port",
    "memory_mb",
    "postgres_server",
    "redis_server",
    "run_seconds",
    "server_process",
    "sql_statements",
    "store_processes",
    "wait_http",
]


def wait_http(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0, headers: Mapping[str, str] = {}
) -> None:
    """Poll ``url`` until it answers (any status below 500) or the process dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers=dict(headers))
            with urllib.request.urlopen(request, timeout=2):
                return
        except urllib.error.HTTPError as err:
            if err.code < 500:
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise ProviderUnavailableError(f"the server exited ({proc.returncode}): {_tail(log)}")
        if time.monotonic() > deadline:
            raise ProviderUnavailableError(f"the server did not answer {url} in {timeout:.0f} s: {_tail(log)}")
        time.sleep(0.1)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def server_process(
    argv: Sequence[str], *, env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in its own process group, output to ``log``; on exit stop that group and only it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv), env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (gunicorn's or node cluster's workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_seconds(pids: Sequence[int]) -> dict[int, float]:
    """The time each process has run on a CPU so far, in seconds (``/proc/PID/schedstat``: nanoseconds, where
    ``cpu_seconds`` counts in 10 ms ticks — a store's share of one operation is a fraction of a tick)."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            found[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return found


def store_processes(database_url: str = "", redis_url: str = "") -> tuple[int, ...]:
    """The processes of the stores a provider runs on, found now: the throwaway PostgreSQL of ``database_url`` (its
    server and every child: the backends of the provider's connections, the WAL writer, the checkpointer…) and the
    redis-server of ``redis_url``."""
    found: list[int] = []
    if database_url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        folder = make_url(database_url).query.get("host")
        try:
            server = int((Path(str(folder)) / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            server = 0
        if server:
            found += [server, *children(server)]
    if redis_url:
        port = redis_url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[-1]
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                words = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            # redis-server names itself "[/usr/bin/]redis-server 127.0.0.1:PORT" once started
            title = words[0] if words else b""
            if title.split(b" ", 1)[0].endswith(b"redis-server") and title.endswith(f":{port}".encode()):
                found.append(int(cmdline.parent.name))
    return tuple(found)


def connections_per_process(pids: Sequence[int], port: int) -> tuple[int, ...]:
    """The established TCP connections on local ``port`` that each process holds (a worker's clients), in the order
    of ``pids``: how the clients' kept connections fell between the workers (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                inodes.add(fields[9])
    counts: list[int] = []
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts.append(held)
    return tuple(counts)


def memory_mb(pids: Sequence[int]) -> tuple[float, float] | None:
    """Resident memory of the processes and of their parent (gunicorn's arbiter, node's cluster primary), in MB:
    the sum of their RSS (shared pages counted in each) and of their PSS (shared pages split between them, the
    fairer total for forked workers). None when /proc cannot tell."""
    found = set(pids)
    for pid in pids:
        parent = _status_field(pid, "PPid")
        if parent is not None and parent not in (0, 1, os.getpid()):
            found.add(parent)
    rss = pss = 0
    for pid in found:
        value = _status_field(pid, "VmRSS")
        if value is None:
            return None
        rss += value
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                    break
        except OSError:
            return None
    return rss / 1024, pss / 1024


def _status_field(pid: int, name: str) -> int | None:
    """A number from /proc/PID/status (kB for memory fields)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (the shared store of cluster workers); its URL."""
    import shutil

    program = shutil.which("redis-server")
    if program is None:
        raise ProviderUnavailableError("redis-server is not installed (scripts/install-system-packages.sh test)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with server_process([*argv, "--dir", str(folder)], env={"PATH": "/usr/bin:/bin"}, log=folder / "redis.log") as proc:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ProviderUnavailableError("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ProviderUnavailableError("PostgreSQL is not installed (scripts/install-system-packages.sh test)")
    return found[-1].parent


def sql_statements(url: str) -> int | None:
    """Statements run so far in the database of ``url`` (pg_stat_statements), or None when it is not counted."""
    import psycopg
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    query = parts.query
    try:
        with psycopg.connect(
            host=str(query.get("host", "")), port=str(query.get("port", "")), user=parts.username, dbname=parts.database
        ) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


@contextmanager
def postgres_server(folder: Path) -> Iterator[str]:
    """A throwaway PostgreSQL in ``folder`` (fsync off: the bench measures the provider, not the disk).

    Yields a SQLAlchemy URL of an empty database. initdb refuses root, so as root it runs as ``postgres``.
    """
    import shutil

    bin_dir = _postgres_bin()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for parent in folder.parents:  # postgres must reach its folder through the temp folders
            if parent == Path("/tmp") or parent == parent.parent:
                break
            parent.chmod(parent.stat().st_mode | 0o005)
    data, port = folder / "data", free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_user, *argv], check=True, capture_output=True)

    pg_ctl = str(bin_dir / "pg_ctl")
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "antin", "-A", "trust", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
    # pg_stat_statements counts every statement the provider sends, BEGIN and COMMIT included (SQL/op per row)
    counting = (bin_dir.parent / "lib" / "pg_stat_statements.so").exists()
    if counting:
        options += " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on"
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", str(folder), "-p", str(port), "-U", "antin", "antin")
        if counting:
            psql = [str(bin_dir / "psql"), "-h", str(folder), "-p", str(port), "-U", "antin", "-d", "antin"]
            run(*psql, "-q", "-c", "CREATE EXTENSION pg_stat_statements")
        yield f"postgresql+psycopg://antin@/antin?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], check=False, capture_output=True
        )
