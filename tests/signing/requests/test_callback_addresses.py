"""A signing request's callback_url goes through the kernel's outbound rules: an inward address is refused when
the request is created (a clear 400) and, should the policy refuse it later, at delivery (nothing is sent)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from antin.kernel.outbound import OutboundPolicy
from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from signing.requests.models import WebhookDelivery
from signing.requests.webhooks import WebhookQueue, WebhookSecrets, webhook_queue
from tests.signing.conftest import OFFICE, PROVINCE, Platform
from tests.signing.requests.test_requests import URL, Receiver, bearer, create

CLIENT = "ung-dung-hook"


@pytest.fixture(scope="module")
def api(platform: Platform) -> FlaskClient:
    if platform.directory.find_by_login("hoa") is None:
        platform.directory.add(
            "hoa",
            "mật-khẩu-r",
            full_name="Đinh Thị Hoa",
            position="Chuyên viên",
            unit=OFFICE,
            unit_path=(OFFICE, PROVINCE),
        )
    clients = get_provider(platform.instance).clients
    if clients.get(CLIENT) is None:
        clients.add(
            ClientSpec(
                name="Ứng dụng gọi lại",
                client_id=CLIENT,
                grant_types=("client_credentials",),
                scopes=("signing:request",),
            )
        )
    WebhookSecrets(platform.instance).rotate(CLIENT)
    return platform.app.test_client()


@pytest.fixture
def queue(platform: Platform) -> Iterator[WebhookQueue]:
    q = webhook_queue(platform.instance)
    background, outbound = q.background, q.outbound
    q.background = False
    yield q
    q.background, q.outbound = background, outbound


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/hook",
        "https://[::ffff:192.168.1.1]/hook",
    ],
)
def test_an_inward_callback_url_is_refused_when_the_request_is_created(
    platform: Platform, api: FlaskClient, url: str
) -> None:
    refused = create(api, platform, ["hoa"], callback_url=url, headers=bearer(platform, CLIENT))
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert "callback_url" in problem["detail"] and "does not call this address" in problem["detail"]
    assert "non-public address" in problem["detail"]


def test_an_event_is_not_posted_where_the_policy_refuses(
    platform: Platform, api: FlaskClient, queue: WebhookQueue
) -> None:
    secret = WebhookSecrets(platform.instance).get(CLIENT)
    assert secret is not None
    receiver = Receiver(secret, fail_first=False)
    serving = receiver.serve()
    next(serving)
    try:
        # accepted: outside production the application may listen on the developer's machine
        hook = f"http://localhost:{receiver.port}/hook"
        created = create(api, platform, ["hoa"], callback_url=hook, headers=bearer(platform, CLIENT))
        assert created.status_code == 201, created.get_json()
        queue.outbound = OutboundPolicy()  # then the operator allows no inward address (as in production)
        cancelled = api.post(f"{URL}/{created.get_json()['id']}/cancel", headers=bearer(platform, CLIENT))
        assert cancelled.status_code == 200
        assert queue.drain() == 0
    finally:
        next(serving, None)
    assert receiver.seen == []
    with platform.instance.database.reading() as s:
        delivery = s.query(WebhookDelivery).filter_by(client_id=CLIENT, url=hook).one()
        assert delivery.delivered_at is None and delivery.attempts == 1
        assert "non-public address" in delivery.last_error and "OUTBOUND_ALLOW" in delivery.last_error
