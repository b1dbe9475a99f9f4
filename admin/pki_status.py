"""The PKI's health as an administrator needs it: each CA certificate (root, issuing, OCSP responder, TSA) with its
validity and the days it has left, whether the OCSP responder and the TSA really answer (one real request to each,
short timeout), and when each CRL must next be issued.

It is the platform's, not a province's: it needs ``certificates:read`` on the whole directory. The expiry alone
(no network) is what the console's home shows: :meth:`PkiMonitor.ca_certificates`. Renewing the OCSP responder's, the
TSA's or the issuing CA's certificate (:meth:`PkiMonitor.renew`) needs ``pki:renew`` there, which only the platform
administrator's role holds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asn1crypto import crl as asn1_crl

from admin.certificates import PkiUnavailableError
from admin.delegation import Actor, Delegation
from admin.errors import AdminError, ConflictError
from admin.models import ROOT_UNIT, AdminAction
from directory.errors import InvalidInputError
from signing.errors import CertificateNotFoundError, InvalidRequestError, PkiError, PkiNotInitialisedError
from signing.pki import RENEWABLE_ROLES, Renewal
from signing.pki.probes import ProbeResult, probe_ocsp, probe_tsa
from signing.settings import SigningSettings

if TYPE_CHECKING:
    from asn1crypto import x509

    from signing.service import SigningService

__all__ = [
    "CaCertificateStatus",
    "CrlStatus",
    "Expiry",
    "PkiMonitor",
    "PkiStatus",
    "UnknownRenewalError",
    "expiry_of",
]


class UnknownRenewalError(AdminError):
    """A certificate of the CA that cannot be renewed from here (the root: it is the trust anchor everyone holds)."""

    status = 404
    code = "not-found"

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"no CA certificate {role!r} to renew: one of {', '.join(RENEWABLE_ROLES)}")


class Expiry(enum.StrEnum):
    OK = "ok"
    EXPIRING = "expiring"  # fewer than [admin] pki_warning_days left: amber
    EXPIRED = "expired"  # red


def expiry_of(not_after: datetime, now: datetime, warning_days: int) -> tuple[int, Expiry]:
    """Whole days left (negative once expired) and what that means."""
    days = (not_after - now).days
    if not_after <= now:
        return days, Expiry.EXPIRED
    return days, Expiry.EXPIRING if days < warning_days else Expiry.OK


@dataclass(frozen=True)
class CaCertificateStatus:
    """One certificate of the CA's chain and how long it has left."""

    role: str  # root, issuing, ocsp, tsa
    subject: str
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int
    expiry: Expiry

    @property
    def warning(self) -> bool:
        return self.expiry is not Expiry.OK

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "subject": self.subject,
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "days_left": self.days_left,
            "expiry": self.expiry.value,
            "warning": self.warning,
        }


