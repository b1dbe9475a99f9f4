"""The queue deadline (antin.kernel.overload) in-process: a request whose proxy stamp says it waited over
``[server] queue_timeout`` is refused with 503, Retry-After and a message an API client or an official can act on;
a fresh one is served; the stamp is read only from a trusted proxy; liveness and readiness are always answered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from antin.app import create_app
from antin.kernel.instance import Instance
from antin.kernel.overload import OVERLOADED, queue_wait
from antin.kernel.settings import SettingsError
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory

DISCOVERY = "/.well-known/openid-configuration"


def make_app(folder: Path, **settings: str) -> Iterator[Flask]:
    env = {"ANTIN_DATA_DIR": str(folder), "ANTIN_LOG_LEVEL": "WARNING", "ANTIN_SERVER_QUEUE_TIMEOUT": "2"}
    instance = Instance(load_settings(env | settings))
    upgrade(instance.database)
    use_directory(instance, InMemoryDirectory())
    yield create_app(instance=instance)
    instance.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    for app in make_app(tmp_path_factory.mktemp("overload"), ANTIN_SERVER_TRUSTED_PROXIES="1"):
        yield app.test_client()


def stamp(waited: float) -> dict[str, str]:
    """The header nginx adds (docs/production/nginx.conf): when it passed the request on."""
    return {"X-Request-Start": f"t={time.time() - waited:.3f}", "X-Request-ID": "req-from-nginx"}


def test_a_request_that_waited_too_long_is_refused_with_a_clear_problem(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    refused = client.post("/token", data={"grant_type": "client_credentials"}, headers=stamp(3.5))
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["X-Request-ID"] == "req-from-nginx"
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"] == OVERLOADED and problem["status"] == 503
    assert "was not processed" in problem["detail"] and "waited 3." in problem["detail"]
    assert problem["request_id"] == "req-from-nginx"
    assert "overloaded: 1 requests refused with 503" in caplog.text  # the first at once, then one line per 10 s


def test_a_request_within_the_deadline_is_served(client: FlaskClient) -> None:
    assert client.get(DISCOVERY, headers=stamp(0.5)).status_code == 200
    assert client.get(DISCOVERY).status_code == 200  # no stamp (no proxy in front): nothing to judge by


@pytest.mark.parametrize(("language", "title"), [("vi", "Hệ thống đang quá tải"), ("en", "The service is busy")])
def test_an_official_gets_the_error_page_in_their_language(client: FlaskClient, language: str, title: str) -> None:
    headers = stamp(10) | {"Accept": "text/html", "Accept-Language": language}
    page = client.get("/", headers=headers)
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert page.headers["Retry-After"] == "2"
    html = page.get_data(as_text=True)
    assert f'<html lang="{language}">' in html and title in html and "req-from-nginx" in html
    assert "Traceback" not in html


def test_liveness_readiness_and_metrics_are_always_answered(client: FlaskClient) -> None:
    assert client.get("/healthz", headers=stamp(30)).status_code == 200
    assert client.get("/readyz", headers=stamp(30)).status_code != 503


def test_the_stamp_of_an_untrusted_client_is_not_read(tmp_path: Path) -> None:
    for app in make_app(tmp_path, ANTIN_SERVER_TRUSTED_PROXIES="0"):
        assert app.test_client().get(DISCOVERY, headers=stamp(30)).status_code == 200


def test_a_zero_timeout_turns_the_deadline_off(tmp_path: Path) -> None:
    for app in make_app(tmp_path, ANTIN_SERVER_TRUSTED_PROXIES="1", ANTIN_SERVER_QUEUE_TIMEOUT="0"):
        assert app.test_client().get(DISCOVERY, headers=stamp(30)).status_code == 200


@pytest.mark.parametrize(
    ("header", "waited"),
    [
        ("t=1764999998.250", 1.75),  # nginx: seconds with milliseconds
        ("1764999998250", 1.75),  # Heroku: milliseconds
        ("t=1764999998250000", 1.75),  # New Relic's microseconds
        ("t=1765000001", 0.0),  # a proxy clock ahead of ours: no wait
        ("t=soon", None),
        ("", None),
        ("t=nan", None),
    ],
)
def test_the_proxy_stamp_is_read_in_its_common_forms(header: str, waited: float | None) -> None:
    got = queue_wait(header, 1765000000.0)
    assert got == pytest.approx(waited) if waited is not None else got is None


def test_a_queue_timeout_out_of_range_stops_the_start_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ANTIN_SERVER_QUEUE_TIMEOUT"):
        load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_SERVER_QUEUE_TIMEOUT": "-1"})
