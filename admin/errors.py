"""Administration's errors: one root, :class:`AdminError`, each carrying what the API and the CLI show."""

from __future__ import annotations

__all__ = [
    "AdminError",
    "ConflictError",
    "GrantRefusedError",
    "NotPermittedError",
    "OutOfReachError",
    "PreconditionFailedError",
    "PreconditionRequiredError",
    "TakenError",
    "UnknownGrantError",
]


class AdminError(Exception):
    """Something an administrator asked for was refused; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "admin-error"


class NotPermittedError(AdminError):
    """The caller holds the action nowhere: an official without rights, or a role without this power."""

    status = 403
    code = "not-permitted"

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"you are not allowed to {action}")


class OutOfReachError(AdminError):
    """The target does not exist or lies outside every unit the caller holds the action on.

    Both read the same, so that a guessed login cannot tell an official of another province from nobody.
    """

    status = 404
    code = "not-found"

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"no {kind} {name!r} in the units you administer")


class GrantRefusedError(AdminError):
    """A grant or revocation beyond what the granter holds, or one that makes no sense."""

    status = 403
    code = "grant-refused"


class UnknownGrantError(AdminError):
    status = 404
    code = "unknown-grant"

    def __init__(self, grant_id: int) -> None:
        self.grant_id = grant_id
        super().__init__(f"no grant {grant_id}")


class ConflictError(AdminError):
    """The change would clash with what exists: a login, e-mail, employee number or unit code already taken."""

    status = 409
    code = "conflict"


class TakenError(ConflictError):
    """A login, e-mail, employee number, unit code or group name someone already has."""


class PreconditionFailedError(AdminError):
    """The caller's copy (its ETag, If-Match) is not the current one: someone changed the target meanwhile."""

    status = 412
    code = "precondition-failed"

    def __init__(self, current: str) -> None:
        self.current = current
        super().__init__("the resource changed since you read it: read it again and redo your change")


class PreconditionRequiredError(AdminError):
    """A change that must name the version it was made against (If-Match) came without one."""

    status = 428
    code = "precondition-required"

    def __init__(self) -> None:
        super().__init__("send If-Match with the ETag of the version you read")
