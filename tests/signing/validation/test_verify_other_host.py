"""An instance on another host than the one that ran `antin pki init` shares the database, not the data folder:
it must still trust the platform's own root when it verifies (issue 14: scripts/soak.py found the second instance
judging every signature the platform made INDETERMINATE, NO_CERTIFICATE_CHAIN_FOUND)."""

from __future__ import annotations

from pathlib import Path

from signing.service import SignRequest
from signing.validation.service import verify_bytes
from signing.validation.views import _policy
from tests.signing.conftest import Platform


def test_the_platform_root_comes_from_the_database_when_the_data_folder_has_none(
    platform: Platform, plain_pdf: bytes
) -> None:
    signed = platform.sign_bytes(plain_pdf, SignRequest(signer_uid="an", level="B-LT"))
    root_file = platform.data_dir / "pki" / "root-ca.pem"
    kept = root_file.read_bytes()
    root_file.unlink()  # this host never ran `antin pki init`
    try:
        with platform.app.test_request_context("/verify", method="POST"):
            policy = _policy()
        assert platform.root_der in policy.trust_roots
        report = verify_bytes(signed, policy)
        assert report.indication.value == "TOTAL_PASSED", report.as_dict()["signatures"]
    finally:
        Path(root_file).write_bytes(kept)
