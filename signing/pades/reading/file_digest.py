"""The SHA-256 of the whole file, computed beside the reading when the file is large."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from typing import IO

from signing.pades.reading.errors import UnusableInputError

__all__ = ["BACKGROUND_HASH_FROM", "CHUNK", "buffer_of", "start_sha256"]

CHUNK = 1 << 20
"""How much of the file one read takes."""
BACKGROUND_HASH_FROM = 1 << 20  # smaller files are hashed in line: a thread would cost more than it saves


def buffer_of(stream: IO[bytes]) -> memoryview | None:
    """The bytes of an in-memory file without a copy (``getvalue`` returns the bytes it was made from)."""
    return memoryview(stream.getvalue()) if isinstance(stream, io.BytesIO) else None


def start_sha256(stream: IO[bytes], size: int) -> Callable[[], str]:
    """The file's SHA-256, computed on another core while the file is read when it is large.

    hashlib releases the GIL on large buffers, so this takes the second pass over a 10 MB file (about 10 ms
    here) off the verification's own time. The bytes are read without moving ``stream``'s position: from the
    buffer of an in-memory file, with ``os.pread`` from a real one; anything else is hashed in line.
    """
    if size < BACKGROUND_HASH_FROM:
        digest = _sha256(stream, size)
        return lambda: digest
    try:
        view = buffer_of(stream)
        fd = stream.fileno() if view is None else -1
    except (OSError, AttributeError, io.UnsupportedOperation):
        digest = _sha256(stream, size)
        return lambda: digest
    result: dict[str, str] = {}

    def work() -> None:
        h = hashlib.sha256()
        try:
            if view is not None:
                h.update(view[:size])
            else:
                offset = 0
                while offset < size:
                    chunk = os.pread(fd, min(CHUNK, size - offset), offset)
                    if not chunk:
                        break
                    h.update(chunk)
                    offset += len(chunk)
            result["sha256"] = h.hexdigest()
        except Exception as err:  # reported by the caller, in line
            result["error"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=work, name="antin-file-sha256", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if "sha256" not in result:
            raise UnusableInputError("unreadable", result.get("error", "the file could not be hashed"))
        return result["sha256"]

    return wait


def _sha256(stream: IO[bytes], size: int) -> str:
    h = hashlib.sha256()
    stream.seek(0)
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            break
        h.update(chunk)
        remaining -= len(chunk)
    return h.hexdigest()
