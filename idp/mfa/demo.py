"""The demo instance's TOTP official: one demo account gets an authenticator key on first start, so that a person
can try the second step at once (``antin demo`` prints the key). Development only.

The key is kept in ``<data_dir>/demo-totp.json`` (mode 0600, like the demo accounts' passwords) so that later
starts show the same one.
"""

from __future__ import annotations

import json
import os

from antin.kernel.instance import Instance
from idp.mfa import get_mfa_service, totp
from idp.oidc.service import get_provider

__all__ = ["DEMO_TOTP_FILE", "ensure_demo_totp"]

DEMO_TOTP_FILE = "demo-totp.json"


def ensure_demo_totp(instance: Instance, uid: str) -> dict[str, str] | None:
    """``uid``'s demo TOTP factor (enrolled on first call): uid, key (groups of four) and otpauth URI; None when
    the official is not in the directory."""
    if instance.settings.production:
        raise RuntimeError("the demo TOTP official is for development instances only")
    path = instance.ensure_data_dir() / DEMO_TOTP_FILE
    if path.exists():
        saved: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return saved
    person = get_provider(instance).directory.find_by_login(uid)
    if person is None:
        return None
    service = get_mfa_service(instance)
    secret = totp.new_secret()
    service.enrol_known_totp(person.entry_uuid, secret, name="demo", actor="demo")
    service.regenerate_recovery_codes(person.entry_uuid, ip=None)  # not shown: the key is what the demo prints
    issuer = service.settings.totp_issuer
    shown = {
        "uid": uid,
        "key": totp.group_key(secret),
        "uri": totp.provisioning_uri(secret, account=uid, issuer=issuer),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(shown, fh, ensure_ascii=False, indent=2)
    return shown
