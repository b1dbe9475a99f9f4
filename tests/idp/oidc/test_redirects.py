"""Redirects whose target comes from a request parameter never leave the site (issue 8, item 2).

Every known bypass goes through the real route (``GET /lang/<code>?next=…``, Flask's test client) and the
``Location`` it answers is resolved by Node's WHATWG URL parser, the algorithm browsers use: it must stay on the
platform's origin. Nothing may answer 500.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from antin.app import create_app
from antin.kernel.instance import Instance
from antin.kernel.web import local_redirect_target
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from tests.components import require_command

ORIGIN = "http://localhost"

# Query strings exactly as an attacker sends them (percent-encoding included).
BYPASSES = [
    "/%09/evil.example",  # the reported one: browsers drop the tab
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "%0d%0aLocation:%20https://evil.example",
    "/%00/evil.example",
    "%20//evil.example",
    "/%E2%80%8B/evil.example",  # zero-width space
    "/%E2%80%A8/evil.example",  # line separator
    "%5cevil.example",
    "%5c%5cevil.example",
    "/%5cevil.example",  # /\
    "%5c/evil.example",  # \/
    "/%5c/evil.example",
    "%2f%2fevil.example",
    "%2f%5cevil.example",
    "/%2f%2fevil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example",
    "http:%5c%5cevil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "//evil.example/%2e%2e",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "//evil%E3%80%82example",  # ideographic full stop, read as a dot in host names
    "/%E3%80%82%E3%80%82/evil.example",
    "%EF%BC%8F%EF%BC%8Fevil.example",  # fullwidth solidus twice
    "/%EF%BC%8Fevil.example",  # "/" then a fullwidth solidus: "//" once normalised
    "%EF%BC%BCevil.example",  # fullwidth reverse solidus
    "/%2e%2e/evil.example",
    "/%2e%2e%2f%2e%2e%2fevil.example",
    "//user@evil.example",
    "@evil.example",
    "/@evil.example",
    "evil.example",
    "",
    "/" + "a" * 5000,
]

# Local paths that must be kept as they are.
LOCAL = {
    "/account": "/account",
    "/verify%3Fid%3DVB-1%26d%3Dab": "/verify?id=VB-1&d=ab",
    "/login/abc": "/login/abc",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "WARNING"}))
    upgrade(instance.database)
    use_directory(instance, InMemoryDirectory())
    app = create_app(instance=instance)
    yield app.test_client()
    instance.close()


def _origins_seen_by_a_browser(locations: list[str]) -> list[str]:
    """Each Location resolved against the page that answered it, by Node's WHATWG URL parser."""
    node = require_command("node")
    script = (
        "const base = process.argv[1];"
        "const locations = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(locations.map(l => new URL(l, base).origin)));"
    )
    done = subprocess.run(
        [node, "-e", script, f"{ORIGIN}/lang/vi"],
        input=json.dumps(locations),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    origins: list[str] = json.loads(done.stdout)
    return origins


def test_no_bypass_leaves_the_site(client: FlaskClient) -> None:
    locations = []
    for query in BYPASSES:
        response = client.get(f"/lang/vi?next={query}")
        assert response.status_code == 303, (query, response.status_code)
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), (query, location)
        assert location.isascii() and location.isprintable() and "\\" not in location, (query, location)
        locations.append(location)
    assert _origins_seen_by_a_browser(locations) == [ORIGIN] * len(locations)
    # the reported one and its cousins get the safe fallback, not a cleaned-up guess
    for query in ("/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/%5c/evil.example", "/%EF%BC%8Fevil.example"):
        assert client.get(f"/lang/vi?next={query}").headers["Location"] == "/account"


def test_local_paths_are_kept(client: FlaskClient) -> None:
    for query, expected in LOCAL.items():
        response = client.get(f"/lang/en?next={query}")
        assert response.status_code == 303
        assert response.headers["Location"] == expected
        assert "antin_lang=en" in response.headers["Set-Cookie"]
    assert _origins_seen_by_a_browser(list(LOCAL.values())) == [ORIGIN] * len(LOCAL)


def test_no_next_goes_to_the_account_page(client: FlaskClient) -> None:
    response = client.get("/lang/vi")
    assert response.status_code == 303 and response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/verify?id=1", "/verify?id=1"),
        ("/\t/evil.example", "/x"),
        ("/\r\n/evil.example", "/x"),
        ("/\uff0fevil.example", "/x"),
        ("/\\evil.example", "/x"),
        (None, "/x"),
    ],
)
def test_the_helper_keeps_only_local_paths(candidate: str | None, expected: str) -> None:
    assert local_redirect_target(candidate, fallback="/x") == expected
