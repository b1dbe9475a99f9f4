"""Unit seals and the CA status benchmark: what a certificate officer waits for, through the admin API of the whole
app served on localhost (bearer token, delegation, the admin service, the CA with its keys in SoftHSM2).

    python -m bench.admin_seals_bench [--officials 2000] [--seals 40] [--quick] [--json FILE]

A scratch slapd is filled by ``slapadd`` with the synthetic Party directory; a platform administrator issues a seal
for each of the first units (a key generated in the token each time), renews and revokes them, lists the seals of
every unit, and reads ``/api/admin/pki`` (a real OCSP request and a real time-stamp request to the same server,
and the CRLs). Each answer is checked (its status, and the serial or state it must carry).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "admin-seals"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=2000, help="officials loaded by slapadd (default 2000)")
    parser.add_argument("--seals", type=int, default=40, help="units given a seal, renewed, revoked (default 40)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.seals = min(args.officials, 500), min(args.seals, 5)
    from werkzeug.serving import make_server

    from admin.delegation import Actor
    from admin.service import admin_service
    from antin.app import create_app
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.config import DirectoryConfig
    from directory.generator import build_synthetic, generate_directory
    from directory.instance import use_directory
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd
    from idp.oidc.clients import ClientSpec
    from idp.oidc.grants import GrantContext
    from idp.oidc.service import get_provider, replace_directory

    run = Run(BENCH, args.quick)
    with tempfile.TemporaryDirectory(prefix="antin-bench-") as tmp:
        slapd = ManagedSlapd(Path(tmp) / "slapd", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        generate_directory(None, officials=args.officials, password=PASSWORD, slapd=slapd)
        slapd.start()
        try:
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            directory = LdapDirectory(config)
            base = f"http://localhost:{_free_port()}"
            env = {
                "ANTIN_DATA_DIR": str(Path(tmp) / "data"),
                "ANTIN_ENV": "test",
                "ANTIN_LOG_LEVEL": "WARNING",
                "ANTIN_ISSUER": base,
            }
            instance = Instance(load_settings(env))
            upgrade(instance.database)
            use_directory(instance, directory)
            replace_directory(instance, directory)
            uids = [attrs["uid"][0] for _, attrs in build_synthetic(args.officials, base_dn=BASE_DN).people]
            service = admin_service(instance)
            service.delegation.grant(Actor("bench", operator=True), uids[0], "platform-admin", "*")
            app = create_app(instance=instance)
            server = make_server("localhost", int(base.rsplit(":", 1)[1]), app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            provider = get_provider(instance)
            client, _secret = provider.clients.add(
                ClientSpec(name="bench", grant_types=("client_credentials",), scopes=("admin",))
            )
            subject = directory.get_person(uids[0]).entry_uuid
            token, _grant = provider.tokens.issue(GrantContext(client=client, subject=subject, scope="openid admin"))
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token['access_token']}"

            def call(method: str, path: str, **kwargs: Any) -> requests.Response:
                return session.request(method, base + path, timeout=30, **kwargs)

            units = [u.code for u in directory.list_units()][: args.seals]
            note = f"{args.officials} officials, {len(directory.list_units())} units"
            timed: dict[str, list[float]] = {"issue": [], "renew": [], "revoke": []}
            wrong = dict.fromkeys(timed, 0)
            serials: dict[str, str] = {}
            for code in units:
                began = time.perf_counter()
                answer = call("POST", f"/api/admin/units/{code}/seals")
                timed["issue"].append(time.perf_counter() - began)
                wrong["issue"] += answer.status_code != 201 or answer.json()["unit"] != code
                serials[code] = answer.json()["serial"]
            for code in units:
                began = time.perf_counter()
                answer = call("POST", f"/api/admin/seals/{serials[code]}/renew")
                timed["renew"].append(time.perf_counter() - began)
                wrong["renew"] += answer.status_code != 201 or answer.json()["serial"] == serials[code]
                serials[code] = answer.json()["serial"]
            for code in units:
                began = time.perf_counter()
                answer = call("POST", f"/api/admin/seals/{serials[code]}/revoke", json={"reason": "superseded"})
                timed["revoke"].append(time.perf_counter() - began)
                wrong["revoke"] += answer.status_code != 200 or answer.json()["status"] != "revoked"
            labels = {
                "issue": "a unit's seal issued (key made in the HSM)",
                "renew": "a seal renewed (new key; the old one revoked)",
                "revoke": "a seal revoked",
            }
            for name, wall in timed.items():
                run.add(
                    row_from_samples(
                        BENCH, f"api: {labels[name]}", "antin", wall, checked=len(wall), wrong=wrong[name], note=note
                    )
                )
            samples = 3 if args.quick else 15
            for label, path, right in (
                ("every unit with its seal", "/api/admin/seals", lambda body: len(body["items"]) > 0),
                (
                    "the CA status (an OCSP and a TSA request, the CRLs)",
                    "/api/admin/pki",
                    lambda body: body["ocsp"]["answering"] and body["tsa"]["answering"],
                ),
            ):
                wall, bad = [], 0
                for _ in range(samples):
                    began = time.perf_counter()
                    answer = call("GET", path)
                    wall.append(time.perf_counter() - began)
                    bad += answer.status_code != 200 or not right(answer.json())
                run.add(row_from_samples(BENCH, f"api: {label}", "antin", wall, checked=samples, wrong=bad, note=note))
            server.shutdown()
            thread.join(5)
            instance.close()
            directory.close()
        finally:
            slapd.stop()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
