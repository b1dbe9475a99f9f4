"""The webhook drainer through a PostgreSQL outage (issue 14): a worker's drainer that found the database away
waited for the next event before it looked at the queue again, so the callbacks due (retries of events sent before
the outage) stayed unsent after a restart or a failover until someone signed something on that worker. Now it
looks again a few seconds later, and says so in one line. Real PostgreSQL, a real receiver."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from signing.requests.models import WebhookDelivery
from signing.requests.webhooks import WebhookQueue
from tests.postgres_standby import kill_host, start_postgres
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]


def test_callbacks_due_are_sent_once_the_database_is_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    received: list[str] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["Antin-Event-Id"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    caplog.set_level(logging.WARNING, logger="signing.requests.webhooks")
    with postgres_server(tmp_path / "pg") as url:
        settings = load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_DATABASE_URL": url})
        instance = Instance(settings)
        try:
            upgrade(instance.database)
            queue = WebhookQueue(instance)
            queue.secrets.rotate("rp")
            with instance.database.session() as session:  # a retry due now, of an event sent before the outage
                session.add(
                    WebhookDelivery(
                        event_id="evt-1",
                        client_id="rp",
                        url=f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                        body="{}",
                        attempts=1,
                        next_attempt_at=instance.clock.now(),
                    )
                )
            kill_host(url)
            earlier = {thread.ident for thread in threading.enumerate()}  # other tests' apps may run drainers too
            queue.start()  # the worker's drainer meets the outage
            deadline = time.monotonic() + 20
            while not [r for r in caplog.records if r.thread not in earlier]:
                assert time.monotonic() < deadline, "the drainer said nothing"
                time.sleep(0.05)
            start_postgres(url)
            deadline = time.monotonic() + 30
            while not received:  # no new event wakes it: it must look again by itself
                assert time.monotonic() < deadline, "the callback due was not sent after the database came back"
                time.sleep(0.1)
            queue.close()  # as Instance.close does: its drainer stops rather than poll a database that is gone
            assert not [t for t in threading.enumerate() if t.ident not in earlier and t.name == "antin-webhooks"]
        finally:
            instance.close()
            receiver.shutdown()
    assert received == ["evt-1"]
    records = [r for r in caplog.records if r.name == "signing.requests.webhooks" and r.thread not in earlier]
    assert [r.exc_info for r in records] == [None]
    assert "the database is unavailable" in records[0].getMessage()
