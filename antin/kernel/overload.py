"""Past the peak: a request that waited too long for a worker thread is refused at once with a clear 503.

An instance that gets more than it can answer queues the rest: in the listening socket's backlog, then in the
worker's own queue (gunicorn's gthread accepts connections ahead of its threads). Without a bound the queue only
grows, every answer comes later than the last, and clients get nginx's 504 after its ``proxy_read_timeout`` (a
minute) or their own timeout, after the work was done for no one. Production systems bound the wait instead
(Heroku's router and rack-timeout's ``wait_timeout``, Envoy's pending-request circuit breaker, Keycloak's
``http-max-queued-requests``): this one bounds it in time. nginx stamps each request with the moment it passed it
on (``X-Request-Start: t=<seconds>``, docs/production/nginx.conf); when a worker thread takes the request up after
more than ``[server] queue_timeout`` seconds, it answers 503 with ``Retry-After`` — problem+json for APIs, the
error page for browsers — without running the app, so a long queue drains in moments and the requests behind it
are served within the bound instead of late.

Only a trusted proxy's stamp is read (``[server] trusted_proxies``): nginx sets the header, replacing a client's.
Liveness, readiness and metrics are always answered: an overloaded instance is alive, and pulling it out of the
balancer would only move its load onto the others.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, g
from prometheus_client import Counter

from antin.kernel.errors import PROBLEM_JSON, error_response
from antin.kernel.web import SECURITY_HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["OVERLOADED", "QueueDeadline", "queue_wait"]

log = logging.getLogger("antin.overload")
OVERLOADED = "urn:antin:overloaded"
ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
REFUSED = Counter("antin_overload_refused_total", "Requests refused with 503: they waited over [server] queue_timeout")
LOG_EVERY = 10.0  # seconds: one line per interval says how many were refused, not one line per refusal


def queue_wait(stamp: str, now: float) -> float | None:
    """Seconds since the proxy's ``X-Request-Start`` stamp, or None when there is none that can be read.

    nginx's ``t=${msec}`` gives seconds with a fraction; Heroku's and others' give milliseconds or microseconds since
    the epoch, told apart by their size. A stamp from the future (clocks apart) counts as no wait.
    """
    value = stamp.strip().removeprefix("t=")
    try:
        started = float(value)
    except ValueError:
        return None
    if not math.isfinite(started) or started <= 0:
        return None
    while started > 1e11:  # milliseconds, microseconds: back to seconds
        started /= 1000
    return max(0.0, now - started)


class RefusalLog:
    """How many requests were refused, logged at most every LOG_EVERY seconds (an overload would flood the log)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.longest = 0.0
        self.since = -LOG_EVERY  # the first refusal is logged at once

    def note(self, waited: float) -> None:
        with self.lock:
            self.count += 1
            self.longest = max(self.longest, waited)
            if time.monotonic() - self.since < LOG_EVERY:
                return
            count, longest, self.count, self.longest = self.count, self.longest, 0, 0.0
            self.since = time.monotonic()
        log.warning(
            "overloaded: %d requests refused with 503 since the last such line (at most one every %.0f s): each"
            " waited over [server] queue_timeout for a worker thread (longest: waited %.1f s in the queue)",
            count,
            LOG_EVERY,
            longest,
        )


class QueueDeadline:
    """WSGI middleware, outermost: refuses what waited over ``timeout`` seconds, passes the rest to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication, timeout: float) -> None:
        self.app = app  # renders the refusal (error page, language) in a bare request context
        self.wsgi_app = wsgi_app
        self.timeout = timeout
        self.retry_after = str(max(1, math.ceil(timeout)))
        self.refusals = RefusalLog()
        # what every answer of the app carries (antin.kernel.web), less HSTS: this one is answered before Flask
        self.headers = [*SECURITY_HEADERS, ("Retry-After", self.retry_after), ("Cache-Control", "no-store")]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        stamp = environ.get("HTTP_X_REQUEST_START")
        if stamp and environ.get("PATH_INFO") not in ALWAYS_ANSWERED:
            # wall-clock time, not instance.clock: this is compared with the proxy's clock, and a test moving the
            # platform's time must not make every request look late
            waited = queue_wait(stamp, time.time())
            if waited is not None and waited > self.timeout:
                return self.refuse(environ, start_response, waited)
        return self.wsgi_app(environ, start_response)

    def refuse(self, environ: WSGIEnvironment, start_response: StartResponse, waited: float) -> Iterable[bytes]:
        REFUSED.inc()
        self.refusals.note(waited)
        detail = (
            f"the service is answering more requests than it can right now; this one waited {waited:.1f} s"
            f" for its turn and was not processed: try again in {self.retry_after} seconds"
        )
        request_id = _request_id(environ)
        if not _browser(environ):  # an application: no Flask at all, the cheapest answer (0.03 ms of CPU)
            problem = {"type": OVERLOADED, "title": "Service Unavailable", "status": 503, "detail": detail}
            if request_id:
                problem["request_id"] = request_id
            body = json.dumps(problem).encode()
            headers = [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body)))]
            headers += [*self.headers, *([("X-Request-ID", request_id)] if request_id else [])]
            start_response("503 SERVICE UNAVAILABLE", headers)
            return [body]
        # an official's browser: the error page in their language, which needs the request's locale
        with self.app.request_context(environ):
            g.request_id = request_id
            response = error_response(503, "Service Unavailable", detail, type=OVERLOADED)
        for name, value in self.headers:
            response.headers.setdefault(name, value)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        result: Iterable[bytes] = response(environ, start_response)
        return result


def _browser(environ: WSGIEnvironment) -> bool:
    path = str(environ.get("PATH_INFO", ""))
    return "text/html" in str(environ.get("HTTP_ACCEPT", "")) and not path.startswith("/api/")


def _request_id(environ: dict[str, Any] | WSGIEnvironment) -> str | None:
    """nginx's request id (only a trusted proxy's stamp brings us here, and the same proxy sets this)."""
    incoming = str(environ.get("HTTP_X_REQUEST_ID", ""))[:64]
    return incoming if incoming and incoming.isprintable() else None
