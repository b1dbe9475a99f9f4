"""Structured logs: one JSON object per line on stderr, with the request id when there is one.

Nothing secret goes in: values under sensitive-looking keys are replaced, and the formatter never prints
request bodies or headers.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from antin.kernel.settings import LogSettings

__all__ = ["JsonFormatter", "configure_logging", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("antin_request_id", default=None)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_SENSITIVE = ("password", "secret", "token", "pin", "authorization", "cookie", "private")
# json.dumps with these options builds an encoder per call; this is json.dumps's own, built once
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


@functools.lru_cache(maxsize=1024)
def _sensitive(key: str) -> bool:
    """Whether an extra field's name looks secret; the names are the code's own few, so each is looked at once."""
    lowered = key.lower()
    return any(word in lowered for word in _SENSITIVE)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if _sensitive(key) else value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return _ENCODER.encode(entry)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def configure_logging(settings: LogSettings) -> None:
    """Send the platform's logs to stderr in the configured format; safe to call again."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_antin", False)]:
        root.removeHandler(old)
    handler._antin = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    for noisy in ("werkzeug", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
