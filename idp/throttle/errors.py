"""The throttle's one exception: its store cannot be reached."""

from __future__ import annotations

__all__ = ["ThrottleUnavailableError"]


class ThrottleUnavailableError(Exception):
    """The store cannot be reached: the attempt is refused (no bind without a count), never let through."""
