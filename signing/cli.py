"""``antin pki …`` and ``antin sign …``.

Errors are one line on stderr: exit status 2 when the input document (or a usage) is unusable, 1 for anything
else (unknown signer, revoked certificate, HSM unavailable…). ``--json`` prints what scripts read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, cast

import click

from antin.kernel.database import DatabaseUnavailableError
from antin.kernel.instance import Instance
from directory.errors import DirectoryError
from signing.appearance import parse_visible
from signing.errors import InvalidDocumentError, InvalidRequestError, SigningError
from signing.pades import LEVELS, Level
from signing.pki import RENEWABLE_ROLES, REVOCATION_REASONS, CertificateInfo
from signing.pki.renewal import MAX_RENEWAL_DAYS
from signing.service import SigningService, SignRequest, signing_service

__all__ = ["pki", "sign"]


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the platform's errors into one line and an exit status, never a stack trace."""
    try:
        yield
    except (InvalidDocumentError, InvalidRequestError) as err:
        _fail(str(err), 2)
    except SigningError as err:
        _fail(str(err), 1)
    except DirectoryError as err:
        _fail(str(err), 1)
    except DatabaseUnavailableError as err:
        _fail(err.reason, 1)
    except ImportError:
        _fail("the directory service is not available in this build", 1)
    except OSError as err:
        _fail(f"{err.filename or ''}: {err.strerror}" if err.strerror else str(err), 1)


def _service(instance: Instance) -> SigningService:
    return signing_service(instance)


def _ready(instance: Instance) -> SigningService:
    service = _service(instance)
    service.ensure_pki()
    return service


