"""The file-level work of ``antin backup`` and ``antin restore``: digests, private files, copies, outside tools,
and a consistent copy of SoftHSM2's token folders."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import click

__all__ = [
    "BackupError",
    "copy_softhsm_tokens",
    "copy_tree",
    "is_empty_folder",
    "private_file",
    "run_tool",
    "sha256_file",
    "tighten",
]


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; the message names the file or setting at fault."""


# -- small file helpers ------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (its folders 0700) before anything writes secrets into it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    return path


def is_empty_folder(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def tighten(folder: Path) -> None:
    """Folders 0700, files 0600: a backup holds the instance's secrets and token."""
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(source, target)


def run_tool(args: list[str], what: str, env: dict[str, str] | None = None) -> None:
    program = shutil.which(args[0]) or next(
        (p for p in (f"/usr/sbin/{args[0]}", f"/usr/lib/postgresql/15/bin/{args[0]}") if os.access(p, os.X_OK)), None
    )
    if program is None:
        raise BackupError(f"{args[0]} is not installed: it is needed to {what}")
    result = subprocess.run([program, *args[1:]], capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed to {what}: {result.stderr.strip()[-500:] or 'no message'}")


# -- the HSM token -------------------------------------------------------------------------------------------


def read_locked(path: Path) -> bytes:
    """A SoftHSM2 file's bytes, read under a shared POSIX lock on the file itself.

    SoftHSM2 (2.6, seen with strace) takes an exclusive ``fcntl`` lock on an object file (and on ``generation``)
    while it rewrites it and a shared one while it reads it; its ``.lock`` files are never locked. The bytes are
    read through the locked descriptor: closing another descriptor of the file would drop this process's lock.
    """
    with open(path, "rb") as fh:
        fcntl.lockf(fh, fcntl.LOCK_SH)
        try:
            return fh.read()
        finally:
            fcntl.lockf(fh, fcntl.LOCK_UN)


def generations(tokens: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tokens)): read_locked(p) for p in sorted(tokens.glob("*/generation"))}


def copy_softhsm_tokens(tokens: Path, target: Path, attempts: int = 5) -> int:
    """Copy SoftHSM2's token folders, each file under its lock; again if a token changed meanwhile.

    Each object is then whole; SoftHSM2 bumps a token's ``generation`` on every change, so the same generation
    before and after the copy means no object was added, removed or changed while it ran.
    """
    for _ in range(attempts):
        before = generations(tokens)
        shutil.rmtree(target, ignore_errors=True)
        for token in sorted(p for p in tokens.iterdir() if p.is_dir()):
            out = target / token.name
            out.mkdir(parents=True, mode=0o700)
            for item in sorted(p for p in token.iterdir() if p.is_file()):
                with contextlib.suppress(FileNotFoundError):  # an object deleted meanwhile: generation moved
                    private_file(out / item.name).write_bytes(read_locked(item))
        if generations(tokens) == before:
            return len(before)
    raise BackupError(f"the HSM token in {tokens} kept changing during {attempts} copies: try again")
