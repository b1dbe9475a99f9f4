"""Sole control of the HSM key: a WebAuthn assertion with user verification, over exactly the documents' digests,
within the window, used once, by the official it was asked of. Assertions are made by a software authenticator
(``cryptography``) and verified by py_webauthn; every refusal reason and the success are audited."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from antin.kernel.instance import Instance
from idp.mfa.security_keys import get_security_keys
from signing.errors import SoleControlRefused
from signing.service import SignRequest
from signing.sole_control import SoleControl, challenge_for, get_sole_control
from tests.idp.mfa.soft_authenticator import SoftAuthenticator, unb64url
from tests.idp.mfa.test_service import OTHER, SUBJECT, make_instance
from tests.signing.conftest import Platform

ORIGIN = "http://localhost:5000"  # the default issuer's origin; its host is the RP ID
DOC_A = hashlib.sha256(b"Cong van 123/CV-TU").digest()
DOC_B = hashlib.sha256(b"Quyet dinh 45/QD-TU").digest()


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return make_instance(tmp_path)


@pytest.fixture
def sole(instance: Instance) -> SoleControl:
    return get_sole_control(instance)


def enrol(instance: Instance, subject: str = SUBJECT, *, origin: str = ORIGIN, **kind: Any) -> SoftAuthenticator:
    keys = get_security_keys(instance)
    authenticator = SoftAuthenticator(origin, "localhost", **kind)
    ceremony = keys.begin_registration(subject, login="an", display_name="Nguyễn Văn Ấn")
    keys.finish_registration(subject, authenticator.create(ceremony.options_json), ceremony.challenge, name="K", ip="")
    return authenticator


def answer(authenticator: SoftAuthenticator, options: dict[str, Any], **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(authenticator.get(json.dumps(options), **kw))
    return result


def refusals(instance: Instance, subject: str = SUBJECT) -> list[str]:
    entries = instance.audit.entries(subject=subject, limit=50)
    return [e.details["reason"] for e in entries if e.event == "signing:sole_control:refuse"]


def refused(reason: str, call: Any, *args: Any) -> None:
    with pytest.raises(SoleControlRefused) as caught:
        call(*args)
    assert caught.value.reason == reason


def test_the_assertion_over_the_documents_authorises_them_once(sole: SoleControl, instance: Instance) -> None:
    key = enrol(instance)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A, DOC_B], purpose="document")

    # the challenge commits to the digests: a browser signs this, and nothing else
    assert options["userVerification"] == "required" and options["rpId"] == "localhost"
    assert [c["id"] for c in options["allowCredentials"]] == [json.loads(key.get(json.dumps(options)))["id"]]
    nonce = _nonce(instance, authorisation_id)
    assert unb64url(options["challenge"]) == challenge_for(nonce, [DOC_A, DOC_B])
    assert unb64url(options["challenge"]) != challenge_for(nonce, [DOC_B, DOC_A])  # the order counts

    authorisation = sole.complete(authorisation_id, SUBJECT, answer(key, options), [DOC_A, DOC_B])
    assert authorisation.digests == (DOC_A, DOC_B) and authorisation.official == SUBJECT
    assert authorisation.allows(DOC_A) and not authorisation.allows(hashlib.sha256(b"other").digest())
    refused("wrong_document", authorisation.require, hashlib.sha256(b"other").digest())
    events = [e.event for e in instance.audit.entries(subject=SUBJECT, limit=50)]
    assert {"signing:sole_control:begin", "signing:sole_control:grant"} <= set(events)

    # the same answer again: used once
    refused("reused", sole.complete, authorisation_id, SUBJECT, answer(key, options), [DOC_A, DOC_B])
    assert refusals(instance) == ["reused"]


def _nonce(instance: Instance, authorisation_id: str) -> bytes:
    from signing.models import SoleControlRecord

    with instance.database.reading() as s:
        row = s.get(SoleControlRecord, authorisation_id)
        assert row is not None
        return row.nonce


def test_an_official_without_a_key_is_told_so(sole: SoleControl, instance: Instance) -> None:
    with pytest.raises(SoleControlRefused) as caught:
        sole.begin(SUBJECT, [DOC_A], purpose="document")
    assert caught.value.reason == "no_key" and refusals(instance) == ["no_key"]


def test_an_expired_authorisation_is_refused(sole: SoleControl, instance: Instance) -> None:
    key = enrol(instance)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A], purpose="document")
    instance.clock.advance(timedelta(seconds=121))  # the default window is 120 s
    refused("expired", sole.complete, authorisation_id, SUBJECT, answer(key, options), [DOC_A])
    assert refusals(instance) == ["expired"]


def test_another_officials_or_an_unknown_authorisation_is_foreign(sole: SoleControl, instance: Instance) -> None:
    key = enrol(instance)
    enrol(instance, OTHER)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A], purpose="document")
    refused("foreign", sole.complete, authorisation_id, OTHER, answer(key, options), [DOC_A])
    refused("foreign", sole.complete, "no-such-id", SUBJECT, answer(key, options), [DOC_A])
    assert refusals(instance, OTHER) == ["foreign"]
    # the refusals did not use it up: the official's own answer still passes
    assert sole.complete(authorisation_id, SUBJECT, answer(key, options), [DOC_A]).digests == (DOC_A,)


def test_other_documents_than_those_approved_are_refused(sole: SoleControl, instance: Instance) -> None:
    key = enrol(instance)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A, DOC_B], purpose="document")
    for digests in ([DOC_A], [DOC_B, DOC_A], [DOC_A, DOC_B, DOC_B], [b"short"]):
        refused("wrong_document", sole.complete, authorisation_id, SUBJECT, answer(key, options), digests)
    assert refusals(instance) == ["wrong_document"] * 4


def test_the_same_bytes_in_another_document_are_another_decision(sole: SoleControl, instance: Instance) -> None:
    """An assertion begun for document 1 is refused for document 2 whose bytes are the same (found by the
    portal's browser test), audited by sole control, and still usable for document 1."""
    key = enrol(instance)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A], purpose="document:1")
    credential = answer(key, options)
    with pytest.raises(SoleControlRefused) as caught:
        sole.complete(authorisation_id, SUBJECT, credential, [DOC_A], purpose="document:2")
    assert caught.value.reason == "wrong_document" and refusals(instance) == ["wrong_document"]
    granted = sole.complete(authorisation_id, SUBJECT, credential, [DOC_A], purpose="document:1")
    assert granted.purpose == "document:1"


