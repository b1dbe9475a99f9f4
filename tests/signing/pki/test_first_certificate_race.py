"""An official's first signature started twice at once on two instances (issue 14, item 3): two real processes,
each its own `Instance` on one PostgreSQL and one SoftHSM2 token, as two `antin serve` hosts are. Each round a new
official signs on both at the same moment; both signatures succeed with one certificate, and none is revoked.
The same on SQLite (two processes, one database file). Without the per-official lock one of the two issuances
superseded the other's certificate and that signing failed with 409 `certificate-revoked`."""

from __future__ import annotations

import io
import multiprocessing
import queue
from collections.abc import Iterator
from contextlib import nullcontext
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from signing.models import CertificateRole, CertificateStatus
from signing.samples import sample_pdf
from signing.service import SignRequest, signing_service
from tests.servers import postgres_server
from tests.signing.conftest import OFFICE, PROVINCE, require_softhsm

pytestmark = [pytest.mark.hsm]

ROUNDS = 12
"""Officials signing for the first time, each on both processes at once (without the lock, every round issued two)."""


def officials() -> InMemoryDirectory:
    directory = InMemoryDirectory()
    for n in range(ROUNDS):
        directory.add(
            f"race{n}",
            "mật-khẩu",
            full_name=f"Nguyễn Văn Đua {n}",
            position="Chuyên viên",
            unit=OFFICE,
            unit_path=(OFFICE, PROVINCE),
        )
    return directory


def sign_each_first_time(environ: dict[str, str], barrier: Barrier, results: Any) -> None:
    """One instance (a child process): each round, wait for the other, then sign as an official with no certificate."""
    instance = Instance(load_settings(environ))
    try:
        use_directory(instance, officials())
        service = signing_service(instance)
        pdf = sample_pdf(pages=1, size=20_000, title="Cong van")
        for n in range(ROUNDS):
            barrier.wait(timeout=300)  # a busy machine starts the two processes slowly
            try:
                outcome = service.sign(io.BytesIO(pdf), io.BytesIO(), SignRequest(signer_uid=f"race{n}", level="B-B"))
                results.put((n, outcome.certificate_serial))
            except Exception as err:  # reported to the test, which shows it
                results.put((n, f"{type(err).__name__}: {err}"))
    finally:
        instance.close()


def environment(data_dir: Path, database_url: str) -> dict[str, str]:
    return {
        "ANTIN_DATA_DIR": str(data_dir),
        "ANTIN_ISSUER": "http://localhost:5000",
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_HSM_TOKEN_LABEL": "antin-race",
        "ANTIN_HSM_SO_PIN": "so-pin-5678",
        "ANTIN_DATABASE_URL": database_url,
    }


@pytest.fixture(params=["postgresql", "sqlite"])
def shared_platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The settings of a platform whose CA exists, the database and the token shared by whoever uses them."""
    require_softhsm()
    data_dir = tmp_path / "data"
    with (
        postgres_server(tmp_path / "pg") if request.param == "postgresql" else nullcontext("") as url
    ):  # "": SQLite in the data folder
        environ = environment(data_dir, url)
        instance = Instance(load_settings(environ))
        try:
            upgrade(instance.database)
            Base.metadata.create_all(instance.database.engine)
            signing_service(instance).ensure_pki()
        finally:
            instance.close()
        yield environ


def test_two_instances_signing_an_officials_first_document_at_once_share_one_certificate(
    shared_platform: dict[str, str],
) -> None:
    spawn = multiprocessing.get_context("spawn")  # fresh processes: no PKCS#11 session or pool shared by a fork
    barrier = spawn.Barrier(2)
    results = spawn.Queue()
    workers = [spawn.Process(target=sign_each_first_time, args=(shared_platform, barrier, results)) for _ in "ab"]
    for worker in workers:
        worker.start()
    got: dict[int, list[str]] = {}
    try:
        for _ in range(2 * ROUNDS):
            n, serial = results.get(timeout=300)
            got.setdefault(n, []).append(serial)
    except queue.Empty:
        pytest.fail(f"the two instances stopped answering; so far: {got}")
    finally:
        for worker in workers:
            worker.join(timeout=60)
    failed = {n: s for n, s in got.items() if any(":" in x for x in s)}
    assert not failed, f"signings that failed: {failed}"
    assert all(len(set(serials)) == 1 for serials in got.values()), got

    instance = Instance(load_settings(shared_platform))
    try:
        ca = signing_service(instance).ca
        for n, serials in got.items():
            issued = ca.certificates(role=CertificateRole.PERSON, uid=f"race{n}")
            assert [(c.serial, c.status) for c in issued] == [(serials[0], CertificateStatus.VALID)]
    finally:
        instance.close()
