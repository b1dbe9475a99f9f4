"""Target ``pdf``: what the public ``/verify`` page does with an upload, from the header check to the report.

The same entry the page uses (:func:`signing.validation.service.verify_stream`) with the platform's size limit and
decode budget (the settings' ``verify_max_bytes``; the budget is inside ``examine_pdf``), a policy built by
``policy_from_settings`` that also trusts the seeds' root, as of the moment the seeds were signed. The page then
renders the report as HTML and the API as JSON: both are part of the run. The documented refusal is
:class:`~signing.pades.reading.errors.UnusableInputError` (a clear 413/422); anything else that escapes is a crash.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from signing.settings import SigningSettings
from tests.fuzz.targets import Harness, seed_meta

INSTRUMENT = ("signing", "pyhanko", "pyhanko_certvalidator", "asn1crypto")
TIMEOUT_SECONDS = 20


def make_harness(workdir: Path) -> Harness:
    from antin.settings import load_settings
    from signing.pades.reading.errors import UnusableInputError
    from signing.validation.render import render_html
    from signing.validation.service import policy_from_settings, verify_stream

    meta = seed_meta()
    root = workdir / "seed-root.der"
    root.write_bytes(meta["pdf_root_der"])
    settings = load_settings(
        {}, overrides={"core": {"data_dir": str(workdir), "issuer": "http://localhost", "env": "test"}}
    )
    policy = dataclasses.replace(
        policy_from_settings(settings, extra_roots=[root]), validation_time=datetime.fromtimestamp(meta["time"], UTC)
    )
    max_bytes = settings.section(SigningSettings).verify_max_bytes

    def verify_upload(data: bytes) -> None:
        try:
            report = verify_stream(io.BytesIO(data), len(data), policy, file_name="fuzz.pdf", max_bytes=max_bytes)
        except UnusableInputError:
            return
        json.dumps(report.as_dict())
        render_html(report, standalone=False)

    return verify_upload
