"""Deadlines in the portal: the deadline a drafter types (Vietnam time) read into an aware UTC time, and what the
inbox shows of them: each document's due date (due soon, overdue) and the reminders sent to the official.

The inbox and the home page ask for these through two template globals, so that their views stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

from flask_babel import gettext as _

from portal.officials import current_official, instance
from portal.views import bp
from signing.documents.groups import Assignee, GroupAssignee, Planned
from signing.documents.models import Document, DocumentReminder
from signing.documents.reminders import Due, due_of, reminders_for

__all__ = ["DeadlineError", "deadline_messages", "form_deadline", "planned_steps", "step_deadline_fields"]

STEP_DEADLINE = "deadline-"  # a step's own deadline: deadline-review-<login or group>, deadline-sign-<…>

VIETNAM = timezone(timedelta(hours=7))
FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")  # what a datetime-local input sends


class DeadlineError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def form_deadline(value: str, now: datetime) -> datetime | None:
    """A form's deadline (``2026-12-31T17:00``, Vietnam time) as UTC; None when empty. It must be in the future."""
    text = value.strip()
    if not text:
        return None
    for pattern in FORMATS:
        try:
            parsed = datetime.strptime(text, pattern).replace(tzinfo=VIETNAM)
            break
        except ValueError:
            continue
    else:
        raise DeadlineError("deadline-invalid")
    if parsed <= now:
        raise DeadlineError("deadline-past")
    return parsed.astimezone(UTC)


def planned_steps(form: Mapping[str, str], kind: str, named: Sequence[Assignee], now: datetime) -> list[Planned]:
    """The reviews (``kind`` review) or signatures (sign) named on the upload form, each with the deadline typed in
    its own field (``deadline-sign-hungnv``; empty: the document's)."""
    planned = []
    for who in named:
        name = who.group if isinstance(who, GroupAssignee) else who.uid
        planned.append(Planned(who, form_deadline(form.get(f"{STEP_DEADLINE}{kind}-{name.lower()}", ""), now)))
    return planned


def step_deadline_fields(form: Mapping[str, str]) -> dict[str, str]:
    """The per-step deadlines as typed, to fill the form again when it is refused."""
    return {k: v for k, v in form.items() if k.startswith((STEP_DEADLINE + "review-", STEP_DEADLINE + "sign-"))}


def deadline_messages() -> dict[str, str]:
    return {
        "deadline-invalid": _("The deadline is not a date and time (day, month, year, hour and minute)."),
        "deadline-past": _("The deadline has passed already: choose a later date and time."),
    }


@bp.app_template_global("due_dates")
def due_dates(documents: Iterable[Document]) -> dict[str, Due]:
    """Each listed document's deadline for the step that waits now (for the inbox's column)."""
    return due_of(instance(), documents)


@bp.app_template_global("my_reminders")
def my_reminders() -> list[tuple[Document, DocumentReminder]]:
    """The reminders sent to the signed-in official about steps still waiting for them."""
    official = current_official()
    return reminders_for(instance(), official) if official is not None else []
