"""python-ldap's exceptions translated into the errors of :mod:`directory.errors` (raised ``from`` the original)."""

from __future__ import annotations

import os

import ldap

from directory.errors import (
    AlreadyExistsError,
    ChangedMeanwhileError,
    DirectoryError,
    DirectoryUnavailableError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PasswordQualityError,
    PermissionDeniedError,
)

__all__ = ["ConnectionLostError", "directory_error", "error_info"]

# Errors that mean "this server cannot answer now": try another URI or give up quickly.
_UNAVAILABLE = (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT, ldap.BUSY, ldap.UNAVAILABLE)


def error_info(err: ldap.LDAPError) -> str:
    data = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    # the system's word for a failed socket call, as python-ldap's wrapper adds it (a search calls past the wrapper)
    errno = data.get("errno")
    info = data.get("info") or (os.strerror(errno) if isinstance(errno, int) else None) or data.get("desc") or str(err)
    return info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)


class ConnectionLostError(DirectoryUnavailableError):
    """The server closed or refused the connection (rather than not answering in time)."""


def directory_error(err: ldap.LDAPError, *, dn: str = "", uris: tuple[str, ...] = ()) -> DirectoryError:
    """The directory error that says what went wrong (the caller raises it ``from err``)."""
    info = error_info(err)
    if isinstance(err, ldap.SERVER_DOWN | ldap.CONNECT_ERROR):
        return ConnectionLostError(info, uris)
    if isinstance(err, ldap.TIMEOUT):
        return DirectoryUnavailableError("the server did not answer in time", uris)
    if isinstance(err, _UNAVAILABLE):
        return DirectoryUnavailableError(info, uris)
    if isinstance(err, ldap.INVALID_CREDENTIALS):
        return InvalidCredentialsError()
    if isinstance(err, ldap.ASSERTION_FAILED):
        return ChangedMeanwhileError(dn)
    if isinstance(err, ldap.NO_SUCH_OBJECT):
        return NotFoundError("entry", dn)
    if isinstance(err, ldap.ALREADY_EXISTS):
        return AlreadyExistsError("entry", dn)
    if isinstance(err, ldap.CONSTRAINT_VIOLATION):
        if "not unique" in info:
            return AlreadyExistsError("value", info)
        if "assword" in info:
            return PasswordQualityError(info)
        return InvalidInputError("entry", info)
    if isinstance(err, ldap.INSUFFICIENT_ACCESS | ldap.STRONG_AUTH_REQUIRED | ldap.INAPPROPRIATE_AUTH):
        return PermissionDeniedError(info)
    if isinstance(err, ldap.NOT_ALLOWED_ON_NONLEAF):
        return InvalidInputError("dn", f"{dn} still holds entries")
    if isinstance(
        err,
        ldap.OBJECT_CLASS_VIOLATION
        | ldap.INVALID_SYNTAX
        | ldap.UNDEFINED_TYPE
        | ldap.INVALID_DN_SYNTAX
        | ldap.NAMING_VIOLATION
        | ldap.TYPE_OR_VALUE_EXISTS
        | ldap.NO_SUCH_ATTRIBUTE
        | ldap.FILTER_ERROR
        | ldap.PARAM_ERROR
        | ldap.ENCODING_ERROR,
    ):
        return InvalidInputError("entry", info)
    if isinstance(err, ldap.UNWILLING_TO_PERFORM):
        return PermissionDeniedError(info)
    return DirectoryError(f"{type(err).__name__}: {info}")
