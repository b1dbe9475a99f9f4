"""The proxy headers read with less work (antin.kernel.proxy_fix): werkzeug's ProxyFix's answers, header by header,
and the request counters counted once per request whichever layer answers it."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from werkzeug.middleware.proxy_fix import ProxyFix

from antin.kernel.health import count_request
from antin.kernel.proxy_fix import ForwardedFix

VALUES = [
    "",
    "203.0.113.7",
    "203.0.113.7, 10.0.0.2",
    "203.0.113.7,10.0.0.2,  192.0.2.1",
    " , 203.0.113.7 ,, ",
    "\t203.0.113.7\t,\t10.0.0.2",
    "https",
    "http, https",
    "idp.example:8443",
    "[2001:db8::1]:443, idp.example",
    "2001:db8::1",
    '"quoted, value", 10.0.0.2',
    '"unclosed, 10.0.0.2',
    'for="[2001:db8::1]"',
    "a\\,b, c",
    ",,,",
]
HEADERS = ["HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT"]


def _seen(middleware: type[ProxyFix], trusted: int, headers: dict[str, str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], _start_response: Any) -> list[bytes]:
        seen.update(environ)
        return [b""]

    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost:8000",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SCRIPT_NAME": "",
        **headers,
    }
    n = trusted
    middleware(app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)(environ, lambda *_: None)  # type: ignore[arg-type]
    return seen


@pytest.mark.parametrize("trusted", [1, 2, 3])
@pytest.mark.parametrize("value", VALUES)
def test_every_forwarded_header_is_read_as_werkzeug_reads_it(trusted: int, value: str) -> None:
    for header in [*HEADERS, "HTTP_X_FORWARDED_PREFIX"]:
        headers = {header: value}
        assert _seen(ForwardedFix, trusted, headers) == _seen(ProxyFix, trusted, headers), (header, value)
    together = dict.fromkeys(HEADERS, value)
    assert _seen(ForwardedFix, trusted, together) == _seen(ProxyFix, trusted, together)


def test_a_request_is_counted_once_with_its_time() -> None:
    labels = {"method": "POST", "endpoint": "/test-proxy-fix", "status": "200"}

    def counted() -> float:
        return REGISTRY.get_sample_value("antin_http_requests_total", labels) or 0.0

    def timed() -> float:
        value = REGISTRY.get_sample_value("antin_http_request_duration_seconds_count", {"endpoint": labels["endpoint"]})
        return value or 0.0

    before, before_timed = counted(), timed()
    count_request("POST", "/test-proxy-fix", "200", 0.002)
    count_request("POST", "/test-proxy-fix", "200", None)  # no time known: counted, not timed
    assert counted() == before + 2
    assert timed() == before_timed + 1
