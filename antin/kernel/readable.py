"""What a person reads of machine values: a time, a day, a browser.

One format per language wherever a page shows a time: the day first, ``dd/mm/yyyy HH:MM``, in Vietnam's time
(UTC+7) — in English too, as the portal has always written it, so that an official reading both languages reads
the same date. APIs keep their machine formats (ISO 8601 in UTC); only pages use these.

A session's user-agent is shown as "Chrome 131 trên Windows" / "Firefox 133 on Linux": the common browsers and
systems are recognised by their well-known tokens (the order matters: Edge and Opera also say "Chrome", Chrome
also says "Safari"), anything else by its first product token. The raw string stays for a ``title`` attribute.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["VIETNAM_TIME", "describe_user_agent", "local_date", "local_time"]

VIETNAM_TIME = timezone(timedelta(hours=7))


def _vietnam(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a naive time is UTC (SQLite keeps no offset)
    return aware.astimezone(VIETNAM_TIME)


def local_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """``05/12/2026 15:36`` (Vietnam's time); empty for no time."""
    if moment is None:
        return ""
    return _vietnam(moment).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def local_date(moment: datetime | None) -> str:
    """``05/12/2026``: the day in Vietnam (a certificate valid until 23:00 UTC is valid until the next day here)."""
    if moment is None:
        return ""
    return _vietnam(moment).strftime("%d/%m/%Y")


# (name shown, pattern whose group 1 is the version); the first that matches wins
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Cốc Cốc", r"coc_coc_browser/(\d+)"),
        ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
        ("Opera", r"(?:OPR|Opera)/(\d+)"),
        ("Samsung Internet", r"SamsungBrowser/(\d+)"),
        ("Yandex", r"YaBrowser/(\d+)"),
        ("Zalo", r"Zalo(?:Theme)?/?(\d*)"),
        ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
        ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/(\d+)"),
        ("Chromium", r"Chromium/(\d+)"),
        ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
        ("Internet Explorer", r"(?:MSIE |Trident/.*rv:)(\d+)"),
    )
)
_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Windows", r"Windows"),
        ("Android", r"Android"),
        ("iPhone", r"iPhone"),
        ("iPad", r"iPad"),
        ("ChromeOS", r"CrOS"),
        ("macOS", r"Mac OS X|Macintosh"),
        ("Linux", r"Linux|X11"),
    )
)
_ON = {"vi": "trên", "en": "on"}
_UNKNOWN = {"vi": "không rõ", "en": "unknown"}
_OTHER = {"vi": "Trình duyệt khác", "en": "Another browser"}
_PRODUCT = re.compile(r"^([A-Za-z][\w.-]{0,30})(?:/(\d+))?")


def describe_user_agent(user_agent: str | None, language: str = "vi") -> str:
    """The browser and system in ``language``: "Chrome 131 trên Windows" (vi), "Chrome 131 on Windows" (en); a
    tool that is no browser by its own name ("curl 8"); "không rõ" / "unknown" for nothing at all."""
    text = (user_agent or "").strip()
    on = _ON.get(language, _ON["en"])
    if not text:
        return _UNKNOWN.get(language, _UNKNOWN["en"])
    browser = next(((name, m.group(1)) for name, pattern in _BROWSERS if (m := pattern.search(text))), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), None)
    if browser is None:
        product = _PRODUCT.match(text)
        if product is None or product.group(1) == "Mozilla":
            return f"{_OTHER.get(language, _OTHER['en'])} {on} {system}" if system else text[:40]
        browser = (product.group(1), product.group(2) or "")
    name = f"{browser[0]} {browser[1]}".strip()
    return f"{name} {on} {system}" if system else name
