"""The MFA service without a browser: the TOTP window, replays, recovery codes used once, secrets encrypted at
rest, wrong codes throttled without locking the official out. Codes are computed with pyotp directly, as an
authenticator app would, not with the product's own TOTP module."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

import antin.models  # noqa: F401  (every table, for create_all)
from antin.kernel.database import Base
from antin.kernel.instance import Instance
from antin.settings import load_settings
from idp.mfa.code_throttle import CodeThrottle, mfa_device_cookies
from idp.mfa.errors import EnrolmentExpiredError, SealedSecretError
from idp.mfa.models import MfaFactor, MfaRecoveryCode
from idp.mfa.sealing import SecretSealer
from idp.mfa.service import CodeStatus, MfaService
from idp.mfa.settings import MfaSettings
from idp.oidc.audit import Auditor
from idp.throttle import DatabaseThrottleStore

SUBJECT = "3f0c8a9e-0000-4000-8000-000000000001"
OTHER = "3f0c8a9e-0000-4000-8000-000000000002"
KEY = "k" * 40


def make_instance(tmp_path: Path, **mfa: Any) -> Instance:
    settings = load_settings({}, overrides={"core": {"data_dir": str(tmp_path), "env": "test"}, "mfa": mfa})
    instance = Instance(settings)
    Base.metadata.create_all(instance.database.engine)
    # the middle of a time step: a code of one step before or after is exactly one step away
    now = instance.clock.now().timestamp()
    instance.clock.advance(timedelta(seconds=(15 - now % 30) % 30))
    return instance


def make_service(instance: Instance, key: str = KEY) -> MfaService:
    settings = instance.settings.section(MfaSettings)
    devices = mfa_device_cookies(instance.secret_key, 86400)
    throttle = CodeThrottle(DatabaseThrottleStore(instance.database), settings, devices, max_delay_seconds=60)
    return MfaService(instance.database, SecretSealer(key), throttle, Auditor(instance), settings, clock=instance.clock)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    instance = make_instance(tmp_path)
    yield instance
    instance.close()


@pytest.fixture
def service(instance: Instance) -> MfaService:
    return make_service(instance)


def enrol(service: MfaService, subject: str = SUBJECT) -> pyotp.TOTP:
    enrolment = service.begin_totp(subject, account="an.nguyen")
    secret = enrolment.key_groups.replace(" ", "")
    app = pyotp.TOTP(secret)
    assert service.confirm_totp(subject, enrolment.token, app.at(service.clock.now()), name="Phone", ip=None)
    return app


_addresses = itertools.count(1)


def check(service: MfaService, code: str, subject: str = SUBJECT, **kwargs: Any) -> CodeStatus:
    """A code typed from a new address each time: the per-address delays are the throttle test's business."""
    ip = f"10.0.{next(_addresses) % 250}.{next(_addresses) % 250}"
    return service.verify_code(subject, code, ip=ip, device_cookie=None, **kwargs).status


def test_the_enrolment_shows_the_key_in_groups_of_four_and_a_qr_code(service: MfaService) -> None:
    enrolment = service.begin_totp(SUBJECT, account="an.nguyen")
    groups = enrolment.key_groups.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert enrolment.uri.startswith("otpauth://totp/") and "issuer=" in enrolment.uri
    assert enrolment.qr_svg.startswith("<svg") and "<path" in enrolment.qr_svg


def test_a_wrong_first_code_enrols_nothing(service: MfaService) -> None:
    enrolment = service.begin_totp(SUBJECT, account="an.nguyen")
    app = pyotp.TOTP(enrolment.key_groups.replace(" ", ""))
    wrong = f"{(int(app.now()) + 1) % 1_000_000:06d}"
    assert service.confirm_totp(SUBJECT, enrolment.token, wrong, name="Phone", ip=None) is None
    assert not service.has_totp(SUBJECT)


def test_an_enrolment_is_the_official_own_and_expires(service: MfaService, instance: Instance) -> None:
    enrolment = service.begin_totp(SUBJECT, account="an.nguyen")
    code = pyotp.TOTP(enrolment.key_groups.replace(" ", "")).at(instance.clock.now())
    with pytest.raises(EnrolmentExpiredError):
        service.confirm_totp(OTHER, enrolment.token, code, name="Phone", ip=None)
    instance.clock.advance(timedelta(minutes=11))
    with pytest.raises(EnrolmentExpiredError):
        service.confirm_totp(SUBJECT, enrolment.token, code, name="Phone", ip=None)


