"""Bulk edits of officials benchmark: what an administrator waits for when one action names many officials, through
the admin API of the whole app served on localhost (bearer token, delegation per official, the single actions'
operations, the audit log, and for disabling the provider's sessions and tokens and the CA's certificates).

    python -m bench.admin_bulk_edit_bench [--officials 2000] [--batch 200] [--rounds 3] [--quick] [--json FILE]

A scratch slapd is filled by ``slapadd`` with the synthetic Party directory; a platform administrator moves a batch
of officials to another unit and back (a dry run first), disables and enables them, adds them to a group and
removes them; it moves them back home one call per official (the single move, beside the bulk one). Each answer is
checked: every row must say ``changed`` (``change`` in a dry run), and the directory must then hold what the answer
says for a sample of the officials. One row per action: the whole call's latency, the rate in officials per second.
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

from bench.rows import Row, Run, add_arguments, row_from_samples

BENCH = "admin-bulk-edit"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def per_official(row: Row, batch: int) -> Row:
    """The row with its rate in officials per second (the samples are whole calls of ``batch`` officials)."""
    rate = row.rate * batch if row.rate else None
    return Row(**{**row.__dict__, "rate": rate})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=2000, help="officials loaded by slapadd (default 2000)")
    parser.add_argument("--batch", type=int, default=200, help="officials named in one call (default 200, the limit)")
    parser.add_argument("--rounds", type=int, default=3, help="calls of each action (default 3)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.batch, args.rounds = min(args.officials, 500), min(args.batch, 20), 1
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
            operator = Actor("bench", operator=True)
            service.delegation.grant(operator, uids[0], "platform-admin", "*")
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

            batch = uids[1 : 1 + args.batch]
            homes = {uid: directory.get_person(uid).unit for uid in batch}
            source = {u.code for u in homes.values() if u is not None}
            target = next(u.code for u in directory.list_units() if u.code not in source)
            group = service.groups.create(operator, "bench-bulk", None, "bench").group.name
            note = f"{args.officials} officials, {args.batch} per call; rate: officials/s"

            def bulk(body: dict[str, Any], expected: str) -> tuple[float, bool]:
                began = time.perf_counter()
                answer = session.post(base + "/api/admin/officials/bulk", json=body, timeout=120)
                wall = time.perf_counter() - began
                rows = answer.json().get("results", []) if answer.status_code == 200 else []
                right = len(rows) == len(body["logins"]) and all(r["outcome"] == expected for r in rows)
                return wall, right

            def sample_holds(check: Any) -> bool:
                return all(check(directory.get_person(uid)) for uid in batch[:: max(1, len(batch) // 10)])

            timed: dict[str, list[float]] = {}
            singles: list[tuple[list[float], int]] = []
            wrong: dict[str, int] = {}

            def measure(label: str, body: dict[str, Any], expected: str, check: Any) -> None:
                wall, right = bulk(body, expected)
                timed.setdefault(label, []).append(wall)
                wrong[label] = wrong.get(label, 0) + (not right or not sample_holds(check))

            for _ in range(args.rounds):
                measure(
                    "dry run: move",
                    {"action": "move", "logins": batch, "unit": target, "dry_run": True},
                    "change",
                    lambda p: p.unit is not None and p.unit.code != target,
                )
                measure(
                    "move to a unit",
                    {"action": "move", "logins": batch, "unit": target},
                    "changed",
                    lambda p: p.unit is not None and p.unit.code == target,
                )
                # back home one call per official: the single move beside the bulk one
                single, bad = [], 0
                for uid in batch:
                    home = homes[uid]
                    began = time.perf_counter()
                    answer = session.post(
                        base + f"/api/admin/officials/{uid}/move", json={"unit": home.code if home else "*"}, timeout=30
                    )
                    single.append(time.perf_counter() - began)
                    bad += answer.status_code != 200
                bad += not sample_holds(lambda p: p.unit is not None and p.unit.code != target)
                singles.append((single, bad))
                measure(
                    "disable (sessions, tokens, certificates ended)",
                    {"action": "disable", "logins": batch},
                    "changed",
                    lambda p: not p.active,
                )
                measure("enable", {"action": "enable", "logins": batch}, "changed", lambda p: p.active)
                measure(
                    "add to a group",
                    {"action": "add_to_group", "logins": batch, "group": group},
                    "changed",
                    lambda p: group in p.groups,
                )
                measure(
                    "remove from a group",
                    {"action": "remove_from_group", "logins": batch, "group": group},
                    "changed",
                    lambda p: group not in p.groups,
                )
            for label, wall in timed.items():
                row = row_from_samples(
                    BENCH, f"api: bulk {label}", "antin", wall, checked=len(wall), wrong=wrong[label], note=note
                )
                run.add(per_official(row, len(batch)))
            wall = [w for samples, _bad in singles for w in samples]
            single_note = f"{args.officials} officials; one call per official, beside the bulk move; rate: officials/s"
            run.add(
                row_from_samples(
                    BENCH,
                    "api: single move (POST /officials/{login}/move)",
                    "antin",
                    wall,
                    checked=len(wall),
                    wrong=sum(bad for _samples, bad in singles),
                    note=single_note,
                )
            )
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
