"""Is the PKI answering? A real OCSP request and a real RFC 3161 time-stamp request, each sent over HTTP to the
address relying parties use (the one in the certificates), with a short timeout, and the answer read back.

A responder that answers with an error status, garbage, or late counts as down: what a validator would see. The
answers' signatures are not checked here (the signing tests and pyHanko do that); what the administrator needs is
"is it up, and does it speak the protocol".
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import algos, ocsp, tsp, x509

__all__ = ["ProbeResult", "probe_ocsp", "probe_tsa"]


@dataclass(frozen=True)
class ProbeResult:
    """What one request to a PKI service gave."""

    url: str
    answering: bool  # reached and answered in its protocol, with a success status
    detail: str  # the certificate status OCSP gave, the TSA's time, or why it failed
    millis: int  # how long the round trip took
    answered_at: datetime | None = None  # the TSA's time in its token

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "answering": self.answering, "detail": self.detail, "millis": self.millis}


def probe_ocsp(url: str, issuer: x509.Certificate, serial: int, *, timeout: float) -> ProbeResult:
    """Ask the OCSP responder at ``url`` for certificate ``serial`` of ``issuer``."""
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "issuer_name_hash": hashlib.sha256(issuer.subject.dump()).digest(),
            "issuer_key_hash": hashlib.sha256(issuer.public_key["public_key"].contents[1:]).digest(),
            "serial_number": serial,
        }
    )
    request = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    started = time.perf_counter()
    try:
        answer = _post(url, request.dump(), "application/ocsp-request", timeout)
        response = ocsp.OCSPResponse.load(answer)
        status = response["response_status"].native
        if status != "successful":
            return _result(url, started, False, f"the responder answered {status}")
        single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
        if single["cert_id"]["serial_number"].native != serial:
            return _result(url, started, False, "the answer is about another certificate")
        return _result(url, started, True, str(single["cert_status"].name))
    except _FAILURES as err:
        return _result(url, started, False, _why(err))


def probe_tsa(url: str, *, timeout: float) -> ProbeResult:
    """Ask the time-stamping authority at ``url`` to stamp a random digest; granted with our nonce = answering."""
    nonce = secrets.randbits(63)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(secrets.token_bytes(16)).digest(),
            },
            "nonce": nonce,
            "cert_req": False,
        }
    )
    started = time.perf_counter()
    try:
        response = tsp.TimeStampResp.load(_post(url, request.dump(), "application/timestamp-query", timeout))
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            return _result(url, started, False, f"the TSA answered {status}")
        info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
        if info["nonce"].native != nonce:
            return _result(url, started, False, "the token does not carry our nonce")
        gen_time = info["gen_time"].native
        return _result(url, started, True, gen_time.isoformat(), answered_at=gen_time)
    except _FAILURES as err:
        return _result(url, started, False, _why(err))


# asn1crypto parses lazily: a malformed answer raises one of these when a field is read, never anything else;
# requests' errors are OSErrors (requests loads with the first probe, not with every worker)
_FAILURES = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _post(url: str, body: bytes, content_type: str, timeout: float) -> bytes:
    import requests

    response = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=timeout)
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}")
    return bytes(response.content)


def _why(err: Exception) -> str:
    import requests

    if isinstance(err, requests.Timeout):
        return "no answer within the timeout"
    if isinstance(err, requests.ConnectionError):
        return "cannot connect"
    if isinstance(err, requests.RequestException):
        return f"request failed: {type(err).__name__}"
    if isinstance(err, ValueError) and str(err).startswith("HTTP "):
        return str(err)
    return "the answer is not in the protocol's format"


def _result(
    url: str, started: float, answering: bool, detail: str, *, answered_at: datetime | None = None
) -> ProbeResult:
    return ProbeResult(url, answering, detail, round((time.perf_counter() - started) * 1000), answered_at)
