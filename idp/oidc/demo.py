"""The demo instance's relying party: one confidential client registered on first start, so that an
application using any certified OpenID Connect library can sign officials in against ``antin demo``.

``antin demo`` calls :func:`ensure_demo_client` after migrating and prints what it returns; its secret is kept
in ``<data_dir>/demo-client.json`` (mode 0600) so that later starts show the same one. Development only.
"""

from __future__ import annotations

import json
import os

from antin.kernel.instance import Instance
from idp.oidc.clients import ClientSpec, client_registry

__all__ = ["DEMO_CLIENT_FILE", "DEMO_REDIRECT_URIS", "ensure_demo_client"]

DEMO_CLIENT_FILE = "demo-client.json"
DEMO_REDIRECT_URIS = (
    "http://localhost:8000/callback",
    "http://localhost:3000/callback",
    "http://localhost:8080/callback",
)
DEMO_POST_LOGOUT_URIS = ("http://localhost:8000/", "http://localhost:3000/", "http://localhost:8080/")


def ensure_demo_client(instance: Instance) -> dict[str, object]:
    """The demo client (registered on first call): client_id, client_secret, redirect and post-logout URIs."""
    if instance.settings.production:
        raise RuntimeError("the demo client is for development instances only")
    path = instance.ensure_data_dir() / DEMO_CLIENT_FILE
    registry = client_registry(instance)
    if path.exists():
        saved: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        if registry.get(str(saved["client_id"])) is not None:
            return saved
    record, secret = registry.add(
        ClientSpec(
            name="Ứng dụng mẫu (demo)",
            redirect_uris=DEMO_REDIRECT_URIS,
            post_logout_redirect_uris=DEMO_POST_LOGOUT_URIS,
            trusted=True,
            home_url=DEMO_REDIRECT_URIS[0].rsplit("/", 1)[0] + "/",  # listed on the officials' portal
        )
    )
    saved = {
        "client_id": record.client_id,
        "client_secret": secret,
        "redirect_uris": list(record.redirect_uris),
        "post_logout_redirect_uris": list(record.post_logout_redirect_uris),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(saved, fh, ensure_ascii=False, indent=2)
    return saved
