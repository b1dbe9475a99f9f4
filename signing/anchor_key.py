"""The audit log's anchor key, in the HSM: what the kernel's anchors are signed with (kernel: audit/anchor_keys.py).

A P-256 key labelled ``antin-audit-anchor``, made in the instance's token on first use (under the database's
exclusive lock, so two processes never make two), never leaving it. Whoever holds the settings (``ANTIN_SECRET_KEY``)
or a backup can no longer forge an anchor: they need the token and its PIN. Any failure of the token is an
:class:`~antin.kernel.audit.anchor_keys.AnchorKeyError` naming it: there is no fallback to a weaker key.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from antin.kernel.audit.anchor_keys import AnchorKeyError
from antin.kernel.database import Database
from signing.errors import SigningError
from signing.keystore import KeyStore, keystore_for

if TYPE_CHECKING:
    from antin.kernel.instance import Instance

__all__ = ["ANCHOR_KEY_LABEL", "HsmAnchorSigner", "hsm_anchor_signer"]

ANCHOR_KEY_LABEL = "antin-audit-anchor"


class HsmAnchorSigner:
    """Signs anchors with the token's anchor key; ``owns_keystore``: closed with it (the CLI's own session)."""

    def __init__(self, keystore: KeyStore, database: Database, *, owns_keystore: bool = False) -> None:
        self.keystore = keystore
        self.database = database
        self.owns_keystore = owns_keystore
        self._public: bytes | None = None
        self._lock = threading.Lock()

    def public_key(self) -> bytes:
        """The anchor key's public key (DER SubjectPublicKeyInfo); the key is made on first use."""
        if self._public is None:
            with self._lock:
                if self._public is None:
                    self._public = self._ensure_key()
        return self._public

    def sign(self, payload: bytes) -> bytes:
        self.public_key()  # made if it was not there yet
        try:
            return self.keystore.sign(ANCHOR_KEY_LABEL, payload, "sha256")
        except SigningError as err:
            raise AnchorKeyError(f"the anchor key in the HSM cannot sign: {err}") from None

    def close(self) -> None:
        if self.owns_keystore:
            self.keystore.close()

    def _ensure_key(self) -> bytes:
        try:
            if not self.keystore.has_key(ANCHOR_KEY_LABEL):
                with self.database.exclusive("audit-anchor-key"):
                    if not self.keystore.has_key(ANCHOR_KEY_LABEL):  # another process may have made it meanwhile
                        return self.keystore.generate_key(ANCHOR_KEY_LABEL, "ec-p256")
            return self.keystore.public_key(ANCHOR_KEY_LABEL)
        except SigningError as err:
            raise AnchorKeyError(f"the anchor key in the HSM cannot be used: {err}") from None


def hsm_anchor_signer(instance: Instance) -> HsmAnchorSigner:
    """A signer with its own session on the instance's token (one-off commands: no signing service is built)."""
    try:
        keystore = keystore_for(instance)
    except SigningError as err:
        raise AnchorKeyError(f"the anchor key in the HSM cannot be used: {err}") from None
    return HsmAnchorSigner(keystore, instance.database, owns_keystore=True)
