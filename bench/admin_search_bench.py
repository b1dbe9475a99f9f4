"""Admin search benchmark: the officials' text search over N officials, as a province's and as the platform's
administrator — through the service and through the console over HTTP — and the CSV import through the console.

    python -m bench.admin_search_bench [--officials 20000] [--import-rows 2000] [--quick] [--json FILE]

A scratch slapd (the product's schema, indexes and overlays) is filled by ``slapadd`` with the synthetic Party
directory. The service rows call ``admin_service(instance).officials.search`` (the delegation check, the indexed
directory search, the folded match, one page of 50); the console rows ask ``/admin/officials?q=`` of the whole app
over WSGI (a Flask test client signed in through ``/authorize`` and the provider's login page, as the other console
bench does): the page's checks, the same search, the template. Queries: none (the first page), two given names
without diacritics, a full name with them, the first four letters of a login, a whole e-mail, an employee number,
and a text nobody has. Each answer is checked: every official returned lies in the caller's subtree and matches
the query (its folded name or login contains it, or its e-mail or employee number is it), and an e-mail's or a
number's official is among those found. Last, a CSV of new officials goes through the console's import pages: the upload
and its dry run, then the real run followed through the progress JSON until done.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.admin_console_bench import sign_in
from bench.rows import Run, add_arguments, row_from_samples

BENCH = "admin-search"
BASE_DN = "dc=bench,dc=antin"
PASSWORD = "Thu-nghiem-2025!"
SERVICE_PASSWORD = "bench-service-password-0123456789"
PROVINCE = "HNI"
LOGIN_ROW = re.compile(r'<tr data-login="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Official:
    full_name: str
    name: str  # folded
    mail: str
    number: str
    in_province: bool


@dataclass(frozen=True)
class Query:
    text: str
    expected: str | None  # the login that must be among those found (None: any, or nobody)


def folded(text: str) -> str:
    from admin.officials import fold

    return " ".join(fold(text).split())


def matches(uid: str, official: Official, text: str) -> bool:
    needle = folded(text)
    return (
        needle in official.name
        or needle in uid.casefold()
        or text.casefold() in (official.mail.casefold(), official.number.casefold())
    )


def query_makers(rng: random.Random, people: dict[str, Official]) -> dict[str, Callable[[bool], Query]]:
    """Each query kind: given whether the caller is the province's administrator, one query of that kind."""
    everyone = sorted(people)
    local = [uid for uid in everyone if people[uid].in_province]

    def pick(in_province: bool) -> str:
        return rng.choice(local if in_province else everyone)

    def by_mail(in_province: bool) -> Query:
        uid = pick(in_province)
        return Query(people[uid].mail, uid)

    def by_number(in_province: bool) -> Query:
        uid = pick(in_province)
        return Query(people[uid].number, uid)

    return {
        "first page, no text": lambda p: Query("", None),
        "two given names, no diacritics": lambda p: Query(" ".join(people[pick(p)].name.split()[-2:]), None),
        "full name, with diacritics": lambda p: Query(people[pick(p)].full_name, None),
        "login prefix (4 letters)": lambda p: Query(pick(p)[:4], None),
        "whole e-mail": by_mail,
        "employee number": by_number,
        "no match": lambda p: Query("zzzz khong co ai", None),
    }


def check(found: list[str], query: Query, people: dict[str, Official], in_province: bool) -> int:
    """1 when the answer is wrong: someone outside the caller's reach or not matching, or the expected one missing."""
    for uid in found:
        official = people.get(uid)
        if official is None or (in_province and not official.in_province) or not matches(uid, official, query.text):
            return 1
    return int(query.expected is not None and query.expected not in found)


