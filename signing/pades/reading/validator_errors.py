"""What pyHanko's validator says, in our terms: its sub-indication by name, and the reasons it only logs.

pyHanko turns certvalidator's errors into a bare sub-indication and logs the reason as a warning (with a
traceback). The reason belongs in the report: a logger filter collects those exceptions for the validation
under way and drops the warnings; errors still reach the logs. Importing this module quiets pyHanko's loggers.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

from pyhanko.sign.ades.report import AdESPassed, AdESSubIndic

__all__ = ["sub_indication_name", "validator_errors_collected", "validator_message"]

# pyHanko logs every untrusted chain or missing time-stamp as a warning with a traceback, and every object
# missing from a revision's history as a warning; the report carries what matters as a verdict, so only
# pyHanko's errors reach the logs (and never a user's terminal).
for _noisy in ("pyhanko.sign", "pyhanko_certvalidator", "pyhanko.pdf_utils.reader"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

# The exceptions pyHanko logged during the validation under way (None outside one).
_validator_errors: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "validator_errors", default=None
)


def _collect_validator_error(record: logging.LogRecord) -> bool:
    errors = _validator_errors.get()
    if errors is not None and record.exc_info and record.exc_info[1] is not None:
        errors.append(record.exc_info[1])
    return record.levelno >= logging.ERROR


_cms_logger = logging.getLogger("pyhanko.sign.validation.generic_cms")
_cms_logger.setLevel(logging.WARNING)
_cms_logger.addFilter(_collect_validator_error)


@contextlib.contextmanager
def validator_errors_collected() -> Iterator[list[BaseException]]:
    """Collect the exceptions pyHanko's validator logs inside the ``with`` block into the list it yields."""
    collected: list[BaseException] = []
    token = _validator_errors.set(collected)
    try:
        yield collected
    finally:
        _validator_errors.reset(token)


def validator_message(errors: list[BaseException]) -> str:
    """The collected reasons as one line for the report."""
    return "; ".join(str(getattr(e, "failure_msg", None) or e) for e in errors)[:2000]


def sub_indication_name(indic: AdESSubIndic | None) -> str:
    """pyHanko's AdES sub-indication by its ETSI name; ``"OK"`` for a pass, ``""`` when there is none."""
    if indic is None:
        return ""
    if isinstance(indic, AdESPassed):
        return "OK"
    return str(getattr(indic, "name", indic))
