"""An OCSP responder (RFC 6960): answers good, revoked or unknown for the certificates of the CAs it serves.

Certificates issued by the issuing CA are answered by a delegated responder certificate (id-kp-OCSPSigning,
id-pkix-ocsp-nocheck); certificates issued by the root (the issuing CA itself) are answered by the root. The
same code makes the responses embedded in B-LT signatures, without a network round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from asn1crypto import core, keys, ocsp, x509

from signing.keystore import KeyStore
from signing.pki.builder import signature_algorithm

__all__ = ["CertStatus", "OcspAuthority", "OcspResponder"]


@dataclass(frozen=True)
class CertStatus:
    state: Literal["good", "revoked", "unknown"]
    revoked_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class OcspAuthority:
    """A CA whose certificates this responder answers for, and who signs the answers."""

    ca_certificate: x509.Certificate
    signer_label: str
    signer_public_key: bytes
    signer_certificate: x509.Certificate | None  # None: the CA signs its answers itself


StatusLookup = Callable[[x509.Certificate, int], CertStatus]


def _issuer_hashes(ca: x509.Certificate, algorithm: str) -> tuple[bytes, bytes]:
    name_hash = hashlib.new(algorithm, ca.subject.dump()).digest()
    key_hash = hashlib.new(algorithm, ca.public_key["public_key"].contents[1:]).digest()
    return name_hash, key_hash


def _generalized(moment: datetime) -> core.GeneralizedTime:
    return core.GeneralizedTime(moment.replace(microsecond=0))


class OcspResponder:
    def __init__(
        self,
        keystore: KeyStore,
        authorities: Sequence[OcspAuthority],
        status_of: StatusLookup,
        *,
        clock: Callable[[], datetime],
        ca_labels: dict[bytes, str] | None = None,
        validity: timedelta = timedelta(days=1),
    ) -> None:
        self.keystore = keystore
        self.authorities = list(authorities)
        self.status_of = status_of
        self.clock = clock
        self.validity = validity
        self.ca_labels = ca_labels or {}  # CA certificate SHA-256 -> label of its key

    def _authority_for(self, cert_id: ocsp.CertId) -> OcspAuthority | None:
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        if algorithm not in ("sha1", "sha256", "sha384", "sha512"):
            return None
        wanted = (cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native)
        for authority in self.authorities:
            if _issuer_hashes(authority.ca_certificate, algorithm) == wanted:
                return authority
        return None

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER OCSPRequest with a DER OCSPResponse; malformed or foreign requests get an error status."""
        try:
            request = ocsp.OCSPRequest.load(request_der)
            tbs = request["tbs_request"]
            items = list(tbs["request_list"])
            nonce = request.nonce_value
            _ = [item["req_cert"]["serial_number"].native for item in items]
        except (ValueError, TypeError, KeyError):
            return _error("malformed_request")
        if not items:
            return _error("malformed_request")
        authority = self._authority_for(items[0]["req_cert"])
        if authority is None or any(self._authority_for(i["req_cert"]) is not authority for i in items):
            return _error("unauthorized")
        cert_ids = [item["req_cert"] for item in items]
        return bytes(self._build(authority, cert_ids, nonce).dump())

    def response_for(self, ca_certificate: x509.Certificate, serial: int) -> bytes:
        """A fresh response about one certificate, for embedding in a document's validation data."""
        name_hash, key_hash = _issuer_hashes(ca_certificate, "sha1")
        cert_id = ocsp.CertId(
            {
                "hash_algorithm": {"algorithm": "sha1"},
                "issuer_name_hash": name_hash,
                "issuer_key_hash": key_hash,
                "serial_number": serial,
            }
        )
        authority = self._authority_for(cert_id)
        if authority is None:
            raise LookupError("this responder does not answer for that CA")
        return bytes(self._build(authority, [cert_id], None).dump())

    def _build(self, authority: OcspAuthority, cert_ids: Sequence[ocsp.CertId], nonce: Any) -> ocsp.OCSPResponse:
        signer = authority.signer_certificate
        if signer is not None and any(c["serial_number"].native == signer.serial_number for c in cert_ids):
            # Never vouch for itself: answers about the delegated responder's own certificate come from the CA.
            authority = OcspAuthority(
                authority.ca_certificate,
                self.ca_labels[authority.ca_certificate.sha256],
                authority.ca_certificate.public_key.dump(),
                None,
            )
        now = self.clock()
        singles = []
        for cert_id in cert_ids:
            status = self.status_of(authority.ca_certificate, cert_id["serial_number"].native)
            cert_status: ocsp.CertStatus
            if status.state == "revoked":
                assert status.revoked_at is not None
                info: dict[str, Any] = {"revocation_time": _generalized(status.revoked_at)}
                if status.reason:
                    info["revocation_reason"] = status.reason.replace("-", "_")
                cert_status = ocsp.CertStatus(name="revoked", value=ocsp.RevokedInfo(info))
            else:
                cert_status = ocsp.CertStatus(name=status.state, value=core.Null())
            single: dict[str, Any] = {"cert_id": cert_id, "cert_status": cert_status, "this_update": _generalized(now)}
            if status.state != "unknown":
                single["next_update"] = _generalized(now + self.validity)
            singles.append(single)
        signer_key = keys.PublicKeyInfo.load(authority.signer_public_key)
        data: dict[str, Any] = {
            "version": "v1",
            "responder_id": ocsp.ResponderId(name="by_key", value=signer_key.sha1),
            "produced_at": _generalized(now),
            "responses": singles,
        }
        if nonce is not None:
            data["response_extensions"] = [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
        response_data = ocsp.ResponseData(data)
        sig_alg = signature_algorithm(authority.signer_public_key)
        signature = self.keystore.sign(authority.signer_label, response_data.dump(), "sha256")
        basic: dict[str, Any] = {
            "tbs_response_data": response_data,
            "signature_algorithm": sig_alg,
            "signature": signature,
        }
        if authority.signer_certificate is not None:
            basic["certs"] = [authority.signer_certificate]
        return ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": ocsp.BasicOCSPResponse(basic)},
            }
        )


def _error(status: str) -> bytes:
    return bytes(ocsp.OCSPResponse({"response_status": status}).dump())
