"""The signing API while a part it needs is out of reach (issue 14, item 3; scripts/signing_faults.py drives the
same faults under load): the official gets a clear 503 with Retry-After, never a 500, and nothing is recorded or
audited for a signature that was not made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from antin.kernel.audit.models import AuditEntry
from signing.models import SignatureRecord
from signing.pades import PadesEngine
from tests.components import free_port
from tests.signing.api.test_api import call, problem_of
from tests.signing.conftest import Platform


def counts(platform: Platform) -> tuple[int, int]:
    """(signature records, signing audit entries)."""
    with platform.instance.database.session() as s:
        records = s.scalar(select(func.count()).select_from(SignatureRecord)) or 0
        audited = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.event == "signing:document:sign")
        )
    return records, audited or 0


@pytest.fixture
def tsa_away(platform: Platform) -> Iterator[None]:
    """The platform configured with an external TSA (ANTIN_SIGNING_TSA_URL) on which nothing listens."""
    service = platform.service
    kept = service.engine  # built (with the TSA) first, so that the one set below is the one used
    service._engine = PadesEngine(
        service.keystore, tsa_url=f"http://127.0.0.1:{free_port()}/tsa", revocation=kept._revocation
    )
    try:
        yield
    finally:
        service._engine = kept


@pytest.mark.usefixtures("tsa_away")
@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_a_tsa_out_of_reach_is_a_503_with_retry_after(platform: Platform, plain_pdf: bytes, level: str) -> None:
    before = counts(platform)
    response = call(platform, platform.access_token(), plain_pdf, level=level)
    body = problem_of(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert body["type"] == "urn:antin:problem:timestamp-error"
    assert counts(platform) == before  # no record, no audit entry: nothing was signed


def test_b_b_needs_no_tsa_and_signs_while_it_is_away(platform: Platform, plain_pdf: bytes, tsa_away: None) -> None:
    response = call(platform, platform.access_token(), plain_pdf, level="B-B")
    assert response.status_code == 200, response.text


def test_the_tsa_answering_garbage_is_a_503_too(platform: Platform, plain_pdf: bytes) -> None:
    """A TSA that answers, but not with a time-stamp (a proxy's error page in front of it)."""
    service = platform.service
    kept = service.engine
    service._engine = PadesEngine(service.keystore, tsa_url=f"{platform.base_url}/healthz", revocation=kept._revocation)
    try:
        response = call(platform, platform.access_token(), plain_pdf, level="B-T")
    finally:
        service._engine = kept
    problem_of(response, 503)
    assert response.headers["Retry-After"] == "5"
