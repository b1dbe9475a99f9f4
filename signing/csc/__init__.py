"""The Cloud Signature Consortium API (v2, and the v1 paths pyHanko's ``CSCSigner`` calls) over the platform's HSM.

``views`` (blueprint ``bp`` under ``/csc``), ``service`` (:func:`~signing.csc.service.get_csc`), ``credentials``
(what a credential is here), ``authorisation`` (``oauth2/authorize`` with scope ``credential`` and the SAD),
``errors`` (CSC's ``error`` / ``error_description``). Registered by :func:`signing.init_app`.
"""

from __future__ import annotations

__all__: list[str] = []
