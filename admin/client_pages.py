"""One page of OIDC clients, as ``/api/admin/officials`` pages officials: ``q``, ``unit``, ``size`` and an opaque
``cursor`` (the ``next_cursor`` of the previous page, ``null`` on the last).

Clients are ordered by ``client_id`` and the cursor holds the last one shown, not an offset: a client registered or
removed while someone pages does not shift the pages after it (no client shown twice, none skipped that was there
throughout). The cursor also holds the search it belongs to, so that it is refused with another ``q`` or ``unit``.

This module checks the request and makes the cursor; the rows come from the database (:mod:`admin.client_query`),
which filters and orders them, so a page reads only its own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass

from admin.officials import DEFAULT_PAGE, MAX_PAGE, InvalidQueryError, fold
from idp.oidc.clients import ClientRecord

__all__ = ["MAX_SEARCH", "ClientsPage", "ClientsReader", "page_of_clients"]

MAX_SEARCH = 128  # characters of ``q``, as for officials


@dataclass(frozen=True)
class ClientsPage:
    items: tuple[ClientRecord, ...]
    cursor: str | None  # pass back for the next page; None on the last


# (folded search text, the client_id to start after, how many): those clients in the caller's reach, by client_id
ClientsReader = Callable[[str, str, int], list[ClientRecord]]


def page_of_clients(
    read: ClientsReader,
    text: str = "",
    *,
    unit: str | None = None,
    cursor: str | None = None,
    size: int = DEFAULT_PAGE,
) -> ClientsPage:
    """The page of the clients ``read`` gives (those within the caller's reach) whose name (with or without
    diacritics) or client_id contains ``text``, after ``cursor``."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidQueryError(f"page size must be between 1 and {MAX_PAGE}")
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise InvalidQueryError(f"the search text is over {MAX_SEARCH} characters")
    query = {"t": text, "u": unit}
    after = _after(cursor, query)
    matching = read(fold(text), after, size + 1)  # one more: whether a next page exists
    page = tuple(matching[:size])
    more = len(matching) > size
    return ClientsPage(page, _cursor(page[-1].client_id, query) if more else None)


def _cursor(last: str, query: dict[str, str | None]) -> str:
    raw = json.dumps({"a": last, "q": query}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None, query: dict[str, str | None]) -> str:
    """The client_id the page starts after ("" for the first page)."""
    if not cursor:
        return ""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["a"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidQueryError("the cursor is not one this search gave") from None
    if not isinstance(after, str) or not after or data.get("q") != query:
        raise InvalidQueryError("the cursor is not one this search gave")
    return after