@dataclass(frozen=True)
class CrlStatus:
    """The current CRL of one of our CAs."""

    ca: str  # root or issuing
    url: str
    number: int
    this_update: datetime
    next_update: datetime
    revoked: int  # entries in it

    def as_json(self) -> dict[str, Any]:
        return {
            "ca": self.ca,
            "url": self.url,
            "number": self.number,
            "this_update": self.this_update.isoformat(),
            "next_update": self.next_update.isoformat(),
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class PkiStatus:
    certificates: list[CaCertificateStatus]
    ocsp: ProbeResult | None  # None: no issuing CA whose responder we could ask
    tsa: ProbeResult
    crls: list[CrlStatus]

    @property
    def warning(self) -> bool:
        """Something needs an administrator: a certificate expiring or expired, or a service not answering."""
        down = not self.tsa.answering or (self.ocsp is not None and not self.ocsp.answering)
        return down or any(c.warning for c in self.certificates)

    def as_json(self) -> dict[str, Any]:
        return {
            "warning": self.warning,
            "certificates": [c.as_json() for c in self.certificates],
            "ocsp": self.ocsp.as_json() if self.ocsp else None,
            "tsa": self.tsa.as_json(),
            "crls": [c.as_json() for c in self.crls],
        }


class PkiMonitor:
    def __init__(
        self,
        delegation: Delegation,
        signing: Callable[[], SigningService],
        clock: Callable[[], datetime],
        *,
        warning_days: int,
        probe_timeout: float,
    ) -> None:
        self.delegation = delegation
        self._signing = signing
        self.clock = clock
        self.warning_days = warning_days
        self.probe_timeout = probe_timeout

    def sees(self, actor: Actor) -> bool:
        """Whether ``actor`` reads the platform's PKI status (certificates:read on the whole directory)."""
        return ROOT_UNIT in self.delegation.units_holding(actor, AdminAction.CERTIFICATES_READ)

    def may_renew(self, actor: Actor) -> bool:
        """Whether ``actor`` renews the CA's certificates (pki:renew on the whole directory: the console's buttons)."""
        return ROOT_UNIT in self.delegation.units_holding(actor, AdminAction.PKI_RENEW)

    def renewable(self, actor: Actor, role: str) -> CaCertificateStatus:
        """The certificate ``actor`` is about to renew (what the confirmation page shows), after the checks."""
        self.delegation.authorize_unit(actor, AdminAction.PKI_RENEW, ROOT_UNIT)
        if role not in RENEWABLE_ROLES:
            raise UnknownRenewalError(role)
        found = next((c for c in self.ca_certificates(actor) if c.role == role), None)
        if found is None:
            raise PkiUnavailableError(str(PkiNotInitialisedError()))
        return found

    def renew(self, actor: Actor, role: str, *, days: int | None = None) -> Renewal:
        """Renew the OCSP responder's (``ocsp``), the TSA's (``tsa``) or the issuing CA's (``issuing``) certificate;
        audited by the signing service (pki:ca:renew) with the serials and ends before and after."""
        self.renewable(actor, role)
        try:
            return self._signing().renew_ca_certificate(role, days=days, actor=actor.name, details={"via": "admin"})
        except InvalidRequestError as err:
            raise InvalidInputError(err.field, err.reason) from None
        except PkiNotInitialisedError as err:
            raise PkiUnavailableError(str(err)) from None
        except PkiError as err:  # an issuing CA an outside root issued: its owner renews it
            raise ConflictError(str(err)) from None

    def ca_certificates(self, actor: Actor) -> list[CaCertificateStatus]:
        """The CA's certificates with the days each has left (no network: the console home shows this)."""
        self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, ROOT_UNIT)
        try:
            chain = self._signing().ca.chain()
        except PkiError as err:
            raise PkiUnavailableError(str(err)) from None
        now = self.clock()
        parts: list[tuple[str, x509.Certificate | None]] = [
            ("root", chain.root),
            ("issuing", chain.issuing),
            ("ocsp", chain.ocsp),
            ("tsa", chain.tsa),
        ]
        out = []
        for role, cert in parts:
            if cert is None:
                continue
            days, expiry = expiry_of(cert.not_valid_after, now, self.warning_days)
            out.append(
                CaCertificateStatus(
                    role=role,
                    subject=str(cert.subject.human_friendly),
                    serial=format(cert.serial_number, "x"),
                    not_before=cert.not_valid_before,
                    not_after=cert.not_valid_after,
                    days_left=days,
                    expiry=expiry,
                )
            )
        return out

    def status(self, actor: Actor) -> PkiStatus:
        """Everything: the certificates, a real request to the OCSP responder and to the TSA (at once), the CRLs."""
        certificates = self.ca_certificates(actor)
        signing = self._signing()
        chain = signing.ca.chain()
        tsa_url = signing.settings.section(SigningSettings).tsa_url or signing.urls.tsa  # what signatures use
        with ThreadPoolExecutor(max_workers=2) as pool:
            tsa = pool.submit(probe_tsa, tsa_url, timeout=self.probe_timeout)
            # the responder answers for what the issuing CA issued: ask about its own certificate (or any serial:
            # "unknown" is an answer too)
            serial = chain.ocsp.serial_number if chain.ocsp is not None else 1
            ocsp = pool.submit(probe_ocsp, signing.urls.ocsp, chain.issuing, serial, timeout=self.probe_timeout)
            return PkiStatus(certificates, ocsp.result(), tsa.result(), self._crls(signing))

    def _crls(self, signing: SigningService) -> list[CrlStatus]:
        out = []
        for name in ("root", "issuing"):
            try:
                der = signing.ca.crl(name)
            except CertificateNotFoundError:
                continue  # an outside root: its CRL is its owner's
            tbs = asn1_crl.CertificateList.load(der)["tbs_cert_list"]
            number = next(
                (e["extn_value"].native for e in tbs["crl_extensions"] if e["extn_id"].native == "crl_number"), 0
            )
            out.append(
                CrlStatus(
                    ca=name,
                    url=signing.urls.crl(name),
                    number=int(number),
                    this_update=tbs["this_update"].native,
                    next_update=tbs["next_update"].native,
                    revoked=len(tbs["revoked_certificates"]),
                )
            )
        return out
