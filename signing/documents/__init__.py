"""Officials' documents: uploads, page previews, the signature's placement, signing under sole control, history.

``service.py`` (:func:`~signing.documents.service.document_service`) is what the portal's pages call;
``models.py`` the document, its versions and its ordered workflow steps; ``previews.py`` the bounded poppler
renderer; ``placement.py`` the box and the covered-content check; ``settings.py`` the ``[documents]`` section.
No Flask here: the pages are the portal's (``portal/``), which signs officials in through the provider.
"""
