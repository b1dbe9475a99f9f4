"""The provider as gunicorn serves it, for the multi-worker test: people from an InMemoryDirectory with fixed
entryUUIDs (each worker builds its own copy), everything else in the shared SQLite database."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.wrappers import Response

from tests.idp.conftest import PASSWORD, make_directory
from tests.idp.oidc_harness import build_app

EXTRA_PEOPLE = "ANTIN_TEST_EXTRA_PEOPLE"  # this many more officials, bench00000…, the fixture's password (benches)


def _app() -> Flask:
    directory = make_directory()
    for index in range(int(os.environ.get(EXTRA_PEOPLE, "0"))):
        directory.add(f"bench{index:05d}", PASSWORD, full_name=f"Cán bộ {index}")
    for index, uid in enumerate(sorted(directory.people)):
        directory.update(uid, entry_uuid=f"00000000-0000-4000-8000-{index:012d}")
    app = build_app(Path(os.environ["ANTIN_TEST_DATA_DIR"]), os.environ["ANTIN_TEST_ISSUER"], directory)

    @app.after_request
    def _worker(response: Response) -> Response:
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app


app = _app()
