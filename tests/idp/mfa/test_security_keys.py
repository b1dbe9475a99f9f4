"""Security keys and passkeys without a browser: registration and assertions by a software authenticator, the
flags and AAGUID kept, and every answer that must be refused (another origin or RP, a tampered clientDataJSON,
another challenge, an unknown key, a counter that goes backwards, a key of another official)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from antin.kernel.instance import Instance
from idp.mfa.security_key_views import acr_of_assertion, amr_of_assertion
from idp.mfa.security_keys import AssertionStatus, SecurityKeys, get_security_keys
from idp.mfa.settings import MfaSettings
from idp.mfa.webauthn import WebAuthnRefusedError
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT_HARDWARE, normalise_acr
from tests.idp.mfa.soft_authenticator import SoftAuthenticator, b64url, unb64url
from tests.idp.mfa.test_service import OTHER, SUBJECT, make_instance

ORIGIN = "http://localhost:5000"  # the default issuer's origin; its host is the RP ID


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return make_instance(tmp_path)


@pytest.fixture
def keys(instance: Instance) -> SecurityKeys:
    return get_security_keys(instance)


def register(keys: SecurityKeys, authenticator: SoftAuthenticator, subject: str = SUBJECT, name: str = "YubiKey"):  # type: ignore[no-untyped-def]
    ceremony = keys.begin_registration(subject, login="an.nguyen", display_name="Nguyễn An")
    return keys.finish_registration(
        subject, authenticator.create(ceremony.options_json), ceremony.challenge, name=name, ip="10.0.0.1"
    )


def sign_in(keys: SecurityKeys, authenticator: SoftAuthenticator, subject: str = SUBJECT, **answer: object):  # type: ignore[no-untyped-def]
    ceremony = keys.begin_assertion(subject)
    response = authenticator.get(ceremony.options_json, **answer)  # type: ignore[arg-type]
    return keys.verify_assertion(subject, response, ceremony.challenge, ip="10.0.0.1")


def events(instance: Instance) -> list[str]:
    return [e.event for e in instance.audit.entries(subject=SUBJECT, limit=50)]


def test_register_then_sign_in_with_user_verification(keys: SecurityKeys, instance: Instance) -> None:
    key = SoftAuthenticator(ORIGIN, "localhost", aaguid=bytes.fromhex("cb69481e8ff7403993ec0a2729a154a8"))
    ceremony = keys.begin_registration(SUBJECT, login="an.nguyen", display_name="Nguyễn An")
    options = json.loads(ceremony.options_json)
    assert options["rp"]["id"] == "localhost" and options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    view = register(keys, key)
    assert view.name == "YubiKey" and view.transports == ("usb",)
    assert view.aaguid == "cb69481e-8ff7-4039-93ec-0a2729a154a8"
    assert not view.backup_eligible and view.last_used_at is None

    # a second registration of the same key is refused: its id is in excludeCredentials and in the table
    again = json.loads(keys.begin_registration(SUBJECT, login="an.nguyen", display_name="An").options_json)
    assert [c["id"] for c in again["excludeCredentials"]] == [b64url(key.credential_id)]
    with pytest.raises(WebAuthnRefusedError):
        register(keys, key)

    outcome = sign_in(keys, key)
    assert outcome.status is AssertionStatus.ACCEPTED and outcome.user_verified
    assert keys.keys(SUBJECT)[0].last_used_at is not None
    assert {"mfa:webauthn:register", "mfa:webauthn:success"} <= set(events(instance))


def test_a_synced_passkey_without_user_verification(keys: SecurityKeys) -> None:
    passkey = SoftAuthenticator(ORIGIN, "localhost", user_verification=False, synced=True)
    view = register(keys, passkey, name="Điện thoại")
    assert view.backup_eligible and view.backed_up
    outcome = sign_in(keys, passkey)
    assert outcome.status is AssertionStatus.ACCEPTED and not outcome.user_verified and outcome.backup_eligible
    assert amr_of_assertion(user_verified=False, synced=True) == ("swk", "user", "mfa")
    assert amr_of_assertion(user_verified=True, synced=False) == ("hwk", "user", "pin", "mfa")


def test_a_counter_going_backwards_is_refused_and_audited(keys: SecurityKeys, instance: Instance) -> None:
    key = SoftAuthenticator(ORIGIN, "localhost")
    register(keys, key)
    assert sign_in(keys, key, count_step=5).status is AssertionStatus.ACCEPTED
    clone = SoftAuthenticator(ORIGIN, "localhost", credential_id=key.credential_id, key=key.key, sign_count=1)
    assert sign_in(keys, clone).status is AssertionStatus.CLONED
    assert "mfa:webauthn:cloned" in events(instance)
    assert sign_in(keys, key).status is AssertionStatus.ACCEPTED  # the real key still works


def test_answers_that_must_be_refused(keys: SecurityKeys) -> None:
    key = SoftAuthenticator(ORIGIN, "localhost")
    register(keys, key)
    assert sign_in(keys, key, origin="https://phishing.example").status is AssertionStatus.REFUSED
    other_rp = SoftAuthenticator(ORIGIN, "evil.example", credential_id=key.credential_id, key=key.key, sign_count=9)
    assert sign_in(keys, other_rp).status is AssertionStatus.REFUSED
    assert sign_in(keys, SoftAuthenticator(ORIGIN, "localhost")).status is AssertionStatus.UNKNOWN_CREDENTIAL
    assert sign_in(keys, key, subject=OTHER).status is AssertionStatus.UNKNOWN_CREDENTIAL

    ceremony = keys.begin_assertion(SUBJECT)
    answer = json.loads(key.get(ceremony.options_json))
    client_data = json.loads(unb64url(answer["response"]["clientDataJSON"]))
    client_data["origin"] = "http://localhost:5000/"  # tampered after signing
    answer["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())
    refused = keys.verify_assertion(SUBJECT, json.dumps(answer), ceremony.challenge, ip="10.0.0.1")
    assert refused.status is AssertionStatus.REFUSED

    stale = keys.begin_assertion(SUBJECT)
    fresh = keys.begin_assertion(SUBJECT)
    answer_to_stale = key.get(stale.options_json)
    assert keys.verify_assertion(SUBJECT, answer_to_stale, fresh.challenge, ip="1").status is AssertionStatus.REFUSED
    for garbage in ("", "{}", "[1]", '{"rawId": "%%%"}', json.dumps({"rawId": b64url(key.credential_id)})):
        outcome = keys.verify_assertion(SUBJECT, garbage, fresh.challenge, ip="1")
        assert outcome.status in (AssertionStatus.REFUSED, AssertionStatus.UNKNOWN_CREDENTIAL)


def test_a_registration_for_another_origin_or_tampered_is_refused(keys: SecurityKeys) -> None:
    ceremony = keys.begin_registration(SUBJECT, login="an.nguyen", display_name="An")
    key = SoftAuthenticator(ORIGIN, "localhost")
    for answer in (key.create(ceremony.options_json, origin="https://phishing.example"), "{}", "not json"):
        with pytest.raises(WebAuthnRefusedError):
            keys.finish_registration(SUBJECT, answer, ceremony.challenge, name="x", ip=None)
    assert keys.keys(SUBJECT) == []


YUBIKEY_5 = "cb69481e-8ff7-4039-93ec-0a2729a154a8"


def test_the_hardware_level_needs_an_allowed_model_kept_on_one_device(tmp_path: Path) -> None:
    keys = get_security_keys(make_instance(tmp_path, hardware_aaguids=(YUBIKEY_5.upper(),)))
    allowed = SoftAuthenticator(ORIGIN, "localhost", aaguid=bytes.fromhex(YUBIKEY_5.replace("-", "")))
    synced = SoftAuthenticator(ORIGIN, "localhost", synced=True, aaguid=allowed.aaguid)
    other_model = SoftAuthenticator(ORIGIN, "localhost")
    for authenticator in (allowed, synced, other_model):
        register(keys, authenticator)
    levels = [acr_of_assertion(sign_in(keys, a)) for a in (allowed, synced, other_model)]
    assert levels == [ACR_PHISHING_RESISTANT_HARDWARE, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT]
    allowed.user_verification = False
    assert acr_of_assertion(sign_in(keys, allowed)) == ACR_MFA
    assert normalise_acr("phrh") == ACR_PHISHING_RESISTANT_HARDWARE and normalise_acr("phr") == ACR_PHISHING_RESISTANT


def test_an_allow_list_entry_that_is_not_an_aaguid_is_refused() -> None:
    assert "hardware_aaguids" in MfaSettings(hardware_aaguids=("YubiKey 5",)).problems()
    assert MfaSettings(hardware_aaguids=(YUBIKEY_5,)).problems() == {}


def test_a_passkey_sign_in_gets_py_webauthns_options_with_a_new_challenge() -> None:
    """The login page's passkey options (made once per RP, the challenge put in): the very text py_webauthn gives
    for the same challenge, and a new 64-byte challenge each time."""
    from idp.mfa import webauthn

    for issuer in ("https://idp.antin.vn", "http://localhost:8000"):
        rp = webauthn.relying_party(issuer, "Ấn Tín")
        first, second = webauthn.passkey_options(rp), webauthn.passkey_options(rp)
        assert len(first.challenge) == 64 and first.challenge != second.challenge
        for ceremony in (first, second):
            expected = webauthn.authentication_options(
                rp, allow=[], require_user_verification=True, challenge=ceremony.challenge
            )
            assert ceremony.options_json == expected.options_json
            assert json.loads(ceremony.options_json)["rpId"] == rp.rp_id
