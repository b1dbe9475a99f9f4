"""Liveness, readiness and metrics: ``/healthz``, ``/readyz`` and ``/metrics``.

``/readyz`` runs every registered readiness check (the database and the directory here; features add theirs,
such as the HSM, with :func:`add_readiness_check`) and answers 200 or 503; a check that returns text gives a
warning (``warning: …``) that leaves the instance ready, such as officials' search keys not yet written.
``/healthz`` and the bare status of ``/readyz`` are public (load balancers and orchestrators probe them without
credentials); which check failed and why, and ``/metrics``, tell an attacker what is down and how the platform is
used, so they are shown only to operators: clients in ``ANTIN_SERVER_METRICS_NETWORKS`` or presenting
``ANTIN_SERVER_METRICS_TOKEN`` as a bearer token (what Prometheus' ``authorization`` scrape setting sends).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Sequence

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.caches import publish_cache_sizes
from antin.kernel.errors import ProblemError
from antin.kernel.web import get_instance

__all__ = ["add_readiness_check", "count_request", "init_app", "is_operator"]

log = logging.getLogger("antin.health")
bp = Blueprint("health", __name__)
ReadinessCheck = Callable[[], str | None]

HTTP_REQUESTS = Counter("antin_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
HTTP_DURATION = Histogram(
    "antin_http_request_duration_seconds",
    "Time to answer HTTP requests",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# each label set's child, looked up once: prometheus_client's labels() takes a lock and checks its arguments on
# every call (about 1.5 µs each, twice per request); a dict read is what is left
_COUNTERS: dict[tuple[str, str, str], Counter] = {}
_DURATIONS: dict[str, Histogram] = {}


def count_request(method: str, endpoint: str, status: str, seconds: float | None) -> None:
    """One answered request in ``antin_http_requests_total`` and, with its time, the duration histogram."""
    key = (method, endpoint, status)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS.setdefault(key, HTTP_REQUESTS.labels(*key))
    counter.inc()
    if seconds is not None:
        duration = _DURATIONS.get(endpoint)
        if duration is None:
            duration = _DURATIONS.setdefault(endpoint, HTTP_DURATION.labels(endpoint))
        duration.observe(seconds)


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    """Register a check that raises (with a short, safe message) when ``name`` is not usable, and may return a
    warning (short, safe) when it is usable but needs an operator."""
    app.extensions["antin.readiness"][name] = check


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


def is_operator(remote_addr: str | None, authorization: str | None, token: str, networks: Sequence[str]) -> bool:
    """Whether a client may see metrics and readiness details: from an allowed network, or with the token."""
    presented = authorization[7:].strip() if authorization and authorization[:7].lower() == "bearer " else ""
    if token and presented and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


def _operator() -> bool:
    server = get_instance().settings.server
    return is_operator(
        request.remote_addr, request.headers.get("Authorization"), server.metrics_token, server.metrics_networks
    )


def _refuse_non_operator() -> None:
    if _operator():
        return
    if get_instance().settings.server.metrics_token:
        raise ProblemError(
            401,
            "Unauthorized",
            "metrics need the operators' bearer token",
            type_="urn:antin:metrics",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    raise ProblemError(403, "Forbidden", "metrics are shown to the operators' networks only", type_="urn:antin:metrics")


@bp.get("/readyz")
def readyz() -> Response:
    results: dict[str, str] = {}
    ready = True
    for name, check in current_app.extensions["antin.readiness"].items():
        try:
            warning = check()
            results[name] = f"warning: {warning}" if warning else "ok"
        except Exception as err:
            ready = False
            results[name] = _reason(err)
            log.warning("not ready: %s: %s", name, results[name])
    status = "ready" if ready else "unavailable"
    response = jsonify(status=status, checks=results) if _operator() else jsonify(status=status)
    response.status_code = 200 if ready else 503
    return response


@bp.get("/metrics")
def metrics() -> Response:
    _refuse_non_operator()
    publish_cache_sizes()  # this worker's now; the others' as their last heap upkeep round set them
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


def _reason(err: Exception) -> str:
    reason = getattr(err, "reason", None) or str(err) or type(err).__name__
    return str(reason).splitlines()[0][:200]


def _start_timer() -> None:
    g.antin_started = time.perf_counter()


def _observe(response: BaseResponse) -> BaseResponse:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    started = g.get("antin_started")
    seconds = None if started is None else time.perf_counter() - started
    count_request(request.method, endpoint, str(response.status_code), seconds)
    return response


def _check_database() -> None:
    get_instance().database.check()


def init_app(app: Flask) -> None:
    app.extensions.setdefault("antin.readiness", {})
    add_readiness_check(app, "database", _check_database)
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