def console_import(run: Run, client: Any, unit_code: str, rows: int) -> None:
    """A CSV of ``rows`` new officials through the console: upload (the dry run), apply, progress until done."""
    body = "uid,name,unit,mail\n" + "".join(
        f"nhap{i:06d},Trần Thị Bích Ngọc,{unit_code},nhap{i:06d}@bench.dcs.vn\n" for i in range(rows)
    )
    form = client.get("/admin/import").get_data(as_text=True)
    token = CSRF.search(form)
    assert token, form[:300]
    began = time.perf_counter()
    uploaded = client.post(
        "/admin/import",
        data={"csrf_token": token.group(1), "file": (io.BytesIO(body.encode()), "officials.csv")},
        content_type="multipart/form-data",
    )
    checked = time.perf_counter() - began
    location = uploaded.headers.get("Location", "")
    preview = client.get(location).get_data(as_text=True)
    token = CSRF.search(preview)
    assert uploaded.status_code == 302 and token, (uploaded.status_code, preview[:300])
    began = time.perf_counter()
    client.post(f"{location}/apply", data={"csrf_token": token.group(1)})
    polls = 0
    while True:
        progress = client.get(f"{location}/progress").get_json()
        polls += 1
        if progress["finished"]:
            break
        time.sleep(0.05)
    applied = time.perf_counter() - began
    wrong = int(progress["status"] != "applied" or progress["done"] != rows)
    for label, seconds, note in (
        ("console: CSV import, upload and dry run (per row)", checked, f"{rows} rows checked in {checked:.2f} s"),
        (
            "console: CSV import, real run to the end (per row)",
            applied,
            f"{rows} rows applied in {applied:.2f} s, {polls} progress polls",
        ),
    ):
        run.add(row_from_samples(BENCH, label, "antin", [seconds / rows] * rows, checked=1, wrong=wrong, note=note))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officials", type=int, default=20_000, help="officials loaded by slapadd (default 20000)")
    parser.add_argument("--import-rows", type=int, default=2000, help="rows of the console's CSV import (2000)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.officials, args.import_rows = min(args.officials, 2000), min(args.import_rows, 200)
    samples = 5 if args.quick else 30
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
    from idp.oidc.service import replace_directory

    run = Run(BENCH, args.quick)
    run.notes.append(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
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
            service = admin_service(instance)
            people: dict[str, Official] = {}
            for dn, attrs in build_synthetic(args.officials, base_dn=BASE_DN).people:
                uid = attrs["uid"][0]
                people[uid] = Official(
                    attrs["cn"][0],
                    folded(attrs["cn"][0]),
                    attrs["mail"][0],
                    attrs["employeeNumber"][0],
                    f"antinUnitCode={PROVINCE}," in dn,
                )
            uids = list(people)
            in_province = sum(1 for p in people.values() if p.in_province)
            operator = Actor("bench", operator=True)
            service.delegation.grant(operator, uids[0], "platform-admin", "*")
            service.delegation.grant(operator, uids[1], "unit-admin", PROVINCE)
            callers = {
                "platform": Actor.administrator(directory.get_person(uids[0]).entry_uuid),
                "province": Actor.administrator(directory.get_person(uids[1]).entry_uuid),
            }
            app = create_app(instance=instance)
            clients = {"platform": app.test_client(), "province": app.test_client()}
            sign_in(clients["platform"], uids[0])
            sign_in(clients["province"], uids[1])
            rng = random.Random(7)
            makers = query_makers(rng, people)
            for caller, actor in callers.items():
                local = caller == "province"
                note = f"{args.officials:,} officials; {PROVINCE} holds {in_province:,}" if local else ""
                for label, make in makers.items():
                    for path in ("service", "console"):
                        wall: list[float] = []
                        wrong = 0
                        for _ in range(samples):
                            query = make(local)
                            started = time.perf_counter()
                            if path == "service":
                                found = [p.uid for p in service.officials.search(actor, query.text).items]
                            else:
                                answer = clients[caller].get("/admin/officials?q=" + quote(query.text))
                                html = answer.get_data(as_text=True)
                                found = LOGIN_ROW.findall(html) if answer.status_code == 200 else ["?"]
                            wall.append(time.perf_counter() - started)
                            wrong += check(found, query, people, local)
                        operation = f"{path}: {caller} admin, {label}"
                        run.add(
                            row_from_samples(BENCH, operation, "antin", wall, checked=samples, wrong=wrong, note=note)
                        )
            hanoi_commune = next(
                u.code for u in directory.list_units() if u.code.startswith(f"{PROVINCE}-") and u.parent_code
            )
            console_import(run, clients["platform"], hanoi_commune, args.import_rows)
            instance.close()
            directory.close()
        finally:
            slapd.stop()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
