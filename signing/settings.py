"""The signing settings sections: the key store ``[hsm]`` (``ANTIN_HSM_*``) and ``[signing]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from antin.kernel.settings import doc

__all__ = ["DEFAULT_HSM_PIN", "HsmSettings", "SigningSettings"]

# The embedded default's PIN, refused in production.
DEFAULT_HSM_PIN = "1234"


@dataclass(frozen=True)
class HsmSettings:
    SECTION: ClassVar[str] = "hsm"

    module: Path | None = doc("PKCS#11 module; default: SoftHSM2's", None)
    token_label: str = doc("label of the token that holds the keys", "antin")
    pin: str = doc("user PIN of the token", DEFAULT_HSM_PIN)
    so_pin: str = doc("security officer PIN, used only to initialise a SoftHSM2 token", "")
    key_type: Literal["ec-p256", "rsa-3072"] = doc("type of new signing keys", "ec-p256")

    def production_problems(self) -> dict[str, str]:
        if self.pin == DEFAULT_HSM_PIN:
            return {"pin": "the development PIN is refused in production"}
        return {}


@dataclass(frozen=True)
class SigningSettings:
    SECTION: ClassVar[str] = "signing"

    default_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = doc("PAdES level when none is asked for", "B-LTA")
    tsa_url: str = doc("external RFC 3161 time-stamping authority; empty uses the platform's own", "")
    trust_roots: tuple[Path, ...] = doc("extra PEM trust anchors for verification", ())
    font: Path | None = doc("OpenType font for signature appearances; default: DejaVu Sans", None)
    ca_name: str = doc("name in the generated CA certificates (root and issuing CA)", "Ấn Tín")
    organisation: str = doc("O of certificates whose holder has no unit path", "Đảng Cộng sản Việt Nam")
    policy_oid: str = doc(
        "OID of the platform's certificate policy (its CP/CPS), put in the certificatePolicies of the certificates"
        " it issues and in its time-stamps; the default is a UUID-derived OID (2.25…) registered to nobody: set"
        " the arc your PKI was given",
        "2.25.217014637925381127342339611622151399203",
    )
    certificate_days: int = doc("validity of officials' and seal certificates, in days", 730)
    max_document_mb: int = doc("largest PDF accepted for signing, in MB (CLI and API)", 100)
    api_audience: str = doc(
        "access tokens for /api/signing must carry this aud; default: <issuer>/api/signing or <issuer>", ""
    )
    revocation_cache_seconds: float = doc(
        "seconds the signing API may go on accepting an access token after its grant was revoked (logout, consent"
        " withdrawn, refresh-token reuse); each worker asks the provider's database at most once per token in"
        " that time; 0 asks on every request",
        5.0,
    )
    required_acr: str = doc(
        "authentication level (acr) an access token must carry for /api/signing; a weaker one is answered 401"
        " insufficient_user_authentication with acr_values (RFC 9470); phr and phrh are read as the"
        " phishing-resistant levels; empty: any level",
        "urn:antin:acr:phishing-resistant",
    )
    seal_group_prefix: str = doc(
        "only members of a group named <prefix>… (the records office) may apply a unit's seal; empty: any member",
        "van-thu",
    )
    leaders_group_prefix: str = doc(
        "a unit's leaders are the directory group <prefix>-<unit code in lower case> (lanh-dao-bnh for BNH): a drafter"
        " may name it as a reviewer or signer, and any of its members working in that unit acts",
        "lanh-dao",
    )
    auto_issue: bool = doc("issue a certificate from the platform's CA when a signer has none (embedded default)", True)
    image_dir: Path | None = doc(
        "folder of appearance images: <uid>.png, seal-<unit code>.png; default: <data_dir>/signing/images",
        None,
    )
    sole_control_seconds: int = doc(
        "seconds an official has to answer the WebAuthn request that authorises their key to sign given documents;"
        " the authorisation is then used once",
        120,
    )
    csc_sad_seconds: int = doc(
        "seconds a CSC signature activation data (SAD, from /csc/v2/oauth2/token) stays usable; it is single use"
        " and bound to the hashes the official approved",
        120,
    )
    csc_rate_limit: int = doc(
        "CSC authorisation pages and token requests one client address may make per minute (/csc/v2/oauth2/*);"
        " more answer 429",
        120,
    )
    verify_max_bytes: int = doc(
        "largest PDF accepted by `antin verify`, the /verify page and the API", 50 * 1024 * 1024
    )
    verify_fetch_revocation: bool = doc(
        "let verification fetch CRLs and OCSP responses named in the document when it carries none", False
    )
    verify_rate_limit: int = doc(
        "verifications one client address may ask for per minute on /verify and the API; more answer 429", 20
    )
    verify_concurrency: int = doc(
        "verifications running at once on one host, across its workers; more answer 503 at once", 2
    )
    verify_revocation_max_mb: int = doc(
        "MB of CRLs and OCSP responses verification reads from one document's security store (DSS); what lies"
        " past it is ignored, the report says so and no signature of that document passes",
        20,
    )
    verify_revocation_max_items: int = doc(
        "CRLs and OCSP responses verification reads from one document's security store; more: as above", 1000
    )
    verify_dss_max_certificates: int = doc(
        "certificates verification reads from one document's security store; more: as above", 500
    )

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.verify_max_bytes < 1024:
            problems["verify_max_bytes"] = "must be at least 1024 bytes"
        if not 10 <= self.sole_control_seconds <= 900:
            problems["sole_control_seconds"] = "must be between 10 and 900"
        if not 10 <= self.csc_sad_seconds <= 900:
            problems["csc_sad_seconds"] = "must be between 10 and 900"
        if self.csc_rate_limit < 1:
            problems["csc_rate_limit"] = "must be at least 1"
        if self.verify_rate_limit < 1:
            problems["verify_rate_limit"] = "must be at least 1"
        if self.verify_concurrency < 1:
            problems["verify_concurrency"] = "must be at least 1"
        for name in ("verify_revocation_max_mb", "verify_revocation_max_items", "verify_dss_max_certificates"):
            if getattr(self, name) < 1:
                problems[name] = "must be at least 1"
        if self.required_acr:
            from idp.oidc import ACR_VALUES, normalise_acr  # the provider's levels (signing is its relying party)

            if normalise_acr(self.required_acr) not in ACR_VALUES:
                problems["required_acr"] = "must be one of " + ", ".join((*ACR_VALUES, "phr", "phrh"))
        if self.tsa_url and urlsplit(self.tsa_url).scheme not in ("http", "https"):
            problems["tsa_url"] = "must be an http(s) URL"
        if not 0 < self.max_document_mb <= 4096:
            problems["max_document_mb"] = "must be between 1 and 4096"
        if not _is_oid(self.policy_oid):
            problems["policy_oid"] = "must be a dotted object identifier such as 1.2.704.…"
        if not 0 < self.certificate_days <= 3650:
            problems["certificate_days"] = "must be between 1 and 3650"
        return problems


def _is_oid(value: str) -> bool:
    arcs = value.split(".")
    return (
        len(arcs) >= 2
        and all(a.isdigit() and (a == "0" or not a.startswith("0")) for a in arcs)
        and arcs[0] in ("0", "1", "2")
        and (arcs[0] == "2" or int(arcs[1]) < 40)
    )
