"""`antin pki trust add|list|remove`: an outside CA (made here, as the national government CA system would be) joins
the trust list that /verify uses, at once and without a restart, and leaves it again."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from flask.testing import FlaskClient

from antin.kernel.instance import Instance
from antin.settings import load_settings
from signing.cli import pki as pki_cli
from tests.signing.signed_pdfs import ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    from antin.migrate import upgrade

    instance = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path / "var"), "ANTIN_LOG_LEVEL": "ERROR"}))
    upgrade(instance.database)
    yield instance
    instance.close()


@pytest.fixture
def client(instance: Instance) -> FlaskClient:
    from antin.app import create_app

    app = create_app(instance=instance)
    app.config["TESTING"] = True
    return app.test_client()


def trust(instance: Instance, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(pki_cli, ["trust", *args], obj=instance, catch_exceptions=False)
    return result.exit_code, result.output


def indication(client: FlaskClient, pdf: bytes) -> str:
    page = client.get("/verify")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    fields: dict[str, Any] = {"csrf_token": token[1], "file": (io.BytesIO(pdf), "doc.pdf")}
    response = client.post("/verify", data=fields, content_type="multipart/form-data")
    assert response.status_code == 200
    found = re.search(r'data-indication="([A-Z_]+)"', response.text)
    assert found
    return found[1]


def test_an_outside_ca_is_trusted_once_added_and_no_longer_once_removed(
    instance: Instance, client: FlaskClient, pki: ThrowawayPki, tmp_path: Path
) -> None:
    signed = sign(pki, blank_pdf(), level="B-LT")  # revocation data of the outside CA embedded
    assert indication(client, signed) != "TOTAL_PASSED"  # an unknown CA: not trusted

    code, output = trust(instance, "add", str(pki.root_pem_path), "--json")
    assert code == 0, output
    [added] = json.loads(output)
    assert "Ấn Tín Test Root CA" in added["subject"]
    assert indication(client, signed) == "TOTAL_PASSED"  # the running app picked it up

    code, output = trust(instance, "list")
    assert code == 0 and added["sha256"] in output
    events = [e.event for e in instance.audit.entries(limit=10)]
    assert "pki:trust:add" in events

    code, output = trust(instance, "remove", added["sha256"][:12])
    assert code == 0, output
    assert trust(instance, "list", "--json")[1].strip() == "[]"
    assert indication(client, signed) != "TOTAL_PASSED"


def test_only_ca_certificates_are_accepted(instance: Instance, pki: ThrowawayPki, tmp_path: Path) -> None:
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(pki.signer.public_bytes(serialization.Encoding.PEM))
    code, output = trust(instance, "add", str(leaf))
    assert code == 2 and "not a CA certificate" in output
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")
    code, output = trust(instance, "add", str(junk))
    assert code == 2 and "not a PEM or DER certificate" in output
    der = tmp_path / "root.cer"
    der.write_bytes(pki.root_der)
    assert trust(instance, "add", str(der))[0] == 0  # DER works too
    code, output = trust(instance, "remove", "0000")
    assert code == 2 and "at least the first 8" in output
    assert trust(instance, "list", "--json")[1].count("sha256") == 1
