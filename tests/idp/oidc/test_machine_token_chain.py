"""Machine tokens' audit entries under load: two workers (two instances on one database), each answering
client_credentials grants from two threads through the fast path, leave one log in which every grant has its
entry in its writer's chain and ``antin audit verify`` finds nothing wrong; a commit whose answer was lost is not
written twice; a chain's tail cut off, or an entry appended after its sealed head, is still named. On SQLite and
on PostgreSQL (the one-statement append on the driver). Every token is checked with joserfc against the JWKS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, insert, select, text
from werkzeug.test import Client

from antin.kernel.audit.chain import entry_hash
from antin.kernel.audit.held import NewEntry
from antin.kernel.audit.models import AuditEntry
from antin.kernel.audit.statements import ENTRY_FIELDS
from idp.oidc.clients import ClientSpec
from idp.oidc.fastpath import EXTENSION_KEY, MachineEndpoints
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider

GRANTS_PER_THREAD = 500  # two workers × two threads: 2,000 grants
SERVICE = ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile",))


@pytest.fixture(params=BOTH_DATABASES)
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveProvider, LiveProvider]]:
    shared: dict[str, Any] = {"core__secret_key": "s" * 48}  # one instance: the same key seals every head
    if request.param == "sqlite":
        shared["database__url"] = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        with (
            live_provider(tmp_path / "one", make_directory(), **shared) as one,
            live_provider(tmp_path / "two", make_directory(), **shared) as two,
        ):
            yield one, two
        return
    from tests.servers import postgres_server

    with postgres_server(tmp_path / "pg") as url:
        shared["database__url"] = url
        with (
            live_provider(tmp_path / "one", make_directory(), **shared) as one,
            live_provider(tmp_path / "two", make_directory(), **shared) as two,
        ):
            assert one.instance.database.driver is not None  # the driver's one-statement append is under test
            yield one, two
            one.instance.database.dispose()
            two.instance.database.dispose()


def _grants(worker: LiveProvider, auth: tuple[str, str], count: int, tokens: list[str], errors: list[str]) -> None:
    client = Client(worker.app)
    for _ in range(count):
        answer = client.post("/token", data={"grant_type": "client_credentials"}, auth=auth)
        if answer.status_code != 200:
            errors.append(answer.get_data(as_text=True))
            return
        tokens.append(answer.get_json()["access_token"])


def _issued(worker: LiveProvider) -> list[tuple[int, int, str]]:
    """(writer, writer_seq, jti) of every machine token's entry."""
    with worker.instance.database.session() as s:
        rows = s.execute(
            select(AuditEntry.writer, AuditEntry.writer_seq, AuditEntry.details).where(
                AuditEntry.event == "oauth:token:issue"
            )
        ).all()
    return [(r.writer, r.writer_seq, json.loads(r.details)["jti"]) for r in rows]


def test_thousands_of_grants_by_two_workers_leave_a_log_that_verifies(
    workers: tuple[LiveProvider, LiveProvider],
) -> None:
    one, _two = workers
    record, secret = one.provider.clients.add(SERVICE)
    auth = (record.client_id, secret or "")
    for worker in workers:  # the first request of each worker goes through the app (its hooks), the rest before it
        assert (
            Client(worker.app).post("/token", data={"grant_type": "client_credentials"}, auth=auth).status_code == 200
        )
    answered = [w.app.extensions[EXTENSION_KEY].answered for w in workers]
    tokens: list[str] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_grants, args=(worker, auth, GRANTS_PER_THREAD, tokens, errors))
        for worker in workers
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]
    assert len(tokens) == 4 * GRANTS_PER_THREAD
    for worker, before in zip(workers, answered, strict=True):
        fast = worker.app.extensions[EXTENSION_KEY]
        assert isinstance(fast, MachineEndpoints) and fast.answered >= before + 2 * GRANTS_PER_THREAD

    keys = KeySet.import_key_set(Client(one.app).get("/jwks.json").get_json())
    jtis = {jwt.decode(token, keys, algorithms=["ES256"]).claims["jti"] for token in tokens}
    assert len(jtis) == len(tokens)
    issued = _issued(one)
    assert len(issued) == len(tokens) + 2 and jtis <= {jti for _, _, jti in issued}  # one entry per token
    assert len({(w, n) for w, n, _ in issued}) == len(issued)  # each at its own place in its writer's chain
    result = one.instance.audit.verify()
    assert result.ok, result.first_break
    assert result.entries_checked >= len(issued)

    # a statement whose commit succeeded but whose answer was lost: the writer's head in memory is one behind (on
    # PostgreSQL the grants' spare writers, on SQLite the process's writer); the next grant reads the head again
    # instead of writing the same place twice
    audit = one.instance.audit
    behind = audit._spare if one.instance.database.driver is not None else [audit._writer]
    assert behind and all(w is not None for w in behind)
    for lagging in behind:
        assert lagging is not None
        lagging.seq -= 1
    token = Client(one.app).post("/token", data={"grant_type": "client_credentials"}, auth=auth).get_json()
    assert jwt.decode(token["access_token"], keys, algorithms=["ES256"]).claims["jti"]
    assert len(_issued(one)) == len(issued) + 1
    assert one.instance.audit.verify().ok


def test_a_chains_tail_cut_off_or_forged_after_its_head_is_still_named(
    workers: tuple[LiveProvider, LiveProvider],
) -> None:
    one, _two = workers
    record, secret = one.provider.clients.add(SERVICE)
    auth = (record.client_id, secret or "")
    keys = KeySet.import_key_set(Client(one.app).get("/jwks.json").get_json())
    for worker in workers:
        for _ in range(5):
            answer = Client(worker.app).post("/token", data={"grant_type": "client_credentials"}, auth=auth)
            assert answer.status_code == 200
            assert jwt.decode(answer.get_json()["access_token"], keys, algorithms=["ES256"]).claims["sub"]
    assert one.instance.audit.verify().ok
    database = one.instance.database
    with database.session() as s:
        writer = s.scalar(select(func.min(AuditEntry.writer)).where(AuditEntry.event == "oauth:token:issue"))
        last = s.scalar(select(func.max(AuditEntry.writer_seq)).where(AuditEntry.writer == writer))
        assert writer is not None and last is not None
        tail = s.scalars(select(AuditEntry).where(AuditEntry.writer == writer, AuditEntry.writer_seq == last)).one()
        saved = {name: getattr(tail, name) for name in ("seq", *ENTRY_FIELDS)}

    # an entry appended after the sealed head: its hash is right (anyone can compute one), the head's seal is not
    forged = NewEntry(
        occurred_at=saved["occurred_at"],
        event="oauth:token:issue",
        actor=saved["actor"],
        subject=None,
        client_id=saved["client_id"],
        ip=saved["ip"],
        details=saved["details"],
        writer=writer,
        writer_seq=last + 1,
        prev_hash=saved["entry_hash"],
    )
    forged.entry_hash = entry_hash(forged)
    columns = {name: getattr(forged, name) for name in ENTRY_FIELDS}
    with database.session() as s:
        s.execute(insert(AuditEntry), [columns])
    brk = one.instance.audit.verify().first_break
    assert brk is not None and "without sealing the head" in brk.reason
    with database.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE writer = :w AND writer_seq = :n"), {"w": writer, "n": last + 1})
    assert one.instance.audit.verify().ok

    # the chain's newest entry deleted: the sealed head says it was there
    with database.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": saved["seq"]})
    brk = one.instance.audit.verify().first_break
    assert brk is not None and "cut off the end of its chain" in brk.reason