def test_bad_assertions_are_refused(sole: SoleControl, instance: Instance) -> None:
    key = enrol(instance)
    authorisation_id, options = sole.begin(SUBJECT, [DOC_A], purpose="document")
    # another challenge (an assertion made for another batch), another origin, no user verification
    other_id, other_options = sole.begin(SUBJECT, [DOC_B], purpose="document")
    refused("bad_assertion", sole.complete, authorisation_id, SUBJECT, answer(key, other_options), [DOC_A])
    refused(
        "bad_assertion",
        sole.complete,
        authorisation_id,
        SUBJECT,
        answer(key, options, origin="http://evil.test"),
        [DOC_A],
    )
    key.user_verification = False
    refused("bad_assertion", sole.complete, authorisation_id, SUBJECT, answer(key, options), [DOC_A])
    key.user_verification = True
    # a key of another official
    stranger = SoftAuthenticator(ORIGIN, "localhost")
    refused("bad_assertion", sole.complete, authorisation_id, SUBJECT, answer(stranger, options), [DOC_A])
    # a counter that goes backwards after a good answer (a cloned key)
    assert sole.complete(other_id, SUBJECT, answer(key, other_options), [DOC_B]).id == other_id
    key.sign_count -= 3
    refused("bad_assertion", sole.complete, authorisation_id, SUBJECT, answer(key, options), [DOC_A])
    assert refusals(instance) == ["bad_assertion"] * 5
    # none of it used the authorisation up
    key.sign_count += 10
    assert sole.complete(authorisation_id, SUBJECT, answer(key, options), [DOC_A]).id == authorisation_id


def test_the_signing_service_signs_only_the_approved_bytes(platform: Platform, plain_pdf: bytes) -> None:
    an = platform.directory.people["an"]
    key = enrol(platform.instance, an.entry_uuid, origin=platform.base_url)
    sole = get_sole_control(platform.instance)
    digest = hashlib.sha256(plain_pdf).digest()
    authorisation_id, options = sole.begin(an.entry_uuid, [digest], purpose="document")
    authorisation = sole.complete(authorisation_id, an.entry_uuid, answer(key, options), [digest])

    with pytest.raises(SoleControlRefused) as caught:
        platform.service.sign(
            io.BytesIO(plain_pdf + b"\n%changed"), io.BytesIO(), SignRequest("an"), authorisation=authorisation
        )
    assert caught.value.reason == "wrong_document"
    with pytest.raises(SoleControlRefused) as caught:  # another official signing with An's approval
        platform.service.sign(io.BytesIO(plain_pdf), io.BytesIO(), SignRequest("cuong"), authorisation=authorisation)
    assert caught.value.reason == "foreign"

    out = io.BytesIO()
    outcome = platform.service.sign(
        io.BytesIO(plain_pdf), out, SignRequest("an", level="B-B"), authorisation=authorisation
    )
    assert outcome.signer_uid == "an" and out.getvalue().startswith(b"%PDF")
    signed = [e for e in platform.instance.audit.entries(subject="an", limit=20) if e.event == "signing:document:sign"]
    assert signed[0].details["authorisation"] == authorisation_id
