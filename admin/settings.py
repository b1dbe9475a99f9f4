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

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.console_acr:
            from idp.oidc import ACR_VALUES, normalise_acr  # the provider's levels (the console is its relying party)

            if normalise_acr(self.console_acr) not in ACR_VALUES:
                problems["console_acr"] = "must be one of " + ", ".join((*ACR_VALUES, "phr", "phrh"))
        if not 1 <= self.console_page_size <= 200:
            problems["console_page_size"] = "must be between 1 and 200"
        return problems

    def production_problems(self) -> dict[str, str]:
        if not self.console_acr:
            return {"console_acr": "the console must require an authentication level in production"}
        return {}
