"""The officials' portal: ``/`` (their applications, what waits for them, recent activity), the inbox
(``/documents``), upload, page previews, placement, signing under sole control, the signed file and its report,
and each document's history.

It sits above ``idp`` and ``signing`` (as ``admin`` does): it signs officials in through the provider as the
first-party client ``antin-portal`` and calls :mod:`signing.documents` for everything about documents.
``views.py`` holds the blueprint ``bp`` and the home and inbox pages; ``document_views.py`` the pages of one
document; ``workflow_views.py`` a reviewer's decision and the records office's issue; ``deadline_views.py``
deadlines and the reminders the inbox shows; ``resend_views.py`` the drafter re-sending a rejected document;
``batch_views.py`` signing several documents at once; ``officials.py`` who is signed in (and the officials and
units a form names).
"""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from portal import batch_views, deadline_views, document_views, resend_views, workflow_views  # noqa: F401  (on bp)
    from portal.views import bp

    app.register_blueprint(bp)
