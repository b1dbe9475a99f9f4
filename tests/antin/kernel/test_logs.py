"""The JSON log line an operator's collector reads: one object per line, the extra fields kept, anything under a
secret-looking name replaced, Vietnamese as it is, the request id and an error's traceback when there are some."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask

from antin.kernel import web
from antin.kernel.logs import JsonFormatter, request_id_var


def record(extra: dict[str, object], *, exc: bool = False) -> logging.LogRecord:
    made = logging.getLogger("antin.audit").makeRecord(
        "antin.audit", logging.INFO, __file__, 1, "audit %s", ("oauth:token:issue",), None
    )
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            made.exc_info = sys.exc_info()
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_line_keeps_its_fields_and_hides_secret_looking_ones() -> None:
    extra = {
        "client_id": "cổng-thông-tin",
        "subject": "nguyen.van.a",
        "client_secret": "s3cr3t",
        "Password": "hunter2",
        "refresh_token": "rt",
        "hsm_pin": "1234",
        "when": datetime(2026, 12, 6, tzinfo=UTC),
    }
    outside = request_id_var.set(None)  # outside a request (an earlier test of this process may have left one)
    try:
        line = JsonFormatter().format(record(extra))
    finally:
        request_id_var.reset(outside)
    assert "\n" not in line and "s3cr3t" not in line and "hunter2" not in line and "1234" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "antin.audit"
    assert entry["msg"] == "audit oauth:token:issue"
    assert entry["client_id"] == "cổng-thông-tin" and "cổng-thông-tin" in line  # not escaped
    assert entry["subject"] == "nguyen.van.a"
    for key in ("client_secret", "Password", "refresh_token", "hsm_pin"):
        assert entry[key] == "[redacted]"
    assert entry["when"] == "2026-12-06 00:00:00+00:00"  # what JSON cannot hold, as text
    assert "request_id" not in entry and "lineno" not in entry and "thread" not in entry


def test_the_request_id_and_an_errors_traceback() -> None:
    token = request_id_var.set("req-42")
    try:
        entry = json.loads(JsonFormatter().format(record({"audit_event": "x"}, exc=True)))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-42" and entry["audit_event"] == "x"
    assert entry["error"] == "ValueError" and "boom" in entry["traceback"]


def test_a_request_id_ends_with_its_request() -> None:
    """A server thread's log lines between two requests (or before the next one starts) named the previous one."""
    app = Flask("logs-test")
    app.secret_key = "k" * 32
    web.init_app(app)
    app.add_url_rule("/id", "id", lambda: request_id_var.get() or "")
    outside = request_id_var.set(None)
    try:
        seen = app.test_client().get("/id").get_data(as_text=True)
        assert len(seen) == 16  # the request's own id while it runs
        assert request_id_var.get() is None
    finally:
        request_id_var.reset(outside)
