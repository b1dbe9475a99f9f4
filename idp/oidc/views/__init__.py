"""HTTP endpoints of the OpenID Provider, one module per endpoint group, all on one blueprint, ``bp``.

Views translate HTTP to calls of the services and back. The discovery document and the JWKS are answered in
front of Flask: see :mod:`idp.oidc.discovery_documents`.
"""

from __future__ import annotations

# importing the endpoint modules registers their routes on bp
from idp.oidc.views import authorize, logout, par, token, userinfo
from idp.oidc.views.common import bp

__all__ = ["authorize", "bp", "logout", "par", "token", "userinfo"]
