"""Every SQL model of the platform, imported so that ``metadata`` knows them all (Alembic, create_all)."""

from __future__ import annotations

import idp.audit.models
import idp.oidc.models
import idp.ratelimit.models
import idp.throttle.models
import signing.models
from idp.database import Base

__all__ = ["metadata"]

MODEL_MODULES = (idp.audit.models, idp.oidc.models, idp.ratelimit.models, idp.throttle.models, signing.models)
metadata = Base.metadata
