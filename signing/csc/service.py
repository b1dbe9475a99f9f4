"""The CSC API's service: the official's credentials, and ``signatures/signHash`` with a SAD.

A SAD signs once: exactly the hashes the official approved with WebAuthn (in any order), with the credential they
approved, for the client that asked, by a service token of that official, before it expires. Each check that fails
is a CSC error (``invalid_request`` and a description) and an audit entry with the precise reason. The hashes are
then checked again against the :class:`~signing.sole_control.Authorisation` the key's use rests on, and signed in
the HSM (:meth:`signing.keystore.KeyStore.sign_digest`).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from directory.models import Person
from signing.csc import credentials as creds
from signing.csc.authorisation import CredentialAuthorisation, decode_hashes
from signing.csc.credentials import SHA256_OID, credential_info, find_credential, sign_algorithms
from signing.csc.errors import CscError
from signing.errors import SoleControlRefused
from signing.models import CscGrant, aware
from signing.service import SigningService, signing_service
from signing.sole_control import Authorisation, get_sole_control

__all__ = ["CscService", "get_csc"]

EXTENSION_KEY = "antin.signing.csc"
SHA256_ALIASES = (SHA256_OID, "sha256", "SHA256", "SHA-256")


class CscService:
    def __init__(self, instance: Instance, service: SigningService) -> None:
        self.instance = instance
        self.signing = service
        self.authorisation = CredentialAuthorisation(instance, service, get_sole_control(instance))

    def info(self, version: str) -> dict[str, Any]:
        issuer = self.instance.settings.core.issuer
        return {
            "specs": "2.0.0.2" if version == "v2" else "1.0.4.0",
            "name": "Ấn Tín",
            "region": "VN",
            "lang": "vi-VN",
            "description": "Chữ ký số từ xa của Ấn Tín / Ấn Tín remote signing",
            "authType": ["oauth2code"],
            "oauth2": issuer,
            "oauth2Issuer": issuer,
            "methods": [
                "credentials/list",
                "credentials/info",
                "oauth2/authorize",
                "oauth2/token",
                "signatures/signHash",
            ],
        }

    def list_credentials(self, person: Person, body: Mapping[str, Any], *, client_id: str | None) -> dict[str, Any]:
        user_id = body.get("userID")
        if user_id is not None and user_id not in (person.uid, person.entry_uuid):
            raise CscError("invalid_request", "Invalid parameter userID", reason="foreign_user")
        credentials = creds.list_credentials(self.signing, person, actor=client_id or person.uid)
        answer: dict[str, Any] = {"credentialIDs": [c.id for c in credentials]}
        if body.get("credentialInfo") is True:
            now = self.instance.clock.now()
            answer["credentialInfos"] = [
                {
                    "credentialID": c.id,
                    **credential_info(self.signing, c, certificates="single", cert_info=True, now=now),
                }
                for c in credentials
            ]
        return answer

    def credential(self, person: Person, body: Mapping[str, Any]) -> dict[str, Any]:
        credential = find_credential(self.signing, body.get("credentialID"), person.entry_uuid)
        certificates = body.get("certificates", "single")
        if certificates not in ("none", "single", "chain"):
            raise CscError("invalid_request", "Invalid parameter certificates")
        cert_info = body.get("certInfo", False) is True
        return credential_info(
            self.signing, credential, certificates=certificates, cert_info=cert_info, now=self.instance.clock.now()
        )

    def sign_hash(self, person: Person, body: Mapping[str, Any], *, client_id: str | None, ip: str = "") -> list[str]:
        """The signatures (base64) of the hashes in ``body``, as CSC v1 (``hash``, ``hashAlgo``) or v2 names them."""
        try:
            return self._sign_hash(person, body, client_id=client_id, ip=ip)
        except CscError as err:
            self.instance.audit.record(
                AuditEvent.SIGNING_CSC_REFUSE,
                actor=person.entry_uuid,
                subject=person.entry_uuid,
                client_id=client_id,
                ip=ip or None,
                details={"reason": err.reason, "error": err.description},
            )
            raise

    def _sign_hash(self, person: Person, body: Mapping[str, Any], *, client_id: str | None, ip: str) -> list[str]:
        credential = find_credential(self.signing, body.get("credentialID"), person.entry_uuid)
        sad = body.get("SAD")
        if not isinstance(sad, str) or not sad:
            raise CscError("invalid_request", "Missing (or invalid type) string parameter SAD")
        hashes = decode_hashes(body.get("hashes", body.get("hash")))
        hash_algorithm = body.get("hashAlgorithmOID", body.get("hashAlgo", SHA256_OID))
        if hash_algorithm not in SHA256_ALIASES:
            raise CscError("invalid_request", "Invalid parameter hashAlgo: SHA-256 only")
        if body.get("signAlgo") not in sign_algorithms(credential.certificate):
            raise CscError("invalid_request", "Invalid parameter signAlgo")
        if body.get("signAlgoParams"):
            raise CscError("invalid_request", "Invalid parameter signAlgoParams (RSASSA-PSS is not offered)")
        now = self.instance.clock.now()
        digest = hashlib.sha256(sad.encode()).hexdigest()
        with self.instance.database.reading() as s:
            grant = s.scalars(select(CscGrant).where(CscGrant.sad_digest == digest)).first()
        if grant is None or grant.official != person.entry_uuid or (client_id and grant.client_id != client_id):
            raise CscError("invalid_request", "Invalid SAD", reason="foreign_sad")
        if grant.credential_id != credential.id:
            raise CscError("invalid_request", "The SAD was not issued for this credentialID", reason="foreign_sad")
        if grant.used_at is not None:
            raise CscError("invalid_request", "The SAD was used already", reason="reused")
        if grant.sad_expires_at is None or aware(grant.sad_expires_at) <= now:
            raise CscError("invalid_request", "The SAD expired", reason="expired")
        approved = tuple(bytes.fromhex(h) for h in grant.hashes.split())
        if Counter(hashes) != Counter(approved):
            raise CscError("invalid_request", "The hashes are not those the SAD authorises", reason="wrong_document")
        with self.instance.database.transaction() as conn:  # one statement: a SAD signs once
            claimed = conn.execute(
                update(CscGrant)
                .where(CscGrant.id == grant.id, CscGrant.used_at.is_(None), CscGrant.sad_expires_at > now)
                .values(used_at=now)
            ).rowcount
        if claimed != 1:
            raise CscError("invalid_request", "The SAD was used already", reason="reused")
        authorisation = Authorisation(grant.authorisation_id, grant.official, approved, "csc", aware(grant.created_at))
        label = credential.certificate.key_label
        if label is None:
            raise CscError("invalid_request", "Invalid parameter credentialID", reason="no_key")
        signatures = []
        for value in hashes:
            try:
                authorisation.require(value, official=person.entry_uuid)
            except SoleControlRefused as err:  # cannot happen after the check above; kept as the key's guard
                message = "The hashes are not those the SAD authorises"
                raise CscError("invalid_request", message, reason=err.reason) from None
            signatures.append(base64.b64encode(self.signing.keystore.sign_digest(label, value, "sha256")).decode())
        self.instance.audit.record(
            AuditEvent.SIGNING_CSC_SIGN_HASH,
            actor=person.entry_uuid,
            subject=person.uid,
            client_id=client_id,
            ip=ip or None,
            details={
                "credential": credential.id,
                "authorisation": grant.authorisation_id,
                "sha256": [h.hex() for h in hashes],
            },
        )
        return signatures


def get_csc(instance: Instance) -> CscService:
    return instance.service(EXTENSION_KEY, lambda i: CscService(i, signing_service(i)))
