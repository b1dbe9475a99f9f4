"""Renewing the CA's own certificates before they expire (``antin pki renew``, the console's PKI page): the OCSP
responder's and the time-stamping authority's, and the issuing CA's.

The OCSP responder and the TSA get a new key in the token, which the issuing CA certifies; from then on the new
certificate signs OCSP answers and time-stamps. The issuing CA keeps its key: the root certifies it again, same
subject, same key, a new serial and validity, so every certificate it issued still chains to it (and OCSP and the
CRL answer for what it issued under either certificate: :meth:`Revocation.issuer_serials`). An outside root's
issuing CA is renewed by its owner (``antin pki import-ca``).

The previous certificate is neither revoked nor deleted: it stays valid until its own end, so that what it signed
(OCSP answers and time-stamp tokens embedded in documents signed before, officials' certificates) still validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from signing.errors import InvalidRequestError, PkiError, PkiNotInitialisedError
from signing.models import CertificateRole
from signing.pki.builder import build_certificate, new_serial
from signing.pki.ca_setup import ISSUING_DAYS, SERVICE_ROLES, CaSetup
from signing.pki.certificates import CertificateInfo, serial_of
from signing.pki.profiles import ca_extensions

__all__ = ["MAX_RENEWAL_DAYS", "RENEWABLE_ROLES", "Renewal", "Renewing"]

RENEWABLE_ROLES: tuple[str, ...] = (*SERVICE_ROLES, "issuing")
MAX_RENEWAL_DAYS = 10 * 365


@dataclass(frozen=True)
class Renewal:
    """A renewed certificate: the one in use before (kept, still valid) and the new one in use from now on."""

    role: str
    previous: CertificateInfo
    current: CertificateInfo
    capped: bool
    """The lifetime asked for went past the issuing CA's own end, so the certificate ends with it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "previous": self.previous.to_json(),
            "current": self.current.to_json(),
            "capped_at_issuer_expiry": self.capped,
        }


class Renewing(CaSetup):
    """The renewal part of the certificate authority."""

    def renew(self, role: str, *, days: int | None = None) -> Renewal:
        """A new certificate for the OCSP responder (``ocsp``) or the TSA (``tsa``), each with a new key, or for the
        issuing CA (``issuing``, same key), ``days`` long (default: the role's usual lifetime, cut at its issuer's
        end); the previous certificate stays valid."""
        if role not in RENEWABLE_ROLES:
            raise InvalidRequestError("role", f"must be one of {', '.join(RENEWABLE_ROLES)}")
        if days is not None and not 1 <= days <= MAX_RENEWAL_DAYS:
            raise InvalidRequestError("days", f"must be between 1 and {MAX_RENEWAL_DAYS}")
        with self._lock:
            if role == "issuing":
                previous = self._current(CertificateRole.ISSUING_CA)
                asked = days or ISSUING_DAYS
                current = self._recertify_issuing_ca(asked) if previous is not None else None
            else:
                previous = self._current(role)
                asked = days or self._service_profile(role)[2]
                current = self._issue_service_certificate(role, days) if previous is not None else None
            if previous is None or current is None:
                raise PkiNotInitialisedError()
            self._forget_chain()
            self._write_pem_files()
        capped = (current.not_after - current.not_before).days < asked
        return Renewal(role=role, previous=previous, current=current, capped=capped)

    def _recertify_issuing_ca(self, days: int) -> CertificateInfo:
        """The root certifies the issuing CA's key again: same subject and key, a new serial and validity."""
        chain = self.chain()
        if chain.root_key is None:
            raise PkiError(
                "the issuing CA was issued by an outside root: ask its owner for a new certificate and import it "
                "with `antin pki import-ca`"
            )
        now = self.clock()
        cert = build_certificate(
            self.keystore,
            issuer=chain.root_key,
            subject=chain.issuing.subject,
            public_key=chain.issuing.public_key.dump(),
            serial=new_serial(),
            not_before=now - timedelta(minutes=5),
            not_after=min(now + timedelta(days=days), chain.root.not_valid_after),
            extensions=ca_extensions(path_length=0, urls=self.urls, issuer_name="root", policy_oid=self.policy_oid),
        )
        return self._store(
            cert, CertificateRole.ISSUING_CA, key_label=chain.issuing_key.label, issuer_serial=serial_of(chain.root)
        )
