"""Every SQL model of the platform, imported so that ``metadata`` knows them all (Alembic, create_all)."""

from __future__ import annotations

import admin.models
import antin.kernel.audit.models
import antin.kernel.ratelimit.models
import idp.mfa.models
import idp.oidc.models
import idp.throttle.models
import signing.documents.models
import signing.models
import signing.requests.models
from antin.kernel.database import Base

__all__ = ["metadata"]

MODEL_MODULES = (
    admin.models,
    antin.kernel.audit.models,
    idp.oidc.models,
    antin.kernel.ratelimit.models,
    idp.throttle.models,
    idp.mfa.models,
    signing.models,
    signing.documents.models,
    signing.requests.models,
)
metadata = Base.metadata
