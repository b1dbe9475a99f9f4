"""Sign-ins per second with a password alone beside password + TOTP, on this machine.

The provider runs under gunicorn (2 gthread workers × 4 threads, SQLite, officials from an in-memory directory:
no LDAP bind in these figures) and 8 client threads sign in for a few seconds per row (``--quick``: half a
second), each sign-in a new browser and another official (a TOTP code is accepted once per time step, so one
official cannot sign in again and again within seconds). A row's flow: authorize (PKCE) → password → [the code
page → a code computed by pyotp] → the client's redirect → token exchange, the ID token checked by the tests'
independent verifier (and its ``acr``: ``urn:antin:acr:mfa`` on the TOTP row). CPU per sign-in is the gunicorn
processes'. Run: ``python -m bench.mfa_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import requests

from bench.oidc_endpoints_bench import _server_pids, measure
from bench.rows import Run, add_arguments

BENCH = "mfa"
ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 1200  # per row: more than 8 threads sign in within a row's seconds
EXTRA_PEOPLE = "ANTIN_TEST_EXTRA_PEOPLE"  # tests.idp.gunicorn_app.EXTRA_PEOPLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    seconds = 0.5 if args.quick else 4.0
    people = 120 if args.quick else PEOPLE
    run = Run(BENCH, args.quick)
    sys.path.insert(0, str(ROOT))
    from idp.mfa import get_mfa_service
    from idp.oidc.acr import ACR_MFA, ACR_PASSWORD
    from idp.oidc.clients import ClientSpec
    from idp.oidc.service import get_provider
    from tests.idp.conftest import PASSWORD
    from tests.idp.oidc_harness import LiveProvider
    from tests.idp.rp import Browser, RelyingParty

    folder = Path(tempfile.mkdtemp(prefix="antin-mfa-bench-"))
    # the listening socket made here and handed to gunicorn: a port found free and bound later may be taken
    # meanwhile by another test's server, which would then answer every sign-in of this bench
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = listener.getsockname()[1]
    issuer = f"http://localhost:{port}"
    os.environ[EXTRA_PEOPLE] = str(2 * people)  # read when tests.idp.gunicorn_app is imported, below
    os.environ["ANTIN_TEST_DATA_DIR"], os.environ["ANTIN_TEST_ISSUER"] = str(folder), issuer
    import tests.idp.gunicorn_app as served  # the same people, with the same entryUUIDs, as the workers'

    setup = served.app
    logging.disable(logging.INFO)  # no log line per enrolment below (the app's settings ignore the environment)
    instance = setup.extensions["antin.instance"]
    provider = get_provider(instance)
    provider.keys.ensure()
    web, web_secret = provider.clients.add(
        ClientSpec(name="bench web", redirect_uris=("http://localhost:9/cb",), trusted=True)
    )
    logins = [f"bench{i:05d}" for i in range(2 * people)]
    password_only, with_totp = logins[:people], logins[people:]
    mfa = get_mfa_service(instance)
    apps: dict[str, pyotp.TOTP] = {}
    for login in with_totp:
        # half a step back: inside the window even when a step ends between this line and the check
        earlier = datetime.now(UTC) - timedelta(seconds=15)
        person = provider.directory.find_by_login(login)
        assert person is not None
        enrolment = mfa.begin_totp(person.entry_uuid, account=login)
        app = pyotp.TOTP(enrolment.key_groups.replace(" ", ""))
        assert mfa.confirm_totp(person.entry_uuid, enrolment.token, app.at(earlier), name="bench", ip=None)
        apps[login] = app
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "--workers", "2", "--threads", "4", "--worker-class", "gthread"]
    command += ["--bind", f"fd://{listener.fileno()}", "tests.idp.gunicorn_app:app"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # gunicorn has its own copy
    try:
        for _ in range(300):
            try:
                requests.get(issuer + "/jwks.json", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        live = LiveProvider(issuer, setup, None, None)  # type: ignore[arg-type]
        pids = _server_pids(proc.pid)
        lock = threading.Lock()

        def next_of(pool: list[str]) -> str | None:
            with lock:
                return pool.pop() if pool else None

        def password_sign_in(_: requests.Session) -> bool:
            login = next_of(password_only)
            if login is None:
                return False
            rp = RelyingParty(live, web, web_secret)
            try:
                claims = rp.code_flow(Browser(issuer), username=login, password=PASSWORD)["id_claims"]
            except AssertionError:
                return False
            return bool(claims["acr"] == ACR_PASSWORD)

        def totp_sign_in(_: requests.Session) -> bool:
            login = next_of(with_totp)
            if login is None:
                return False
            rp = RelyingParty(live, web, web_secret)
            browser = Browser(issuer)
            try:
                page = rp.authorize(browser).page
                assert page is not None
                step = browser.login(page, login, PASSWORD).page
                assert step is not None and 'id="code-form"' in step.text
                # the next step's code (a phone a little ahead): always later than the one the enrolment used
                code = apps[login].at(time.time() + 30)
                params = browser.submit(step, "code-form", {"code": code}).params
                tokens = rp.exchange(params["code"]).json()
                claims = rp.verify_id_token(tokens["id_token"], access_token=tokens["access_token"])
            except (AssertionError, KeyError):
                return False
            return bool(claims["acr"] == ACR_MFA)

        run.add(measure("login, password only", password_sign_in, seconds, pids))
        run.add(measure("login, password + TOTP", totp_sign_in, seconds, pids))
    finally:
        proc.terminate()
        proc.wait(30)
        instance.close()
    run.notes.append(f"gunicorn 2 workers x 4 threads, 8 client threads, {seconds:g} s per row, in-memory people")
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
