"""Who hears of the changes the directory commands make: listeners the composition root registers.

directory/ cannot import idp, so the audit log is written by a listener that ``antin`` appends to
:data:`change_listeners`; event names ("directory:<subject>:<action>") match antin.kernel.audit.events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["ChangeListener", "announce", "change_listeners"]

# (click context, event name "directory:<subject>:<action>", subject, details)
ChangeListener = Callable[[click.Context, str, str, dict[str, Any]], None]
change_listeners: list[ChangeListener] = []


def announce(ctx: click.Context, event: str, subject: str, **details: Any) -> None:
    """Tell the registered listeners about a change this command made (never passwords)."""
    for listener in change_listeners:
        listener(ctx, event, subject, details)
