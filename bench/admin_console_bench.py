"""Admin console benchmark: the pages of ``/admin`` as a platform administrator sees them, over N officials and an
audit log of M entries, served by the whole app (sign-in through the provider, the checks every page makes, the
admin service, the templates).

    python -m bench.admin_console_bench [--officials 20000] [--audit 20000] [--quick] [--json FILE]

A scratch slapd is filled by ``slapadd`` with the synthetic Party directory and the audit log with M entries
through ``AuditLog.record`` (the hash chain); a Flask test client signs in once through ``/authorize`` and the
provider's login page, then asks each page repeatedly. Each answer is checked (status 200 and what the page must
show); the export's rate is in entries per second.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "admin-console"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"
EVENTS = ("login:password:success", "login:password:failure", "session:sso:start", "oauth:token:issue")


def sign_in(client: Any, login: str) -> None:
    """Through /admin → /authorize → the login page → the callback, as a browser would."""
    page = client.get("/admin/", follow_redirects=True)
    html = page.get_data(as_text=True)
    action = re.search(r'<form[^>]*id="login-form"[^>]*action="([^"]+)"', html) or re.search(
        r'<form[^>]*action="([^"]+)"[^>]*id="login-form"', html
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert action and token, html[:500]
    done = client.post(
        action.group(1),
        data={"csrf_token": token.group(1), "username": login, "password": PASSWORD},
        follow_redirects=True,
    )
    assert done.status_code == 200 and 'id="my-grants"' in done.get_data(as_text=True), done.status_code


def bulk_rows(run: Run, service: Any, client: Any, actor: Any, count: int) -> None:
    """The bulk import as the console runs it: a file of ``count`` new officials checked (the dry run), run as a
    background job followed through the page's progress JSON, a units file likewise, and the exports."""
    unit = next(u for u in service.units.list_units(actor) if u.parent_code)
    body = "uid,name,unit,mail\n" + "".join(
        f"bulk{i:06d},Nguyễn Văn Bình,{unit.code},bulk{i:06d}@bench.dcs.vn\n" for i in range(count)
    )
    units_body = "code,name,kind,parent\n" + "".join(
        f"BULK-{i:04d},Chi bộ {i},party-cell,{unit.code}\n" for i in range(count // 10)
    )
    for kind, csv_text, rows in (("officials", body, count), ("units", units_body, count // 10)):
        began = time.perf_counter()
        job = service.import_jobs.check(actor, kind, f"{kind}.csv", csv_text.encode())
        checked = time.perf_counter() - began
        began = time.perf_counter()
        service.import_jobs.start(actor, job.id)
        polls: list[float] = []
        moves: set[int] = set()
        while True:
            asked = time.perf_counter()
            progress = client.get(f"/admin/import/{job.id}/progress").get_json()
            polls.append(time.perf_counter() - asked)
            moves.add(progress["done"])
            if progress["finished"]:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
        final = service.import_jobs.get(actor, job.id)
        wrong = int(final.status != "applied" or final.report["applied"] != rows)
        note = f"{rows} rows: dry run {checked:.2f} s, real run {elapsed:.2f} s; {len(moves)} distinct progress values"
        per_row = [elapsed / rows] * rows
        run.add(
            row_from_samples(
                BENCH, f"bulk: import {kind} as a job (per row)", "antin", per_row, checked=1, wrong=wrong, note=note
            )
        )
        run.add(
            row_from_samples(
                BENCH,
                f"bulk: progress poll during the {kind} import",
                "antin",
                polls,
                checked=len(polls),
                note=f"{len(polls)} polls",
            )
        )
    for label, lines in (
        ("officials", lambda: service.exports.officials_csv(actor)),
        ("units", lambda: service.exports.units_csv(actor)),
    ):
        began = time.perf_counter()
        exported = "".join(lines()).splitlines()
        elapsed = time.perf_counter() - began
        total = len(exported) - 1
        run.add(
            row_from_samples(
                BENCH,
                f"bulk: export {label} as CSV (per row)",
                "antin",
                [elapsed / max(total, 1)] * max(total, 1),
                checked=1,
                wrong=int(total < 1),
                note=f"{total} rows in {elapsed:.2f} s",
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=20_000, help="officials loaded by slapadd (default 20000)")
    parser.add_argument("--audit", type=int, default=20_000, help="audit entries written first (default 20000)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.audit = min(args.officials, 2000), min(args.audit, 2000)
    samples = 5 if args.quick else 30
    from admin.delegation import Actor
    from admin.officials import fold
    from admin.service import admin_service
    from antin.app import create_app
    from antin.kernel.audit import AuditEvent
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.config import DirectoryConfig
    from directory.generator import build_synthetic, generate_directory
    from directory.instance import use_directory
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd
    from idp.oidc.service import replace_directory

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
            env = {
                "ANTIN_DATA_DIR": str(Path(tmp) / "data"),
                "ANTIN_ENV": "test",
                "ANTIN_LOG_LEVEL": "WARNING",
                "ANTIN_ISSUER": "http://localhost",
                "ANTIN_ADMIN_CONSOLE_ACR": "",  # a password session: the level's step-up is not what is measured
            }
            instance = Instance(load_settings(env))
            upgrade(instance.database)
            use_directory(instance, directory)
            replace_directory(instance, directory)
            people = build_synthetic(args.officials, base_dn=BASE_DN).people
            uids = [attrs["uid"][0] for _, attrs in people]
            names = [attrs["cn"][0] for _, attrs in people]
            service = admin_service(instance)
            service.delegation.grant(Actor("bench", operator=True), uids[0], "platform-admin", "*")
            rng = random.Random(7)
            started = time.perf_counter()
            for i in range(args.audit):
                uid = uids[rng.randrange(len(uids))]
                instance.audit.record(AuditEvent(EVENTS[i % len(EVENTS)]), actor=uid, subject=uid, ip="10.0.0.1")
            audit_rate = args.audit / (time.perf_counter() - started)
            app = create_app(instance=instance)
            client = app.test_client()
            sign_in(client, uids[0])
            target = uids[len(uids) // 2]

            def two_names() -> str:
                return fold(" ".join(rng.choice(names).split()[-2:]))

            pages: dict[str, tuple[Any, Any]] = {
                "home": (lambda: "/admin/", lambda html: 'id="my-grants"' in html),
                "officials, first page": (lambda: "/admin/officials", lambda html: html.count("<tr data-login=") > 0),
                "officials, two given names without diacritics": (
                    lambda: "/admin/officials?q=" + two_names(),
                    lambda html: 'id="results"' in html,
                ),
                "an official's page (sessions, factors, events)": (
                    lambda: f"/admin/officials/{target}",
                    lambda html: 'id="official-facts"' in html and target in html,
                ),
                "audit, one event, first page": (
                    lambda: "/admin/audit?event=login:password:failure",
                    lambda html: html.count('data-event="login:password:failure"') > 0,
                ),
                "audit, one official": (
                    lambda: f"/admin/audit?subject={rng.choice(uids[:200])}",
                    lambda html: 'id="audit-entries"' in html,
                ),
            }
            note = f"{args.officials} officials, {args.audit} audit entries"
            for label, (path_of, right) in pages.items():
                wall: list[float] = []
                wrong = 0
                for _ in range(samples):
                    path = path_of()
                    began = time.perf_counter()
                    answer = client.get(path)
                    html = answer.get_data(as_text=True)
                    wall.append(time.perf_counter() - began)
                    wrong += answer.status_code != 200 or not right(html)
                run.add(
                    row_from_samples(BENCH, f"console: {label}", "antin", wall, checked=samples, wrong=wrong, note=note)
                )

            # the export of the whole log, streamed: one operation is one entry
            began = time.perf_counter()
            exported = client.get("/admin/audit/export?format=jsonl").get_data(as_text=True).splitlines()
            elapsed = time.perf_counter() - began
            total = len(exported)
            wrong = int(total < args.audit)
            per_entry = [elapsed / max(total, 1)] * max(total, 1)
            run.add(
                row_from_samples(
                    BENCH,
                    "console: audit export, JSON lines (per entry)",
                    "antin",
                    per_entry,
                    checked=1,
                    wrong=wrong,
                    note=f"{total} entries in {elapsed:.2f} s",
                )
            )
            began = time.perf_counter()
            verified = client.get("/admin/audit/verify").get_data(as_text=True)
            elapsed = time.perf_counter() - began
            run.add(
                row_from_samples(
                    BENCH,
                    "console: audit chain verified",
                    "antin",
                    [elapsed],
                    checked=1,
                    wrong=int('data-ok="true"' not in verified),
                    note=f"{args.audit} entries; written at {audit_rate:.0f}/s",
                )
            )
            admin = service.actor(directory.get_person(uids[0]).entry_uuid)
            bulk_rows(run, service, client, admin, 500 if args.quick else 5000)
            instance.close()
            directory.close()
        finally:
            slapd.stop()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
