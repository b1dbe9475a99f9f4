"""Renewing the CA's own service certificates before they expire: the OCSP responder's and the time-stamping
authority's (``antin pki renew``, the console's PKI page).

A renewal makes a new key in the token and has the issuing CA certify it; from then on the new certificate signs
OCSP answers and time-stamps. The previous certificate is neither revoked nor deleted: it stays valid until its own
end, so that the OCSP answers and time-stamp tokens it signed (embedded in documents signed before) still validate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signing.errors import InvalidRequestError, PkiNotInitialisedError
from signing.pki.ca_setup import SERVICE_ROLES, CaSetup
from signing.pki.certificates import CertificateInfo

__all__ = ["MAX_RENEWAL_DAYS", "RENEWABLE_ROLES", "Renewal", "Renewing"]

RENEWABLE_ROLES: tuple[str, ...] = SERVICE_ROLES
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
        """A new key and certificate for the OCSP responder (``ocsp``) or the TSA (``tsa``), ``days`` long (default:
        the role's usual lifetime, cut at the issuing CA's end); the previous certificate stays valid."""
        if role not in RENEWABLE_ROLES:
            raise InvalidRequestError("role", f"must be one of {', '.join(RENEWABLE_ROLES)}")
        if days is not None and not 1 <= days <= MAX_RENEWAL_DAYS:
            raise InvalidRequestError("days", f"must be between 1 and {MAX_RENEWAL_DAYS}")
        with self._lock:
            previous = self._current(role)
            if previous is None:
                raise PkiNotInitialisedError()
            asked = days or self._service_profile(role)[2]
            current = self._issue_service_certificate(role, days)
            self._forget_chain()
            self._write_pem_files()
        capped = (current.not_after - current.not_before).days < asked
        return Renewal(role=role, previous=previous, current=current, capped=capped)
