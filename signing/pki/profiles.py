"""Certificate profiles: the subject and extensions of each kind of certificate the platform issues.

Officials' certificates are built from the directory: the name with its diacritics as UTF8String, the Party unit
path as O (the top unit) and OU (the units below it, top down), the position as ``title`` and the employee number as
``serialNumber``. Seal certificates name the unit. Every end-entity certificate says where its status is
(OCSP, CRL) and where its issuer's certificate is (caIssuers), all under the platform's public URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509

from directory.models import Person, UnitRef
from signing.pki.builder import build_name

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "POLICY_OID",
    "PkiUrls",
    "ca_extensions",
    "end_entity_extensions",
    "ocsp_signer_extensions",
    "person_subject",
    "seal_subject",
    "tsa_extensions",
]

# The default of the ``signing.policy_oid`` setting: a UUID-derived OID (ITU-T X.667), unique but registered to
# nobody. A deployment names its own certificate policy (the arc of its CP/CPS) in the setting.
POLICY_OID = "2.25.217014637925381127342339611622151399203"
# RFC 9336 id-kp-documentSigning.
DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36"
COUNTRY = "VN"


@dataclass(frozen=True)
class PkiUrls:
    """The public addresses of the PKI, under the platform's base URL (the issuer)."""

    base: str

    @property
    def ocsp(self) -> str:
        return f"{self.base}/pki/ocsp"

    def crl(self, ca_name: str) -> str:
        return f"{self.base}/pki/crl/{ca_name}.crl"

    def ca_certificate(self, ca_name: str) -> str:
        return f"{self.base}/pki/ca/{ca_name}.cer"

    @property
    def tsa(self) -> str:
        return f"{self.base}/tsa"


def _organisation(path_top_down: Sequence[UnitRef], default_org: str) -> list[tuple[str, str]]:
    if not path_top_down:
        return [("organization_name", default_org)]
    attrs = [("organization_name", path_top_down[0].name)]
    attrs.extend(("organizational_unit_name", unit.name) for unit in path_top_down[1:])
    return attrs


def person_subject(person: Person, default_org: str) -> x509.Name:
    path = list(reversed(person.unit_path)) or ([person.unit] if person.unit else [])
    attrs: list[tuple[str, str]] = [("country_name", COUNTRY), *_organisation(path, default_org)]
    if person.position:
        attrs.append(("title", person.position))
    attrs.append(("common_name", person.full_name))
    attrs.append(("serial_number", person.employee_number or f"UID-{person.uid}"))
    return build_name(attrs)


def seal_subject(unit: UnitRef, path_above: Sequence[UnitRef], default_org: str) -> x509.Name:
    """The seal of ``unit``; ``path_above`` lists the units above it, top down."""
    attrs: list[tuple[str, str]] = [("country_name", COUNTRY)]
    attrs.extend(_organisation(list(path_above), default_org) if path_above else [("organization_name", unit.name)])
    attrs.append(("common_name", unit.name))
    attrs.append(("organization_identifier", f"VN-UNIT-{unit.code}"))
    return build_name(attrs)


def _uri(url: str) -> x509.GeneralName:
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def _key_usage(*names: str) -> dict[str, Any]:
    return {"extn_id": "key_usage", "critical": True, "extn_value": set(names)}


def _policies(policy_oid: str) -> dict[str, Any]:
    return {"extn_id": "certificate_policies", "critical": False, "extn_value": [{"policy_identifier": policy_oid}]}


def _status_pointers(urls: PkiUrls, ca_name: str, *, with_ocsp: bool = True) -> list[dict[str, Any]]:
    access = [{"access_method": "ca_issuers", "access_location": _uri(urls.ca_certificate(ca_name))}]
    if with_ocsp:
        access.insert(0, {"access_method": "ocsp", "access_location": _uri(urls.ocsp)})
    return [
        {"extn_id": "authority_information_access", "critical": False, "extn_value": access},
        {
            "extn_id": "crl_distribution_points",
            "critical": False,
            "extn_value": [{"distribution_point": {"full_name": [_uri(urls.crl(ca_name))]}}],
        },
    ]


def ca_extensions(
    *, path_length: int | None, urls: PkiUrls | None, issuer_name: str | None, policy_oid: str = POLICY_OID
) -> list[dict[str, Any]]:
    """A CA: the root (no URLs) or the issuing CA (status pointers to the root's CRL and certificate)."""
    constraints: dict[str, Any] = {"ca": True}
    if path_length is not None:
        constraints["path_len_constraint"] = path_length
    exts: list[dict[str, Any]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
        _key_usage("key_cert_sign", "crl_sign", "digital_signature"),
    ]
    if urls is not None and issuer_name is not None:
        exts.append(_policies(policy_oid))
        exts.extend(_status_pointers(urls, issuer_name, with_ocsp=False))
    return exts


def end_entity_extensions(
    urls: PkiUrls, ca_name: str, *, email: str | None = None, policy_oid: str = POLICY_OID
) -> list[dict[str, Any]]:
    """An official's or a unit's signing certificate: non-repudiation and digital signature."""
    exts: list[dict[str, Any]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
        _key_usage("digital_signature", "non_repudiation"),
        {
            "extn_id": "extended_key_usage",
            "critical": False,
            "extn_value": ["email_protection", DOCUMENT_SIGNING_EKU],
        },
        _policies(policy_oid),
        *_status_pointers(urls, ca_name),
    ]
    if email:
        exts.append(
            {
                "extn_id": "subject_alt_name",
                "critical": False,
                "extn_value": [x509.GeneralName(name="rfc822_name", value=email)],
            }
        )
    return exts


def ocsp_signer_extensions(urls: PkiUrls, ca_name: str) -> list[dict[str, Any]]:
    """A delegated OCSP responder (RFC 6960 §4.2.2.2), with id-pkix-ocsp-nocheck so clients need no status for it."""
    return [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
        _key_usage("digital_signature"),
        {"extn_id": "extended_key_usage", "critical": True, "extn_value": ["ocsp_signing"]},
        {"extn_id": "ocsp_no_check", "critical": False, "extn_value": None},
        {
            "extn_id": "authority_information_access",
            "critical": False,
            "extn_value": [{"access_method": "ca_issuers", "access_location": _uri(urls.ca_certificate(ca_name))}],
        },
    ]


def tsa_extensions(urls: PkiUrls, ca_name: str, *, policy_oid: str = POLICY_OID) -> list[dict[str, Any]]:
    """The time-stamping unit: extendedKeyUsage timeStamping only, critical (RFC 3161 §2.3)."""
    return [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
        _key_usage("digital_signature", "non_repudiation"),
        {"extn_id": "extended_key_usage", "critical": True, "extn_value": ["time_stamping"]},
        _policies(policy_oid),
        *_status_pointers(urls, ca_name),
    ]
