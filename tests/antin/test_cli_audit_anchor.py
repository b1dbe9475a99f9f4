"""`antin audit anchor` and `antin audit verify` as an operator runs them around a database failover.

The failover is real in what matters: the database file is copied while 11 entries are in it (the replica that
had not received the rest) and put back after 9 more were written and anchored (the replica promoted).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signing.hsm import find_softhsm_module as softhsm_module
from tests.antin.test_cli import run

RECORD = (
    "import sys\nfrom antin.cli import build_instance\nfrom antin.kernel.audit import AuditEvent\n"
    "i = build_instance()\n"
    "[i.audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor='nguyenvanan') for _ in range(int(sys.argv[1]))]\n"
)


def record(env: dict[str, str], count: int) -> None:
    subprocess.run([sys.executable, "-c", RECORD, str(count)], env=env, check=True, timeout=60)


@pytest.fixture
def anchored_env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env = clean | {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_AUDIT_ANCHOR_DIR": str(tmp_path / "anchors"),
    }
    assert run(["db", "upgrade"], env).returncode == 0
    return env


def test_a_failover_that_lost_entries_fails_verify_naming_the_gap(anchored_env: dict[str, str]) -> None:
    env, database = anchored_env, Path(anchored_env["ANTIN_DATA_DIR"]) / "antin.sqlite3"
    anchors = Path(env["ANTIN_AUDIT_ANCHOR_DIR"])
    record(env, 11)
    replica = database.with_name("replica.sqlite3")
    shutil.copyfile(database, replica)
    record(env, 9)
    anchored = run(["audit", "anchor"], env)
    assert anchored.returncode == 0, anchored.stderr
    assert "anchored entry #20 (20 entries)" in anchored.stdout
    (first,) = anchors.iterdir()
    intact = run(["audit", "verify"], env)
    assert intact.returncode == 0 and intact.stdout.startswith("audit log intact: 20 entries checked; holds anchor #20")

    shutil.copyfile(replica, database)  # the replica is promoted
    no_anchor = run(["audit", "verify"], {k: v for k, v in env.items() if k != "ANTIN_AUDIT_ANCHOR_DIR"})
    assert (no_anchor.returncode, no_anchor.stdout) == (0, "audit log intact: 11 entries checked\n")
    for args in (["audit", "verify"], ["audit", "verify", "--anchor", str(first)]):
        lost = run(args, env)
        assert lost.returncode == 1
        assert "audit log BROKEN at entry 12: the last 9 entries up to #20 recorded at" in lost.stderr
    as_json = json.loads(run(["audit", "verify", "--json"], env).stdout)
    assert as_json["ok"] is False and as_json["first_break"]["seq"] == 12 and as_json["anchor"]["seq"] == 20

    record(env, 12)  # the promoted database goes on; a newer anchor must not hide the loss
    refused = run(["audit", "anchor"], env)
    assert refused.returncode == 1 and "no new anchor written" in refused.stderr
    assert list(anchors.iterdir()) == [first]
    # the new process took writer 2's number again: its entry 9 is not the one anchored
    overwritten = run(["audit", "verify"], env)
    assert overwritten.returncode == 1
    assert "the last 9 entries up to #20 recorded at" in overwritten.stderr
    assert "the numbers of writer 2 were given again since (writer 2's entry 9, now #" in overwritten.stderr


def test_a_forged_anchor_is_refused(anchored_env: dict[str, str], tmp_path: Path) -> None:
    env = anchored_env
    record(env, 3)
    out = tmp_path / "one-anchor.json"
    assert run(["audit", "anchor", "--out", str(out)], env).returncode == 0
    document = json.loads(out.read_text())
    out.write_text(json.dumps(document | {"seq": 2, "writers": [document["writers"][0] | {"writer_seq": 2}]}))
    forged = run(["audit", "verify", "--anchor", str(out)], env)
    assert forged.returncode == 2
    assert f"anchor {out} refused: its signature does not verify" in forged.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run(["audit", "verify", "--anchor", str(empty)], env)
    assert nothing.returncode == 2 and f"no anchor in {empty}" in nothing.stderr


def test_anchor_without_a_folder_prints_the_anchor(tmp_path: Path, anchored_env: dict[str, str]) -> None:
    env = {k: v for k, v in anchored_env.items() if k != "ANTIN_AUDIT_ANCHOR_DIR"}
    record(env, 2)
    printed = run(["audit", "anchor"], env)
    assert printed.returncode == 0
    document = json.loads(printed.stdout)
    assert (document["seq"], document["entries"], document["format"]) == (2, 2, "antin-audit-anchor/2")
    saved = tmp_path / "printed.json"
    saved.write_text(printed.stdout)
    assert run(["audit", "verify", "--anchor", str(saved)], env).returncode == 0


def test_the_anchor_key_lives_in_the_hsm_and_checks_elsewhere_with_its_public_key(
    anchored_env: dict[str, str], tmp_path: Path
) -> None:
    env, data = anchored_env, Path(anchored_env["ANTIN_DATA_DIR"])
    record(env, 4)
    assert run(["audit", "anchor"], env).returncode == 0
    (anchor_file,) = Path(env["ANTIN_AUDIT_ANCHOR_DIR"]).iterdir()
    document = json.loads(anchor_file.read_text())
    pem = tmp_path / "anchor-key.pem"
    exported = run(["audit", "anchor-key", "--out", str(pem)], env)
    assert exported.returncode == 0, exported.stderr
    assert pem.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # the key is the token's (not extractable), and the file carries its public key
    token = ["--module", str(softhsm_module()), "--token-label", "antin", "--login", "--pin", "1234"]
    listed = subprocess.run(
        ["pkcs11-tool", *token, "--list-objects"],
        env=env | {"SOFTHSM2_CONF": str(data / "softhsm" / "softhsm2.conf")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "label:      antin-audit-anchor" in listed and "Private Key Object; EC" in listed
    # an independent check of the signature: OpenSSL, with the exported key only
    payload = {k: v for k, v in document.items() if k != "signature"}
    (tmp_path / "payload").write_bytes(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(document["signature"] + "=="))
    checked = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(pem), "-signature", str(tmp_path / "sig"), "payload"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.strip() == "Verified OK", checked.stderr

    # another machine: a copy of the database and the secret, no HSM at all
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(data / "antin.sqlite3", elsewhere / "antin.sqlite3")
    other = {k: v for k, v in env.items() if k != "ANTIN_AUDIT_ANCHOR_DIR"} | {
        "ANTIN_DATA_DIR": str(elsewhere),
        "ANTIN_SECRET_KEY": (data / "secrets" / "secret_key").read_text().strip(),
        "ANTIN_HSM_MODULE": str(tmp_path / "no-such-module.so"),
    }
    checked_elsewhere = run(["audit", "verify", "--anchor", str(anchor_file), "--public-key", str(pem)], other)
    assert checked_elsewhere.returncode == 0, checked_elsewhere.stderr
    assert checked_elsewhere.stdout.startswith("audit log intact: 4 entries checked; holds anchor #4")
    without_key = run(["audit", "verify", "--anchor", str(anchor_file)], other)
    assert without_key.returncode == 2
    assert "the anchor key in the HSM cannot be used" in without_key.stderr
    assert "no-such-module.so" in without_key.stderr
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    refused = run(["audit", "verify", "--anchor", str(anchor_file), "--public-key", str(stranger)], other)
    assert refused.returncode == 2 and "not a trusted one" in refused.stderr


def test_a_refused_pin_is_a_clear_error_and_no_weaker_key_signs(anchored_env: dict[str, str]) -> None:
    env = anchored_env
    record(env, 2)
    assert run(["audit", "anchor-key"], env).returncode == 0  # the token and its key exist
    wrong = env | {"ANTIN_HSM_PIN": "9876-wrong"}
    printing = {k: v for k, v in wrong.items() if k != "ANTIN_AUDIT_ANCHOR_DIR"}
    for args, where in (("audit anchor", wrong), ("audit anchor", printing), ("audit anchor-key", wrong)):
        refused = run(args.split(), where)
        assert refused.returncode == 2 and refused.stdout == "", (args, refused.stdout)
        assert "the anchor key in the HSM cannot be used" in refused.stderr and "the PIN was refused" in refused.stderr
        assert "Traceback" not in refused.stderr and "9876-wrong" not in refused.stdout + refused.stderr
    assert not any(Path(env["ANTIN_AUDIT_ANCHOR_DIR"]).glob("anchor-*.json"))


def test_a_server_process_anchors_with_the_same_hsm_key_through_the_signing_session(
    anchored_env: dict[str, str], tmp_path: Path
) -> None:
    from antin.app import create_app
    from antin.kernel.audit.anchor_job import EXTENSION_KEY, AnchorJob
    from antin.settings import load_settings
    from signing.service import signing_service

    env = anchored_env | {"ANTIN_AUDIT_ANCHOR_EVERY_MINUTES": "5"}
    record(env, 3)
    app = create_app(load_settings(env))
    instance = app.extensions["antin.instance"]
    try:
        written = instance.service(EXTENSION_KEY, AnchorJob).run_once()  # what the server's thread does
        assert written is not None
        assert signing_service(instance).keystore.has_key("antin-audit-anchor")  # made in the signing token
    finally:
        instance.close()
    pem = tmp_path / "anchor-key.pem"
    assert run(["audit", "anchor-key", "--out", str(pem)], env).returncode == 0
    checked = run(["audit", "verify", "--anchor", str(written), "--public-key", str(pem)], env)
    seq = json.loads(written.read_text())["seq"]  # the 3 entries and what the app's start recorded
    assert checked.returncode == 0 and f"holds anchor #{seq} of" in checked.stdout and seq >= 3, checked.stderr
