"""The platform's settings: the kernel's sections and every feature's, read by one :func:`load_settings`.

The kernel (``antin.kernel.settings``) reads and checks; each feature declares its section next to its code.
This module only knows the list, in the order of the settings reference in the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admin.settings import AdminSettings
from antin.kernel import settings as kernel
from antin.kernel.settings import Settings, SettingsError
from directory.settings import DirectorySettings
from idp.mfa.settings import MfaSettings
from idp.settings import OidcSettings, ThrottleSettings
from signing.documents.settings import DocumentSettings
from signing.settings import HsmSettings, SigningSettings

__all__ = ["FEATURE_SECTIONS", "Settings", "SettingsError", "all_sections", "load_settings"]

FEATURE_SECTIONS: tuple[type[Any], ...] = (
    DirectorySettings,
    OidcSettings,
    ThrottleSettings,
    MfaSettings,
    HsmSettings,
    SigningSettings,
    AdminSettings,
    DocumentSettings,
)


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Settings:
    """Every setting of the platform from the environment and ``ANTIN_CONFIG`` (see the kernel's loader)."""
    return kernel.load_settings(environ, overrides=overrides, sections=FEATURE_SECTIONS)


def all_sections() -> dict[str, type[Any]]:
    """Each section's name and class: core, the kernel's, then the features' (the README's table)."""
    return kernel.all_sections(FEATURE_SECTIONS)
