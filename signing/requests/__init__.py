"""Signing requests of Party applications (``/api/signing/requests``) and the webhooks that tell them what happened.

An application (an OIDC client with the scope ``signing:request``) sends a PDF and the ordered logins of the
officials who must sign it; the request is a document of :mod:`signing.documents` whose sender is the client, so
each official finds it in their inbox and signs it in the browser under sole control: the API never signs.
``service.py`` is the request's life (create, status, file, cancel), ``webhooks.py`` the signed, retried events,
``models.py`` the tables, ``views.py`` the HTTP, ``cli.py`` ``antin clients webhook-secret``.
"""
