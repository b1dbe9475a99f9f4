"""The officials' search keys kept up to date by themselves (docs/directory.md, "Search keys after an upgrade").

Every official carries ``antinSearchKey`` (:func:`directory.names.search_keys`), which the text search matches. A
directory from before the key, or whose keys an older version folded differently, is brought up to date once: by
the managed slapd on its first start after the upgrade (in the background, progress in the log) or by ``antin
directory search-keys``. Either then writes a marker entry, ``cn=antin-search-keys`` under the base DN, naming the
key form it wrote (:data:`SEARCH_KEYS_VERSION`): every later start reads that one entry instead of every official.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from directory.errors import DirectoryError
from directory.ldap_client import Entry, LdapConnection, Modification
from directory.names import search_keys

__all__ = [
    "FIX_COMMAND",
    "SEARCH_KEYS_VERSION",
    "SearchKeyRun",
    "keys_are_current",
    "mark_keys_current",
    "marker_dn",
    "search_key_change",
    "stale_keys_warning",
    "write_search_keys",
]

log = logging.getLogger("antin.directory.search_keys")

# The form of the keys: raise it when directory.names.search_keys folds differently, and every directory rewrites
# its keys once, on its next start (managed) or by the command (outside directory).
SEARCH_KEYS_VERSION = 1
FIX_COMMAND = "antin directory search-keys"
PEOPLE_FILTER = "(objectClass=inetOrgPerson)"
PROGRESS_EVERY = 5.0  # seconds between two progress lines in the log

Progress = Callable[[int, int], None]


def marker_dn(base_dn: str) -> str:
    return f"cn=antin-search-keys,{base_dn}"


def _marker_text() -> str:
    return f"search keys version {SEARCH_KEYS_VERSION}"


def keys_are_current(conn: LdapConnection, base_dn: str) -> bool:
    """Whether the marker says every official's key was written in this version's form (one read)."""
    entry = conn.read(marker_dn(base_dn), ["description"])
    return entry is not None and _marker_text() in entry.get("description")


def mark_keys_current(conn: LdapConnection, base_dn: str) -> None:
    """Record that every official's key is in this version's form (after a full run, or on a new directory)."""
    dn = marker_dn(base_dn)
    if conn.read(dn, ["1.1"]) is None:
        conn.add(
            dn,
            {"objectClass": ["applicationProcess"], "cn": ["antin-search-keys"], "description": [_marker_text()]},
        )
    else:
        conn.modify(dn, [Modification("replace", "description", [_marker_text()])])


def stale_keys_warning(conn: LdapConnection, base_dn: str) -> str | None:
    """The readiness warning when the keys are not known to be current; None when they are."""
    if keys_are_current(conn, base_dn):
        return None
    return (
        "officials' search keys were not written by this version: the text search may miss officials; "
        f"run `{FIX_COMMAND}`"
    )


def search_key_change(entry: Entry) -> tuple[str, list[Modification]] | None:
    """The modifications that give ``entry`` its right search key; None when it has it (or lacks a name)."""
    uid, full_name = entry.first("uid"), entry.first("cn")
    if not uid or not full_name:
        return None
    keys = search_keys(full_name, uid)
    if {k.casefold() for k in entry.get("antinSearchKey")} == set(keys):
        return None
    mods = [Modification("replace", "antinSearchKey", keys)]
    if "antinofficial" not in {c.lower() for c in entry.get("objectClass")}:
        mods.insert(0, Modification("add", "objectClass", ["antinOfficial"]))
    return entry.dn, mods


def write_search_keys(
    conn: LdapConnection,
    base_dn: str,
    page_size: int,
    *,
    write: bool = True,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Give every official under ``base_dn`` its right key; with ``write=False`` only count who lacks it.

    Returns (officials read, officials written or to write). Each page's changes are pipelined on the connection of
    the paged search, between two of its pages; ``progress(read, written)`` is called after each page.
    """
    read = written = 0
    attrs = ("uid", "cn", "objectClass", "antinSearchKey")
    cookie = b""
    while True:
        entries, cookie = conn.search_page(base_dn, "sub", PEOPLE_FILTER, attrs, page_size, cookie)
        read += len(entries)
        changes = [change for entry in entries if (change := search_key_change(entry)) is not None]
        written += conn.modify_pipelined(changes) if write else len(changes)
        if progress is not None:
            progress(read, written)
        if not cookie:
            return read, written


class SearchKeyRun:
    """The managed slapd's catch-up run in a background thread: it writes the keys, logs its progress, then the
    marker. A run cut short (slapd stopped) leaves no marker, so the next start runs again; it writes only what
    still differs."""

    def __init__(self, connect: Callable[[], LdapConnection], base_dn: str, page_size: int = 500) -> None:
        self.connect = connect
        self.base_dn = base_dn
        self.page_size = page_size
        self.read = self.written = 0
        self.error: DirectoryError | None = None
        self._thread = threading.Thread(target=self._run, name="antin-search-keys", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run; True when it is over (done or failed)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        started = last = time.monotonic()
        log.warning("officials' search keys: not written by this version, writing them in the background")

        def report(read: int, written: int) -> None:
            nonlocal last
            self.read, self.written = read, written
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                log.warning("officials' search keys: %d officials read, %d written so far", read, written)

        try:
            conn = self.connect()
            try:
                write_search_keys(conn, self.base_dn, self.page_size, progress=report)
                mark_keys_current(conn, self.base_dn)
            finally:
                conn.close()
        except DirectoryError as err:
            self.error = err
            log.warning("officials' search keys: run cut short (%s); the next start resumes it", err)
            return
        seconds = time.monotonic() - started
        log.warning(
            "officials' search keys: up to date, %d of %d officials written in %.1f s",
            self.written,
            self.read,
            seconds,
        )