def test_codes_one_step_either_side_are_accepted_two_steps_are_not(service: MfaService) -> None:
    app = enrol(service)
    now = service.clock.now()
    assert check(service, app.at(now - timedelta(seconds=60))) is CodeStatus.WRONG
    assert check(service, app.at(now + timedelta(seconds=60))) is CodeStatus.WRONG
    # the enrolment used the current step: the step before is older, hence refused as a replay
    assert check(service, app.at(now - timedelta(seconds=30))) is CodeStatus.REPLAYED
    assert check(service, app.at(now + timedelta(seconds=30))) is CodeStatus.ACCEPTED


def test_a_code_from_30_seconds_ago_is_accepted(service: MfaService, instance: Instance) -> None:
    app = enrol(service)
    instance.clock.advance(timedelta(seconds=90))  # a later sign-in, with a phone 30 s behind
    assert check(service, app.at(instance.clock.now() - timedelta(seconds=30))) is CodeStatus.ACCEPTED


def test_a_code_is_accepted_once_only(service: MfaService, instance: Instance) -> None:
    app = enrol(service)
    code = app.at(instance.clock.now())
    assert check(service, code) is CodeStatus.REPLAYED  # the code that confirmed the enrolment
    instance.clock.advance(timedelta(seconds=30))
    code = app.at(instance.clock.now())
    assert check(service, f" {code[:3]} {code[3:]} ") is CodeStatus.ACCEPTED  # spaces as typed from the app
    assert check(service, code) is CodeStatus.REPLAYED
    instance.clock.advance(timedelta(seconds=30))  # still inside the replayed code's ±1 window
    assert check(service, code) is CodeStatus.REPLAYED
    assert check(service, app.at(instance.clock.now())) is CodeStatus.ACCEPTED


def test_an_official_without_totp_has_no_code(service: MfaService) -> None:
    enrol(service, OTHER)
    assert not service.has_totp(SUBJECT)
    assert check(service, "123456") is CodeStatus.WRONG


def test_secrets_are_encrypted_at_rest_and_bound_to_their_row(service: MfaService, instance: Instance) -> None:
    app = enrol(service)
    enrol(service, OTHER)
    with instance.database.session() as s:
        rows = {row.subject: row for row in s.scalars(select(MfaFactor))}
        stored = rows[SUBJECT].secret
        assert stored is not None
        assert app.secret.encode() not in stored and app.byte_secret() not in stored
        # someone with the database alone moves their own secret into the official's row
        rows[SUBJECT].secret = rows[OTHER].secret
    instance.clock.advance(timedelta(seconds=30))
    assert check(service, app.at(instance.clock.now())) is CodeStatus.WRONG
    with pytest.raises(SealedSecretError):
        SecretSealer("another key" + "x" * 32).open(stored, bound_to="anything")


def test_another_encryption_key_opens_nothing(service: MfaService, instance: Instance) -> None:
    app = enrol(service)
    instance.clock.advance(timedelta(seconds=30))
    other = make_service(instance, key="z" * 40)
    assert check(other, app.at(instance.clock.now())) is CodeStatus.WRONG
    assert check(service, app.at(instance.clock.now())) is CodeStatus.ACCEPTED


def test_recovery_codes_are_single_use_and_stored_as_digests(service: MfaService, instance: Instance) -> None:
    codes = service.regenerate_recovery_codes(SUBJECT, ip=None)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert service.recovery_codes_left(SUBJECT) == 10
    with instance.database.session() as s:
        digests = set(s.scalars(select(MfaRecoveryCode.digest)))
    assert not digests & set(codes) and not any(c.replace("-", "") in d for c in codes for d in digests)
    first = service.verify_code(SUBJECT, codes[0], ip="192.0.2.1", device_cookie=None, recovery=True)
    assert first.status is CodeStatus.ACCEPTED and first.recovery_codes_left == 9
    assert check(service, codes[0], recovery=True) is CodeStatus.WRONG
    assert check(service, codes[1].upper().replace("-", " "), recovery=True) is CodeStatus.ACCEPTED
    assert check(service, codes[2], subject=OTHER, recovery=True) is CodeStatus.WRONG
    assert service.recovery_codes_left(SUBJECT) == 8


