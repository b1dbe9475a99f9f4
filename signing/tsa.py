"""The platform's RFC 3161 time-stamping authority.

Tokens are CMS SignedData over a TSTInfo, signed in the token by the TSA key, whose certificate carries the critical
extendedKeyUsage timeStamping (RFC 3161 §2.3) and is identified by an ESS signing-certificate-v2 attribute
(RFC 5816). Serial numbers come from the database (one row per token), so they are never reused across restarts
or workers. The same object answers ``POST /tsa`` and the signing code in-process.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from asn1crypto import algos, cms, core, tsp, x509

from antin.kernel.database import Database
from signing.keystore import KeyStore, key_algorithm_of
from signing.models import TimestampRecord
from signing.pki.profiles import POLICY_OID

__all__ = ["ACCEPTED_DIGESTS", "TimeStampAuthority", "database_serials"]

log = logging.getLogger(__name__)

ACCEPTED_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}

# serial_allocator(gen_time, hash algorithm, message imprint) -> a serial number never handed out before
SerialAllocator = Callable[[datetime, str, bytes], int]


def database_serials(database: Database) -> SerialAllocator:
    """Serial numbers from the ``signing_timestamp`` table's autoincrement key (safe across workers)."""

    def allocate(gen_time: datetime, hash_algorithm: str, imprint: bytes) -> int:
        with database.session() as s:
            record = TimestampRecord(gen_time=gen_time, hash_algorithm=hash_algorithm, message_imprint=imprint.hex())
            s.add(record)
            s.flush()
            return record.id

    return allocate


class TimeStampAuthority:
    def __init__(
        self,
        keystore: KeyStore,
        *,
        key_label: str,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        serials: SerialAllocator,
        clock: Callable[[], datetime],
        policy: str = POLICY_OID,
        on_issue: Callable[[int, str], None] | None = None,
    ) -> None:
        self.keystore = keystore
        self.key_label = key_label
        self.certificate = certificate
        self.chain = list(chain)
        self.serials = serials
        self.clock = clock
        self.policy = policy
        self.on_issue = on_issue
        public = certificate.public_key.dump()
        self._signature_algorithm = "sha256_ecdsa" if key_algorithm_of(public) == "ec" else "rsassa_pkcs1v15"
        # Encoded once and reused: asn1crypto re-encodes names it did not parse, which costs milliseconds.
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                        "issuer_serial": {
                            "issuer": [x509.GeneralName(name="directory_name", value=certificate.issuer)],
                            "serial_number": certificate.serial_number,
                        },
                    }
                ]
            }
        )
        self._ess = tsp.SigningCertificateV2.load(ess.dump())
        self._tsa_name = x509.GeneralName.load(
            x509.GeneralName(name="directory_name", value=certificate.subject).dump()
        )
        self._sid = cms.SignerIdentifier.load(
            cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
            ).dump()
        )

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp (a rejection with a reason when the request is bad)."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            version = request["version"].native
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            policy = request["req_policy"].native
            extensions = request["extensions"].native
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format", "not a DER TimeStampReq")
        if version not in (1, "v1"):
            return _rejection("bad_request", "version must be 1")
        if algorithm not in ACCEPTED_DIGESTS:
            return _rejection("bad_alg", f"digest {algorithm} is not accepted (use SHA-256 or stronger)")
        if not isinstance(digest, bytes) or len(digest) != ACCEPTED_DIGESTS[algorithm]:
            return _rejection("bad_data_format", "the message imprint has the wrong length")
        if policy is not None and policy != self.policy:
            return _rejection("unaccepted_policy", f"this TSA issues under policy {self.policy} only")
        if extensions:
            return _rejection("unaccepted_extension", "no request extensions are supported")
        return bytes(self._grant(imprint, algorithm, digest, nonce, cert_req).dump())

    def _grant(
        self, imprint: tsp.MessageImprint, algorithm: str, digest: bytes, nonce: int | None, cert_req: bool
    ) -> tsp.TimeStampResp:
        gen_time = self.clock().replace(microsecond=0)
        serial = self.serials(gen_time, algorithm, digest)
        info: dict[str, Any] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": serial,
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "tsa": self._tsa_name,
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "signing_time", "values": [cms.Time(name="utc_time", value=core.UTCTime(gen_time))]},
                {"type": "signing_certificate_v2", "values": [self._ess]},
                {"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]},
            ]
        )
        signature = self.keystore.sign(self.key_label, signed_attrs.dump(), "sha256")
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": digest_algorithm,
                "signed_attrs": signed_attrs,
                "signature_algorithm": {"algorithm": self._signature_algorithm},
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_info)},
            "signer_infos": [signer_info],
        }
        if cert_req:
            signed_data["certificates"] = [self.certificate, *self.chain]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
        if self.on_issue is not None:
            self.on_issue(serial, algorithm)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})


class _RejectionResp(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without the token (asn1crypto's class does not mark the token optional)."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012 (asn1crypto's declaration style)


def _rejection(fail_info: str, text: str) -> bytes:
    log.info("time-stamp request rejected: %s", text)
    status = {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({fail_info})}
    return bytes(_RejectionResp({"status": status}).dump())
