"""Past the peak, on a real `antin serve` under each server (granian, gunicorn), one worker with one thread and a queue
deadline of 1 s: the test plays nginx, stamping each request with ``X-Request-Start`` as docs/production/nginx.conf
does. While a slow client holds the only thread, the requests queued behind it wait longer than the deadline: each is
answered 503 with Retry-After (problem+json for an application, the error page for an official) the moment the thread
is free, instead of late; requests that wait less than the deadline are all served; no 500, no traceback in the log
(`serving` checks it, and that the server stops with exit 0)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from antin.kernel.overload import OVERLOADED
from tests.antin.test_serve import SERVERS, serving, wait_for
from tests.components import free_port

DISCOVERY = "/.well-known/openid-configuration"
SLOW_BODY = b"grant_type=password&username=a"  # no password grant here: a refusal, once the body has come
QUEUED = 6  # requests that queue behind the slow one


def stamped(**headers: str) -> dict[str, str]:
    return {"X-Request-Start": f"t={time.time():.3f}"} | headers


def hold_the_only_thread(port: int) -> socket.socket:
    """A POST whose headers arrive at once and whose body does not: gunicorn's thread waits on it in the app (in
    production nginx reads bodies whole first; here it is the simplest way to keep the one thread busy)."""
    held = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(SLOW_BODY)}\r\nX-Request-Start: t={time.time():.3f}\r\n\r\n"
    )
    held.sendall(head.encode())
    return held


def ask_at_once(base: str, count: int) -> tuple[list[requests.Response], list[threading.Thread]]:
    """``count`` requests sent together, the last as a browser asks; their answers come in as they are given."""
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def ask(extra: dict[str, str]) -> None:
        answer = requests.get(base + DISCOVERY, headers=stamped(**extra), timeout=60)
        with lock:
            answers.append(answer)

    asks = [{}] * (count - 1) + [{"Accept": "text/html", "Accept-Language": "vi"}]
    threads = [threading.Thread(target=ask, args=(extra,)) for extra in asks]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    return answers, threads


@pytest.mark.parametrize("server", SERVERS)
def test_requests_that_wait_past_the_deadline_get_a_prompt_503_and_the_rest_are_served(
    tmp_path: Path, server: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"ANTIN_SERVER_TRUSTED_PROXIES": "1", "ANTIN_SERVER_QUEUE_TIMEOUT": "1", "ANTIN_SERVER_THREADS": "1"}
    with serving(tmp_path, server, f"127.0.0.1:{port}", workers=1, **settings) as proc:
        wait_for(f"{base}/healthz", proc)
        assert requests.get(base + DISCOVERY, headers=stamped(), timeout=30).status_code == 200  # warm
        held = hold_the_only_thread(port)
        time.sleep(0.5)  # the slow request has the thread
        queued, threads = ask_at_once(base, QUEUED)
        time.sleep(2.5)  # they wait behind it, past the 1 s deadline
        held.sendall(SLOW_BODY)
        held_answer = held.recv(4096)
        held.close()
        for thread in threads:
            thread.join(60)
        # under the bound: as many at once, nothing holding the thread, each waits a few ms
        served, threads = ask_at_once(base, QUEUED)
        for thread in threads:
            thread.join(60)
    assert held_answer.startswith(b"HTTP/1.1 4")  # the slow one was served, not cut off
    assert len(queued) == QUEUED and len(served) == QUEUED
    for answer in queued:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert "Traceback" not in answer.text
    api = [a for a in queued if a.headers["Content-Type"] == "application/problem+json"]
    pages = [a for a in queued if a.headers["Content-Type"].startswith("text/html")]
    assert len(api) == QUEUED - 1 and len(pages) == 1
    assert all(a.json()["type"] == OVERLOADED and "was not processed" in a.json()["detail"] for a in api)
    assert "Hệ thống đang quá tải" in pages[0].text and '<html lang="vi">' in pages[0].text
    assert [a.status_code for a in served] == [200] * QUEUED