def test_new_recovery_codes_kill_the_old_ones(service: MfaService) -> None:
    old = service.regenerate_recovery_codes(SUBJECT, ip=None)
    new = service.regenerate_recovery_codes(SUBJECT, ip=None)
    assert not set(old) & set(new)
    assert check(service, old[0], recovery=True) is CodeStatus.WRONG
    assert check(service, new[0], recovery=True) is CodeStatus.ACCEPTED
    assert service.recovery_codes_left(SUBJECT) == 9


def test_removing_the_last_factor_removes_the_recovery_codes(service: MfaService) -> None:
    enrol(service)
    service.regenerate_recovery_codes(SUBJECT, ip=None)
    (totp,) = [f for f in service.factors(SUBJECT) if f.kind == "totp"]
    service.remove_factor(SUBJECT, totp.id, actor=SUBJECT, ip=None)
    assert service.factors(SUBJECT) == [] and service.recovery_codes_left(SUBJECT) == 0


def test_strangers_are_throttled_but_the_official_browser_still_gets_in(tmp_path: Path) -> None:
    instance = make_instance(tmp_path, code_failures=4, device_code_failures=2)
    try:
        service = make_service(instance)
        app = enrol(service)
        own_browser = service.remember_browser(None, SUBJECT)
        statuses = [
            service.verify_code(SUBJECT, "000000", ip=f"198.51.100.{i}", device_cookie=None).status for i in range(6)
        ]
        assert statuses == [CodeStatus.WRONG] * 4 + [CodeStatus.THROTTLED] * 2
        instance.clock.advance(timedelta(seconds=30))
        right = app.at(instance.clock.now())
        assert check(service, right) is CodeStatus.THROTTLED  # a stranger, even with the right code
        assert service.verify_code(SUBJECT, right, ip="192.0.2.7", device_cookie=own_browser).status is (
            CodeStatus.ACCEPTED
        )
        # the budget is spent for a while, not for good
        instance.clock.advance(timedelta(seconds=instance.settings.section(MfaSettings).code_window_seconds + 1))
        assert check(service, app.at(instance.clock.now())) is CodeStatus.ACCEPTED
    finally:
        instance.close()


def test_audit_records_each_outcome(service: MfaService, instance: Instance) -> None:
    app = enrol(service)
    check(service, "000000")
    check(service, app.at(instance.clock.now()))  # the enrolment's own code: a replay
    codes = service.regenerate_recovery_codes(SUBJECT, ip=None)
    check(service, codes[0], recovery=True)
    events = [r.event for r in instance.audit.entries(subject=SUBJECT)]
    for event in ("mfa:totp:enrol", "mfa:totp:failure", "mfa:totp:replay", "mfa:recovery:generate", "mfa:recovery:use"):
        assert event in events


def test_a_known_secret_enrolled_for_the_demo_gives_codes(service: MfaService) -> None:
    secret = pyotp.random_base32(32)
    service.enrol_known_totp(SUBJECT, secret, name="demo", actor="demo")
    assert check(service, pyotp.TOTP(secret).at(service.clock.now())) is CodeStatus.ACCEPTED


def test_a_right_code_uncounts_the_attempt_and_ends_the_addresss_delays(instance: Instance) -> None:
    store = DatabaseThrottleStore(instance.database)
    throttle = CodeThrottle(
        store,
        instance.settings.section(MfaSettings),
        mfa_device_cookies(instance.secret_key, 86400),
        max_delay_seconds=60,
    )
    now = instance.clock.now().timestamp()
    for _ in range(2):  # two wrong codes from one address
        assert throttle.admit(SUBJECT, "198.51.100.9", device_cookie=None, now=now).allowed
    right = throttle.admit(SUBJECT, "198.51.100.9", device_cookie=None, now=now)
    throttle.succeeded(right)
    subject_counter = store.get(right.keys["subject"])
    assert subject_counter is not None and subject_counter.attempts == 2  # the right code's own place given back
    assert store.get(right.keys["pair"]) is None  # the address's delays for this official are over
