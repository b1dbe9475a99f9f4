"""Admin clients benchmark: ``/api/admin/clients`` over HTTP as a province's client manager and as the platform's,
with C clients registered across the provinces of a synthetic Party directory.

    python -m bench.admin_clients_bench [--officials 2000] [--clients 1000] [--quick] [--json FILE]

A scratch slapd is filled by ``slapadd``; the whole app is served on localhost (the bearer token's check reads the
provider's JWKS like any resource server); the access tokens are the provider's own. Each answer is checked: a
registration returns 201 with a secret, a read 200 with the client, an edit 200 with the new name, a list only
clients of the caller's subtree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "admin-clients"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"
PROVINCE = "HNI"
CB = "https://app.bench.example/cb"


class _Late:
    """A WSGI app set after the server knows its port (the issuer needs the port)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=2000, help="officials loaded by slapadd (default 2000)")
    parser.add_argument("--clients", type=int, default=1000, help="clients registered first (default 1000)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.clients = min(args.officials, 300), min(args.clients, 100)
    samples = 5 if args.quick else 30
    import requests
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
        late = _Late()
        server = make_server("localhost", 0, late, threaded=True)
        base = f"http://localhost:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        try:
            config = DirectoryConfig(
                uris=(slapd.ldap_uri,), base_dn=BASE_DN, bind_dn=slapd.service_dn, bind_password=SERVICE_PASSWORD
            )
            directory = LdapDirectory(config)
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
            synthetic = build_synthetic(args.officials, base_dn=BASE_DN)
            uids = [attrs["uid"][0] for _, attrs in synthetic.people]
            # the units under the provinces (departments, communes, wards): a list reads each one's path once
            provinces = sorted(
                {dn.split(",")[1].split("=")[1] for dn, _ in synthetic.units if dn.count("antinUnitCode=") == 3}
            )
            units = sorted(
                attrs["antinUnitCode"][0] for dn, attrs in synthetic.units if dn.count("antinUnitCode=") == 3
            )
            late.app = create_app(instance=instance)
            thread.start()
            operator = Actor("bench", operator=True)
            service = admin_service(instance)
            platform_admin, manager = uids[0], uids[1]
            service.delegation.grant(operator, platform_admin, "platform-admin", "*")
            service.delegation.grant(operator, manager, "client-manager", PROVINCE)
            provider = get_provider(instance)
            for i in range(args.clients):
                unit = units[i % len(units)]
                provider.clients.add(ClientSpec(name=f"app {i}", redirect_uris=(CB,), unit_code=unit))
            console, _ = provider.clients.add(
                ClientSpec(name="bench admin", grant_types=("client_credentials",), scopes=("admin",))
            )

            def bearer(login: str) -> dict[str, str]:
                person = directory.get_person(login)
                issued, _grant = provider.tokens.issue(
                    GrantContext(client=console, subject=person.entry_uuid, scope="admin")
                )
                return {"Authorization": f"Bearer {issued['access_token']}"}

            as_manager, as_platform = bearer(manager), bearer(platform_admin)
            session = requests.Session()
            in_province = sum(1 for c in provider.clients.list() if c.unit_code.startswith(PROVINCE + "-"))
            note = f"{args.clients} clients in {len(units)} units of {len(provinces)} provinces"
            note += f", {in_province} in {PROVINCE}"
            made: list[str] = []

            def register() -> bool:
                answer = session.post(
                    base + "/api/admin/clients",
                    headers=as_manager,
                    json={"client_name": "Ứng dụng", "redirect_uris": [CB], "unit": PROVINCE},
                    timeout=30,
                )
                made.append(answer.json().get("client_id", ""))
                return answer.status_code == 201 and bool(answer.json().get("client_secret"))

            def read() -> bool:
                answer = session.get(base + f"/api/admin/clients/{made[0]}", headers=as_manager, timeout=30)
                return answer.status_code == 200 and answer.json()["client_id"] == made[0]

            counter = iter(range(10**6))

            def edit() -> bool:
                path = base + f"/api/admin/clients/{made[0]}"
                name = f"Ứng dụng {next(counter)}"
                tag = session.get(path, headers=as_manager, timeout=30).headers["ETag"]
                answer = session.patch(
                    path, headers={**as_manager, "If-Match": tag}, json={"client_name": name}, timeout=30
                )
                return answer.status_code == 200 and answer.json()["client_name"] == name

            def listing(headers: dict[str, str], province_only: bool) -> Any:
                """Every page (200 a page), following next_cursor to the end."""

                def call() -> bool:
                    items: list[dict[str, Any]] = []
                    cursor, ok = "", True
                    while True:
                        params = {"size": "200", "cursor": cursor}
                        answer = session.get(base + "/api/admin/clients", headers=headers, params=params, timeout=30)
                        ok = ok and answer.status_code == 200
                        body = answer.json()
                        items += body["items"]
                        if not body["next_cursor"]:
                            break
                        cursor = body["next_cursor"]
                    theirs = all(c["unit"] == PROVINCE or c["unit"].startswith(PROVINCE + "-") for c in items)
                    right = theirs and len(items) >= in_province if province_only else len(items) >= args.clients
                    return ok and right and len({c["client_id"] for c in items}) == len(items)

                return call

            def first_page() -> bool:
                answer = session.get(base + "/api/admin/clients", headers=as_platform, timeout=30)
                body = answer.json()
                return answer.status_code == 200 and len(body["items"]) == 50 and bool(body["next_cursor"])

            operations = {
                "register a client (province manager)": register,
                "read a client": read,
                "edit a client (read with its ETag, then PATCH)": edit,
                "list the province's clients, every page of 200": listing(as_manager, True),
                "list every client (platform), every page of 200": listing(as_platform, False),
                "first page of every client (platform, 50)": first_page,
            }
            for label, operation in operations.items():
                wall: list[float] = []
                wrong = 0
                for _ in range(samples):
                    began = time.perf_counter()
                    right = operation()
                    wall.append(time.perf_counter() - began)
                    wrong += not right
                run.add(
                    row_from_samples(BENCH, f"api: {label}", "antin", wall, checked=samples, wrong=wrong, note=note)
                )
            instance.close()
            directory.close()
        finally:
            server.shutdown()
            slapd.stop()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