def _print_certificate(cert: CertificateInfo, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(cert.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"serial:   {cert.serial}")
    click.echo(f"role:     {cert.role}")
    click.echo(f"subject:  {cert.subject}")
    click.echo(f"valid:    {cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}")
    status = (
        cert.status if not cert.revoked_at else f"revoked {cert.revoked_at:%Y-%m-%d %H:%M} ({cert.revocation_reason})"
    )
    click.echo(f"status:   {status}")


json_option: Callable[[Any], Any] = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def pki() -> None:
    """The certification authority: certificates of officials and units, revocation, CRLs, renewal."""


@pki.command("init")
@json_option
@click.pass_obj
def pki_init(instance: Instance, as_json: bool) -> None:
    """Generate the root and issuing CA (keys in the token), OCSP and TSA certificates, unless they exist."""
    with _errors():
        service = _service(instance)
        created = service.ensure_pki()
        chain = service.ca.chain()
    if as_json:
        click.echo(json.dumps({"created": [c.to_json() for c in created], "root": chain.root.sha256.hex()}, indent=2))
        return
    click.echo("created: " + (", ".join(c.role for c in created) or "nothing (the CA exists)"))
    click.echo(f"root CA SHA-256 fingerprint: {chain.root.sha256.hex()}")
    click.echo(f"PEM files in {instance.data_dir / 'pki'}")


@pki.command("issue")
@click.option("--uid", required=True, help="Login of the official (with --seal: the records-office clerk).")
@click.option("--seal", "unit", default=None, help="Issue the seal certificate of this unit (code) instead.")
@json_option
@click.pass_obj
def pki_issue(instance: Instance, uid: str, unit: str | None, as_json: bool) -> None:
    """Issue a signing certificate for an official, built from the directory (its key is made in the token)."""
    with _errors():
        service = _ready(instance)
        cert = (
            service.issue_seal(unit, clerk_uid=uid, actor="cli")
            if unit
            else service.issue_certificate(uid, actor="cli")
        )
    _print_certificate(cert, as_json)


@pki.command("list")
@click.option("--uid", default=None, help="Only this official's certificates.")
@click.option("--unit", default=None, help="Only this unit's seal certificates.")
@click.option("--role", type=click.Choice(["root-ca", "issuing-ca", "ocsp", "tsa", "person", "seal", "external-ca"]))
@click.option("--valid", is_flag=True, help="Only certificates that are not revoked.")
@json_option
@click.pass_obj
def pki_list(
    instance: Instance, uid: str | None, unit: str | None, role: str | None, valid: bool, as_json: bool
) -> None:
    """List certificates."""
    with _errors():
        certs = _service(instance).ca.certificates(role=role, uid=uid, unit_code=unit, valid_only=valid)
    if as_json:
        click.echo(json.dumps([c.to_json() for c in certs], ensure_ascii=False, indent=2))
        return
    for c in certs:
        who = c.subject_uid or (f"unit:{c.unit_code}" if c.unit_code else "-")
        click.echo(f"{c.serial:34} {c.role:11} {c.status:8} {c.not_after:%Y-%m-%d} {who:16} {c.subject}")


@pki.command("show")
@click.argument("serial")
@click.option("--pem", "as_pem", is_flag=True, help="Print the certificate in PEM.")
@json_option
@click.pass_obj
def pki_show(instance: Instance, serial: str, as_pem: bool, as_json: bool) -> None:
    """Show one certificate by serial number (hexadecimal)."""
    with _errors():
        cert = _service(instance).ca.get(serial)
    if as_pem:
        click.echo(cert.pem, nl=False)
        return
    _print_certificate(cert, as_json)


@pki.command("revoke")
@click.argument("serial", required=False)
@click.option("--uid", default=None, help="Revoke every valid certificate of this official instead.")
@click.option("--reason", type=click.Choice(REVOCATION_REASONS), default="unspecified", show_default=True)
@json_option
@click.pass_obj
def pki_revoke(instance: Instance, serial: str | None, uid: str | None, reason: str, as_json: bool) -> None:
    """Revoke a certificate (SERIAL), or all of an official's (--uid); the CRL and OCSP answer at once."""
    if bool(serial) == bool(uid):
        _fail("give either SERIAL or --uid", 2)
    with _errors():
        service = _service(instance)
        if uid:
            revoked = service.on_account_disabled(uid, actor="cli", reason=reason)
        else:
            assert serial is not None
            revoked = [service.revoke(serial, reason, actor="cli")]
    if as_json:
        click.echo(json.dumps([c.to_json() for c in revoked], ensure_ascii=False, indent=2))
        return
    for cert in revoked:
        click.echo(f"revoked {cert.serial} ({reason}): {cert.subject}")
    if not revoked:
        click.echo("nothing to revoke")


@pki.command("crl")
@click.option("--ca", "ca_name", type=click.Choice(["issuing", "root"]), default="issuing", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option("--pem", "as_pem", is_flag=True, help="PEM instead of DER.")
@click.pass_obj
def pki_crl(instance: Instance, ca_name: str, output: Path | None, as_pem: bool) -> None:
    """Issue (when stale) and print the current CRL."""
    from asn1crypto import pem

    with _errors():
        data = _ready(instance).ca.crl(ca_name)
    if as_pem:
        data = pem.armor("X509 CRL", data)
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@pki.command("csr")
@click.option("--uid", required=True, help="The official the key is for.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.pass_obj
def pki_csr(instance: Instance, uid: str, output: Path | None) -> None:
    """Generate a key in the token and a certificate request (PEM) for an outside CA to sign."""
    with _errors():
        service = _ready(instance)
        csr = service.ca.csr_for_person(service.person(uid))
    if output:
        output.write_text(csr)
    else:
        click.echo(csr, nl=False)


@pki.command("import-cert")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--chain", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The outside CA's certificates."
)
@json_option
@click.pass_obj
def pki_import_cert(instance: Instance, certificate: Path, chain: Path | None, as_json: bool) -> None:
    """Import the certificate an outside CA returned for a request made with `antin pki csr`."""
    with _errors():
        cert = _ready(instance).ca.import_certificate(certificate.read_bytes(), chain.read_bytes() if chain else b"")
    _print_certificate(cert, as_json)


@pki.command("import-ca")
@click.option("--cert", "certificate", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--chain", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Outside root and intermediates."
)
@click.option("--key-label", default=None, help="Label of the CA's key in the token (default: matched by public key).")
@json_option
@click.pass_obj
def pki_import_ca(
    instance: Instance, certificate: Path, chain: Path | None, key_label: str | None, as_json: bool
) -> None:
    """Use an issuing CA from an outside PKI (its key already in the HSM) instead of the generated one."""
    with _errors():
        created = _service(instance).import_ca(
            certificate.read_bytes(), chain.read_bytes() if chain else b"", key_label, actor="cli"
        )
    if as_json:
        click.echo(json.dumps([c.to_json() for c in created], ensure_ascii=False, indent=2))
        return
    for cert in created:
        click.echo(f"{cert.role:11} {cert.serial} {cert.subject}")


@pki.command("renew")
@click.argument("role", type=click.Choice(RENEWABLE_ROLES))
@click.option(
    "--days",
    type=click.IntRange(1, MAX_RENEWAL_DAYS),
    default=None,
    help="Lifetime in days (default: 730 for ocsp, 1825 for tsa, 3650 for issuing).",
)
@json_option
@click.pass_obj
def pki_renew(instance: Instance, role: str, days: int | None, as_json: bool) -> None:
    """Renew the OCSP responder's (ocsp) or the time-stamping authority's (tsa) certificate, a new key in the token
    certified by the issuing CA, or the issuing CA's (issuing), its same key certified again by the root; the
    previous certificate stays valid until its end, for what it already signed."""
    with _errors():
        renewal = _service(instance).renew_ca_certificate(role, days=days, actor="cli")
    if as_json:
        click.echo(json.dumps(renewal.to_json(), ensure_ascii=False, indent=2))
        return
    before, after = renewal.previous, renewal.current
    click.echo(f"renewed the {role} certificate: {after.subject}")
    click.echo(
        f"  new:      {after.serial}  valid {after.not_before:%Y-%m-%d} to {after.not_after:%Y-%m-%d}  (in use now)"
    )
    click.echo(f"  previous: {before.serial}  valid to {before.not_after:%Y-%m-%d}  (kept for what it signed)")
    if renewal.capped:
        issuer = "root" if role == "issuing" else "issuing CA"
        click.echo(f"  note: the {issuer} ends first, so the new certificate ends with it")
    pem_file = "issuing-ca.pem" if role == "issuing" else f"{role}.pem"
    click.echo(f"PEM file: {instance.data_dir / 'pki' / pem_file}; running servers use the new certificate within 30 s")
    if role == "issuing":
        click.echo("the OCSP responder's and the TSA's certificates keep their end date: renew them too when it nears")


@pki.group("trust")
def pki_trust() -> None:
    """Outside CAs (e.g. the national government CA system) that verification trusts besides the platform's root."""


def _print_trusted(entries: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return
    for entry in entries:
        click.echo(f"{entry.fingerprint}  {entry.not_after:%Y-%m-%d}  {entry.subject}")


@pki_trust.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def pki_trust_add(instance: Instance, file: Path, as_json: bool) -> None:
    """Trust the CA certificate(s) in FILE (PEM, one or many, or DER) when verifying documents."""
    from antin.kernel.audit.events import AuditEvent
    from signing.validation.trust_list import TrustListError, add_trusted

    with _errors():
        try:
            added = add_trusted(instance.settings, file.read_bytes(), source=str(file))
        except TrustListError as err:
            _fail(str(err), 2)
        for entry in added:
            details = {"sha256": entry.fingerprint, "subject": entry.subject}
            instance.audit.record(AuditEvent.PKI_TRUST_ADD, actor="cli", subject=entry.fingerprint, details=details)
    _print_trusted(added, as_json)


@pki_trust.command("list")
@json_option
@click.pass_obj
def pki_trust_list(instance: Instance, as_json: bool) -> None:
    """The outside CAs verification trusts (SHA-256 fingerprint, end of validity, subject)."""
    from signing.validation.trust_list import list_trusted

    _print_trusted(list_trusted(instance.settings), as_json)


@pki_trust.command("remove")
@click.argument("fingerprint")
@json_option
@click.pass_obj
def pki_trust_remove(instance: Instance, fingerprint: str, as_json: bool) -> None:
    """Stop trusting the outside CA with this SHA-256 FINGERPRINT (or its first 8+ hex digits)."""
    from antin.kernel.audit.events import AuditEvent
    from signing.validation.trust_list import TrustListError, remove_trusted

    with _errors():
        try:
            removed = remove_trusted(instance.settings, fingerprint)
        except TrustListError as err:
            _fail(str(err), 2)
        details = {"sha256": removed.fingerprint, "subject": removed.subject}
        instance.audit.record(AuditEvent.PKI_TRUST_REMOVE, actor="cli", subject=removed.fingerprint, details=details)
    _print_trusted([removed], as_json)


@click.command("sign")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="Signed PDF (a folder for several)."
)
@click.option("--signer", required=True, help="Login of the official (with --seal: the records-office clerk).")
@click.option("--level", type=click.Choice(LEVELS), default=None, help="PAdES level [default: setting, B-LTA].")
@click.option("--seal", "seal_unit", default=None, help="Apply the seal of this unit (code) instead of a signature.")
@click.option(
    "--visible", default=None, metavar="PAGE,X,Y,W,H", help="Visible appearance: page (from 1), box in points."
)
@click.option("--certify", is_flag=True, help="Certify (first signature) or lock (later signature) the document.")
@click.option("--reason", default=None, help="Reason for signing.")
@click.option("--location", default=None, help="Place of signing.")
@json_option
@click.pass_obj
def sign(
    instance: Instance,
    inputs: tuple[Path, ...],
    output: Path,
    signer: str,
    level: str | None,
    seal_unit: str | None,
    visible: str | None,
    certify: bool,
    reason: str | None,
    location: str | None,
    as_json: bool,
) -> None:
    """Sign PDF documents with PAdES (an official's signature, or a unit's seal with --seal)."""
    try:
        box = parse_visible(visible) if visible else None
    except ValueError as err:
        _fail(f"--visible: {err}", 2)
    for path in inputs:
        if not path.is_file():
            _fail(f"{path}: no such file", 2)
    if len(inputs) > 1 and output.exists() and not output.is_dir():
        _fail("with several inputs, -o must be a folder", 2)
    targets = (
        [(path, output / f"{path.stem}-signed.pdf") for path in inputs]
        if len(inputs) > 1 or output.is_dir()
        else [(inputs[0], output)]
    )
    request = SignRequest(
        signer_uid=signer,
        level=cast(Level | None, level),
        seal_unit=seal_unit,
        certify=certify,
        reason=reason,
        location=location,
        visible=box,
    )
    results = []
    with _errors():
        service = _ready(instance)
        for source, destination in targets:
            outcome = service.sign_file(source, destination, request, actor=signer)
            results.append({**outcome.to_json(), "input": str(source), "output": str(destination)})
            if not as_json:
                what = f"{outcome.level}, {outcome.signer_name}, ref {outcome.reference}"
                click.echo(f"signed {source} -> {destination} ({what})")
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else results, ensure_ascii=False, indent=2))
