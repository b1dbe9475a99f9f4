"""The administrators' console at ``/admin``: server-rendered pages over :class:`~admin.service.AdminService`.

The console is a relying party of the platform's own provider (the first-party client ``antin-console``): every
page but the sign-in callback needs a live SSO session at the level ``[admin] console_acr`` names (a weaker one is
sent to step up). What an administrator may do is decided by the service, never by the templates: the pages only
leave out the buttons of actions the administrator holds nowhere.

``pages.py`` holds the blueprint, the sign-in and the checks every page makes; ``officials.py``, ``audit.py``,
``clients.py``, ``client_forms.py`` (register and edit an application), ``grants.py``, ``official_changes.py``
(create, edit, move, unlock, reset the password), ``bulk_edit.py`` (one action on many officials), ``units.py``,
``groups.py``, ``group_changes.py``,
``certificates.py`` (officials' signing certificates, the CA's status) and ``seals.py`` (units' seal certificates)
one page group each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from antin.kernel.instance import Instance

__all__ = ["init_console"]


def init_console(app: Flask, instance: Instance) -> None:
    from admin.console import (  # noqa: F401  (their routes join the blueprint)
        audit,
        bulk_edit,
        certificates,
        client_forms,
        clients,
        grants,
        group_changes,
        groups,
        imports,
        official_changes,
        officials,
        seals,
        units,
    )
    from admin.console.pages import register

    register(app, instance)
