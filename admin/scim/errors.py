"""SCIM's errors (RFC 7644 §3.12): a status, a ``scimType`` where the RFC names one, and a detail a person can read."""

from __future__ import annotations

__all__ = ["ScimError"]


class ScimError(Exception):
    """A request SCIM refuses; turned into the RFC's error JSON (``urn:ietf:params:scim:api:messages:2.0:Error``)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        super().__init__(detail)

    @classmethod
    def invalid_value(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidValue")

    @classmethod
    def invalid_filter(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidFilter")

    @classmethod
    def invalid_path(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidPath")

    @classmethod
    def no_target(cls, detail: str) -> ScimError:
        return cls(400, detail, "noTarget")

    @classmethod
    def mutability(cls, detail: str) -> ScimError:
        return cls(400, detail, "mutability")

    @classmethod
    def not_found(cls, kind: str, resource_id: str) -> ScimError:
        return cls(404, f"no {kind} {resource_id!r} within this client's units")
