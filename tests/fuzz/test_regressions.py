"""Every input the fuzzers found a crash with, as a test of the clear answer it now gets (the inputs are also
in ``tests/fuzz/corpus/<target>/crash-*``), and every committed corpus input replayed through its harness.

Each of these failed before its fix (replayed against the code of ``main``: a stack trace or a 500).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from directory.transfer import plan_import, read_rows
from idp.oidc.dpop import InvalidDPoPProofError, verify_dpop_proof
from tests.fuzz.runner import replay
from tests.fuzz.targets import CORPUS, TARGETS, seed_meta
from tests.fuzz.targets.importers import PlanningDirectory
from tests.fuzz.targets.provider_app import ProviderApp, build_provider


@pytest.mark.parametrize(
    "target", [pytest.param(t, marks=pytest.mark.xdist_group(f"fuzz-replay-{t}")) for t in TARGETS]
)
def test_every_committed_corpus_input_gets_a_clear_answer(target: str, tmp_path: Path) -> None:
    inputs = sorted((CORPUS / target).iterdir())
    assert inputs
    replay(target, inputs, tmp_path)  # raises as the fuzzer would report a crash


# -- CSV and LDIF imports ---------------------------------------------------------------------------------------


def _rejections(text: str, fmt: str) -> list[str]:
    rows, rejected = read_rows(text, "ldif" if fmt == "ldif" else "csv")
    plan = plan_import(PlanningDirectory(), rows, rejected)  # type: ignore[arg-type]
    return [f"{r.line}: {r.reason}" for r in plan.rejections]


def test_a_csv_file_with_a_lone_carriage_return_is_read_as_two_lines() -> None:
    rows, rejected = read_rows("uid,name\nan\rnguyen,An\n", "csv")
    assert [(r.line, r.values["uid"], r.values["name"]) for r in rows] == [(2, "an", ""), (3, "nguyen", "An")]
    assert rejected == []


def test_a_csv_field_beyond_the_readers_limit_refuses_the_file_at_its_line() -> None:
    rejected = _rejections("uid,name\nan,An\nbinh," + "x" * 200_000 + "\n", "csv")
    assert len(rejected) == 1 and "not a readable CSV file: field larger than field limit" in rejected[0]


def test_an_ldif_change_record_separator_is_a_clear_rejection() -> None:
    rejected = _rejections("dn: uid=b,dc=x\nobjectClass: inetOrgPerson\nuid: b\n-\n", "ldif")
    assert len(rejected) == 1 and "a '-' line" in rejected[0] and "line 5" in rejected[0]


def test_an_ldif_url_value_is_a_clear_rejection() -> None:
    rejected = _rejections("version:< file:///etc/passwd\n\ndn: uid=b,dc=x\nuid: b\n", "ldif")
    assert len(rejected) == 1 and "cannot read" in rejected[0]
    rejected = _rejections("dn: uid=b,dc=x\nobjectClass: inetOrgPerson\nuid:< file:///etc/passwd\n", "ldif")
    assert len(rejected) == 1 and "URL value" in rejected[0]


def test_an_ldif_file_ending_inside_a_record_is_a_clear_rejection() -> None:
    rejected = _rejections("dn: uid=a,dc=x\nuid: a\n\ndn: uid=b,dc=x", "ldif")
    assert len(rejected) == 1 and "ends inside a record" in rejected[0]


def test_an_ldif_dn_whose_escapes_are_not_utf8_is_a_clear_rejection_and_such_a_member_is_none() -> None:
    rejected = _rejections("dn: cn=\\ca,ou=groups,dc=x\nobjectClass: groupOfNames\ncn: g\n", "ldif")
    assert len(rejected) == 1 and rejected[0].startswith("1: not a valid DN")
    rows, rejected_rows = read_rows(
        "dn: cn=g,ou=groups,dc=x\nobjectClass: groupOfNames\nmember: uid=\\ca,dc=x\n", "ldif"
    )
    assert rejected_rows == [] and [r.members for r in rows] == [()]


def test_an_empty_member_of_an_ldif_group_is_not_a_member() -> None:
    rows, rejected = read_rows("dn: cn=g,ou=groups,dc=x\nobjectClass: groupOfNames\ncn: g\nmember:\n", "ldif")
    assert rejected == [] and [(r.kind, r.members) for r in rows] == [("group", ())]


# -- DPoP proofs and the endpoints that read them ---------------------------------------------------------------


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _proof_with_header(header: dict[str, object]) -> str:
    return _b64(header) + "." + _b64({"htm": "POST", "htu": "http://localhost/token", "jti": "j", "iat": 0}) + ".c2ln"


def test_a_dpop_proof_for_a_token_that_is_not_ascii_is_refused_as_not_matching() -> None:
    token, proof = (CORPUS / "jwt" / "crash-dpop-proof-for-a-non-ascii-token.txt").read_text().split("\n")
    with pytest.raises(InvalidDPoPProofError, match="ath does not match"):
        verify_dpop_proof(
            proof,
            method="POST",
            url="https://api.example/api/signing/verify",
            remember_jti=lambda jti, ttl: True,
            access_token=token,
            now=seed_meta()["time"],
        )


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderApp]:
    live = build_provider(tmp_path_factory.mktemp("provider"), seed_meta()["client_jwks"])
    yield live
    live.app.extensions["antin.instance"].close()


@pytest.fixture
def client(provider: ProviderApp) -> FlaskClient:
    return provider.client


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "dpop+jwt\\", "alg": "ES256"},  # a typ an error description cannot quote
        {
            "typ": "dpop+jwt",
            "alg": "EdDSA",
            "jwk": {"kty": "OKP", "crv": "E519", "x": "rT6WHXHT96aP6moDlDvssfAAHY9vGxRu9j4sYUm617o"},
        },
    ],
    ids=["typ-with-a-backslash", "unknown-okp-curve"],
)
def test_a_malformed_dpop_proof_at_the_token_endpoint_is_invalid_dpop_proof(
    client: FlaskClient, provider: ProviderApp, header: dict[str, object]
) -> None:
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {provider.basic}", "DPoP": _proof_with_header(header)},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize("path", ["/token", "/par", "/introspect", "/revoke"])
@pytest.mark.parametrize(
    "authorization",
    ["Basic gICA", "Basic YW46YW4é", "DP "],
    ids=["credentials-not-utf8", "base64-not-ascii", "blank-after-the-scheme"],
)
def test_an_unreadable_authorization_header_is_invalid_client(
    client: FlaskClient, path: str, authorization: str
) -> None:
    response = client.post(
        path, data={"grant_type": "client_credentials", "token": "x"}, headers={"Authorization": authorization}
    )
    assert response.status_code in (400, 401), response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"


# -- the verifier -----------------------------------------------------------------------------------------------


def test_a_signature_field_named_with_bytes_that_are_not_text_is_reported_in_json() -> None:
    from signing.validation import ValidationPolicy, verify_bytes

    pdf = (CORPUS / "pdf" / "crash-field-name-not-text.pdf").read_bytes()  # /T (Chu\0y1): not a PDF text string
    report = verify_bytes(pdf, ValidationPolicy())
    answer = json.loads(json.dumps(report.as_dict()))  # what POST /api/signing/verify sends (it was a 500)
    assert [s["field_name"] for s in answer["signatures"]] == ["Chu\x00y1"]


def test_a_resource_with_a_malformed_ipv6_host_is_invalid_target(client: FlaskClient, provider: ProviderApp) -> None:
    basic = {"Authorization": f"Basic {provider.basic}"}
    bad = "http://[x"  # urlsplit raises ValueError on it
    token = client.post("/token", data={"grant_type": "client_credentials", "resource": bad}, headers=basic)
    assert token.status_code == 400 and token.get_json()["error"] == "invalid_target"
    pkce = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}
    request = {"response_type": "code", "redirect_uri": "https://rp.example/cb", "scope": "openid", **pkce}
    par = client.post("/par", data={**request, "resource": bad}, headers=basic)
    assert par.status_code == 400 and par.get_json()["error"] == "invalid_target"
    authorize = client.get("/authorize", query_string={**request, "client_id": provider.client_id, "resource": bad})
    assert authorize.status_code == 303 and "error=invalid_target" in authorize.headers["Location"]


@pytest.mark.parametrize(
    "name",
    [
        # /Index [0 1 1 1 5 2…]: pyHanko's lenient reader made a default entry for each one past the stream's data,
        # and the verifier took more than 20 GB and ten minutes before the kernel killed it
        "hang-xref-stream-declares-2e26-entries.pdf",
        # /Index [0 1 1 1 5 2×10¹²⁰ /00… 9 4]: the name made the entries' count unreadable, so nothing was charged,
        # and pyHanko made entries for 30 s and 2.7 GB before the name stopped it (found by CI's fuzzing run)
        "hang-xref-stream-index-pair-not-a-number.pdf",
    ],
)
def test_a_cross_reference_stream_declaring_countless_entries_is_refused_at_once(name: str) -> None:
    """A signed PDF whose last cross-reference stream declares more entries than atoms in the universe is refused as
    past the decode budget before one is made. Run in a child process held to 2 GiB, so that a regression fails here
    instead of taking the machine with it."""
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from signing.pades.reading.errors import UnusableInputError\n"
        "from signing.validation import ValidationPolicy, verify_bytes\n"
        "try:\n"
        "    verify_bytes(open(sys.argv[1], 'rb').read(), ValidationPolicy())\n"
        "except UnusableInputError as err:\n"
        "    print(err.reason)\n"
    )
    pdf = CORPUS / "pdf" / name
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(pdf)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "decode-limit", done.stderr[-2000:]
