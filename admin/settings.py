"""The administration settings section ``[admin]`` (``ANTIN_ADMIN_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from antin.kernel.settings import doc

__all__ = ["AdminSettings"]


@dataclass(frozen=True)
class AdminSettings:
    SECTION: ClassVar[str] = "admin"

    console_acr: str = doc(
        "authentication level (acr) a session must have reached for the console at /admin; a weaker one is sent to"
        " step up (the provider asks only for the factor it lacks); phr and phrh are read as the phishing-resistant"
        " levels; empty: any level",
        "urn:antin:acr:phishing-resistant",
    )
    console_page_size: int = doc("rows per page in the console's lists (officials, audit)", 25)
    bulk_max_logins: int = doc(
        "most officials one bulk edit may name (POST /api/admin/officials/bulk, the console's officials list);"
        " a longer list is refused whole (400 too-many-logins)",
        200,
    )
    pki_warning_days: int = doc(
        "a CA, OCSP, TSA or unit seal certificate with fewer days left than this is flagged (amber) on the console"
        " home, the CA status page and in /api/admin/pki; an expired one is red",
        30,
    )
    pki_probe_timeout: float = doc(
        "seconds the CA status page waits for the OCSP responder's and the TSA's answer to its test request", 3.0
    )

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.console_acr:
            from idp.oidc import ACR_VALUES, normalise_acr  # the provider's levels (the console is its relying party)

            if normalise_acr(self.console_acr) not in ACR_VALUES:
                problems["console_acr"] = "must be one of " + ", ".join((*ACR_VALUES, "phr", "phrh"))
        if not 1 <= self.console_page_size <= 200:
            problems["console_page_size"] = "must be between 1 and 200"
        if not 1 <= self.bulk_max_logins <= 1000:
            problems["bulk_max_logins"] = "must be between 1 and 1000"
        if not 1 <= self.pki_warning_days <= 3650:
            problems["pki_warning_days"] = "must be between 1 and 3650"
        if not 0 < self.pki_probe_timeout <= 30:
            problems["pki_probe_timeout"] = "must be more than 0 and at most 30 seconds"
        return problems

    def production_problems(self) -> dict[str, str]:
        if not self.console_acr:
            return {"console_acr": "the console must require an authentication level in production"}
        return {}
