"""The one module that imports python-ldap: connections, a pool with failover, errors translated.

Everything above this module sees plain Python values (:class:`Entry`, :class:`BindResult`) and the errors of
:mod:`directory.errors`; python-ldap's exceptions never leave it. Values put into filters and DNs are escaped
here too (:func:`filter_format`, :func:`escape_dn_value`), so callers have no excuse to build them by hand.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import ldap
import ldap.dn
import ldap.filter
import ldap.modlist
import ldif
from ldap.controls import DecodeControlTuples, RequestControl
from ldap.controls.libldap import SimplePagedResultsControl
from ldap.controls.ppolicy import PasswordPolicyControl
from ldap.extop.passwd import PasswordModifyResponse

from directory.config import DirectoryConfig
from directory.errors import (
    AlreadyExistsError,
    DirectoryError,
    DirectoryUnavailableError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PasswordPolicyError,
    PasswordQualityError,
    PermissionDeniedError,
)

__all__ = [
    "BindResult",
    "ConnectionLostError",
    "Entry",
    "LdapConnection",
    "LdapPool",
    "LdifRecord",
    "Modification",
    "PolicyError",
    "Scope",
    "connect_external",
    "dn_parent",
    "dn_rdn_value",
    "escape_dn_value",
    "explode_dn",
    "filter_format",
    "normalize_dn",
    "read_ldif",
    "write_ldif",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
Scope = Literal["base", "one", "sub"]
_SCOPES = {"base": ldap.SCOPE_BASE, "one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}
Values = Sequence[str | bytes]

# ppolicy response error codes (draft-behera-ldap-password-policy, section 6.2)
PolicyError = Literal[
    "password-expired",
    "account-locked",
    "change-after-reset",
    "password-mod-not-allowed",
    "must-supply-old-password",
    "insufficient-password-quality",
    "password-too-short",
    "password-too-young",
    "password-in-history",
]
_POLICY_ERRORS: tuple[PolicyError, ...] = (
    "password-expired",
    "account-locked",
    "change-after-reset",
    "password-mod-not-allowed",
    "must-supply-old-password",
    "insufficient-password-quality",
    "password-too-short",
    "password-too-young",
    "password-in-history",
)
_QUALITY_REASONS = {
    "insufficient-password-quality": "the password is too simple",
    "password-too-short": "the password is too short",
    "password-too-young": "the password was changed too recently",
    "password-in-history": "the password was used recently",
}

# Errors that mean "this server cannot answer now": try another URI or give up quickly.
_UNAVAILABLE = (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT, ldap.BUSY, ldap.UNAVAILABLE)


# -- values ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One entry of a search result, values decoded as UTF-8 text."""

    dn: str
    attrs: Mapping[str, tuple[str, ...]]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None

    def get(self, name: str) -> tuple[str, ...]:
        lowered = name.lower()
        for key, values in self.attrs.items():
            if key.lower() == lowered:
                return values
        return ()


@dataclass(frozen=True)
class BindResult:
    """What a bind with the password-policy control said."""

    ok: bool
    policy_error: PolicyError | None = None
    grace_logins_left: int | None = None
    expires_in_seconds: int | None = None


@dataclass(frozen=True)
class Modification:
    op: Literal["add", "replace", "delete"]
    attr: str
    values: Values | None = None  # None with "delete" removes every value


@dataclass(frozen=True)
class LdifRecord:
    """A content record of an LDIF file and the line it starts on."""

    line: int
    dn: str
    attrs: Mapping[str, tuple[str, ...]]
    changetype: str | None = None


@dataclass
class _Slot:
    conn: LdapConnection
    uri: str
    used: float = field(default_factory=time.monotonic)


# -- escaping and DNs ---------------------------------------------------------------------------------------


def filter_format(template: str, *values: str) -> str:
    """A search filter with every ``%s`` replaced by an escaped value (RFC 4515)."""
    return str(ldap.filter.filter_format(template, list(values)))


def escape_dn_value(value: str) -> str:
    """One RDN value escaped for a DN string (RFC 4514): ``,+"\\<>;=#`` and leading/trailing spaces."""
    return str(ldap.dn.escape_dn_chars(value))


def explode_dn(dn: str) -> list[tuple[str, str]]:
    """The (attribute, value) pairs of a DN from the leaf to the root (multi-valued RDNs: first AVA)."""
    try:
        return [(rdn[0][0], rdn[0][1]) for rdn in ldap.dn.str2dn(dn)]
    except (ldap.DECODING_ERROR, UnicodeDecodeError) as err:  # a hex escape such as \ca that is not UTF-8
        raise InvalidInputError("dn", f"not a valid DN: {dn!r}") from err


def dn_parent(dn: str) -> str:
    parts = ldap.dn.str2dn(dn)
    return str(ldap.dn.dn2str(parts[1:]))


def dn_rdn_value(dn: str) -> str:
    return explode_dn(dn)[0][1]


def normalize_dn(dn: str) -> str:
    """A DN in a form fit for comparing (attribute names and values lower-cased, spacing removed)."""
    try:
        parts = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        return dn.strip().lower()
    return str(ldap.dn.dn2str([[(a.lower(), v.lower(), f) for a, v, f in rdn] for rdn in parts]))


# -- error translation -------------------------------------------------------------------------------------


def _info(err: ldap.LDAPError) -> str:
    data = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    info = data.get("info") or data.get("desc") or str(err)
    return info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)


class ConnectionLostError(DirectoryUnavailableError):
    """The server closed or refused the connection (rather than not answering in time)."""


def _translate(err: ldap.LDAPError, *, dn: str = "", uris: tuple[str, ...] = ()) -> DirectoryError:
    """The directory error that says what went wrong (the caller raises it ``from err``)."""
    info = _info(err)
    if isinstance(err, ldap.SERVER_DOWN | ldap.CONNECT_ERROR):
        return ConnectionLostError(info, uris)
    if isinstance(err, ldap.TIMEOUT):
        return DirectoryUnavailableError("the server did not answer in time", uris)
    if isinstance(err, _UNAVAILABLE):
        return DirectoryUnavailableError(info, uris)
    if isinstance(err, ldap.INVALID_CREDENTIALS):
        return InvalidCredentialsError()
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


def _policy_control(ctrls: Sequence[Any] | None) -> PasswordPolicyControl | None:
    for ctrl in ctrls or ():
        if isinstance(ctrl, PasswordPolicyControl):
            return ctrl
    return None


def _decoded_error_controls(err: ldap.LDAPError) -> list[Any]:
    data = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
    raw = data.get("ctrls") or []
    try:
        return list(DecodeControlTuples(raw))
    except Exception:  # a malformed control must not hide the error itself
        log.warning("undecodable response control from the LDAP server")
        return []


def _policy_error(ctrl: PasswordPolicyControl | None) -> PolicyError | None:
    if ctrl is None or ctrl.error is None:
        return None
    code = int(ctrl.error)
    return _POLICY_ERRORS[code] if 0 <= code < len(_POLICY_ERRORS) else None


# -- one connection ------------------------------------------------------------------------------------------


def _text(values: Sequence[bytes]) -> tuple[str, ...]:
    return tuple(v.decode("utf-8", "replace") for v in values)


def _raw(values: Values) -> list[bytes]:
    return [v if isinstance(v, bytes) else v.encode("utf-8") for v in values]


class LdapConnection:
    """One LDAP connection (python-ldap's LDAPObject); every method raises only directory errors."""

    def __init__(self, uri: str, config: DirectoryConfig) -> None:
        self.uri = uri
        self.config = config
        try:
            conn = ldap.initialize(uri)
            conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
            conn.set_option(ldap.OPT_REFERRALS, 0)
            # a signal (Ctrl-C taken as a stop request, a worker's SIGCHLD) must not fail the call in progress:
            # libldap waits again after EINTR instead of reporting "Interrupted system call"
            conn.set_option(ldap.OPT_RESTART, ldap.OPT_ON)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, config.timeout)
            conn.set_option(ldap.OPT_TIMEOUT, config.timeout)
            if config.ca_file is not None:
                conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(config.ca_file))
            if uri.startswith("ldaps://") or config.start_tls:
                conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
                conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
            conn.timeout = config.timeout  # the synchronous methods' wait for a result
            if config.start_tls and uri.startswith("ldap://"):
                conn.start_tls_s()
        except ldap.LDAPError as err:
            raise _translate(err, uris=(uri,)) from err
        self._conn = conn
        self.bound_dn: str | None = None

    def _call(self, func: Callable[[], T], dn: str = "") -> T:
        try:
            return func()
        except ldap.LDAPError as err:
            raise _translate(err, dn=dn, uris=(self.uri,)) from err

    # -- authentication --

    def bind(self, dn: str, password: str) -> None:
        """Bind or raise (InvalidCredentialsError, DirectoryUnavailableError…)."""
        self._call(lambda: self._conn.simple_bind_s(dn, password), dn)
        self.bound_dn = dn

    def bind_external(self) -> None:
        """SASL EXTERNAL (ldapi peer credentials)."""
        self._call(self._conn.sasl_external_bind_s)
        self.bound_dn = "external"

    def bind_with_policy(self, dn: str, password: str) -> BindResult:
        """Bind with the password-policy control and report what the server said about the account."""
        self.bound_dn = None
        try:
            _, _, _, ctrls = self._conn.simple_bind_s(dn, password, serverctrls=[PasswordPolicyControl()])
        except ldap.INVALID_CREDENTIALS as err:
            ctrl = _policy_control(_decoded_error_controls(err))
            return BindResult(ok=False, policy_error=_policy_error(ctrl))
        except ldap.LDAPError as err:
            raise _translate(err, dn=dn, uris=(self.uri,)) from err
        self.bound_dn = dn
        ctrl = _policy_control(ctrls)
        return BindResult(
            ok=True,
            policy_error=_policy_error(ctrl),
            grace_logins_left=None if ctrl is None else ctrl.graceAuthNsRemaining,
            expires_in_seconds=None if ctrl is None else ctrl.timeBeforeExpiration,
        )

    def whoami(self) -> str:
        return str(self._call(self._conn.whoami_s))

    # -- reading --

    def search(
        self,
        base: str,
        scope: Scope,
        filterstr: str = "(objectClass=*)",
        attrs: Sequence[str] | None = None,
        *,
        size_limit: int = 0,
    ) -> list[Entry]:
        """Entries matching ``filterstr`` (already escaped, see :func:`filter_format`); none if base is missing."""
        try:
            results = self._conn.search_ext_s(
                base,
                _SCOPES[scope],
                filterstr,
                list(attrs) if attrs is not None else None,
                timeout=self.config.timeout,
                sizelimit=size_limit,
            )
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.SIZELIMIT_EXCEEDED as err:
            raise DirectoryError(f"more than {size_limit} entries match") from err
        except ldap.LDAPError as err:
            raise _translate(err, dn=base, uris=(self.uri,)) from err
        return [Entry(dn, {k: _text(v) for k, v in a.items()}) for dn, a in results if dn is not None]

    def read(self, dn: str, attrs: Sequence[str] | None = None) -> Entry | None:
        found = self.search(dn, "base", "(objectClass=*)", attrs)
        return found[0] if found else None

    def search_page(
        self,
        base: str,
        scope: Scope,
        filterstr: str,
        attrs: Sequence[str] | None,
        page_size: int,
        cookie: bytes = b"",
    ) -> tuple[list[Entry], bytes]:
        """One page of a simple paged search (RFC 2696); the cookie is empty after the last page.

        OpenLDAP ties a cookie to the connection that got it: keep using this connection for the next pages.
        """
        control = SimplePagedResultsControl(True, size=page_size, cookie=cookie)
        try:
            msgid = self._conn.search_ext(
                base, _SCOPES[scope], filterstr, list(attrs) if attrs is not None else None, serverctrls=[control]
            )
            _, results, _, ctrls = self._conn.result3(msgid, all=1, timeout=self.config.timeout)
        except ldap.NO_SUCH_OBJECT:
            return [], b""
        except ldap.LDAPError as err:
            raise _translate(err, dn=base, uris=(self.uri,)) from err
        next_cookie = b""
        for ctrl in ctrls:
            if ctrl.controlType == SimplePagedResultsControl.controlType:
                next_cookie = ctrl.cookie or b""
        entries = [Entry(dn, {k: _text(v) for k, v in a.items()}) for dn, a in results if dn is not None]
        return entries, next_cookie

    # -- writing --

    def add(self, dn: str, attrs: Mapping[str, Values]) -> None:
        modlist = [(name, _raw(values)) for name, values in attrs.items() if values]
        self._call(lambda: self._conn.add_ext_s(dn, modlist), dn)

    def add_many(
        self, entries: Sequence[tuple[str, Mapping[str, Values]]], *, window: int = 32
    ) -> list[DirectoryError | None]:
        """Add entries in order, far faster than one :meth:`add` after another; each one's outcome in order.

        The adds are pipelined (:meth:`add_pipelined`). LDAP transactions (RFC 5805) would let slapd write them
        in one database transaction and were measured faster, but OpenLDAP 2.5's back-mdb corrupts its database
        when a transaction is aborted ("internal error in mdb_entry_decode", then a segfault): never used.
        """
        return self.add_pipelined(entries, window=window)

    def add_pipelined(
        self, entries: Sequence[tuple[str, Mapping[str, Values]]], *, window: int = 32
    ) -> list[DirectoryError | None]:
        """Add entries with up to ``window`` requests in flight, each one's outcome in the entries' order.

        One synchronous add waits a round trip and the server's write before the next is sent; keeping a few
        dozen in flight lets slapd's threads overlap them. After a failure no further entry is sent (those
        already in flight still finish), so the list is as long as the entries sent. A lost connection
        raises, since what was applied is then unknown.
        """
        outcomes: list[DirectoryError | None] = []
        in_flight: list[tuple[int, str]] = []  # (msgid, dn), oldest first
        sent = 0
        failed = False
        try:
            while in_flight or (sent < len(entries) and not failed):
                while sent < len(entries) and not failed and len(in_flight) < window:
                    dn, attrs = entries[sent]
                    modlist = [(name, _raw(values)) for name, values in attrs.items() if values]
                    in_flight.append((self._conn.add_ext(dn, modlist), dn))
                    sent += 1
                msgid, dn = in_flight.pop(0)
                try:
                    self._conn.result3(msgid, all=1, timeout=self.config.timeout)
                except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT):
                    raise
                except ldap.LDAPError as err:
                    outcomes.append(_translate(err, dn=dn, uris=(self.uri,)))
                    failed = True
                    continue
                outcomes.append(None)
        except ldap.LDAPError as err:
            raise _translate(err, uris=(self.uri,)) from err
        return outcomes

    def modify(self, dn: str, changes: Sequence[Modification], *, relax: bool = False) -> None:
        ops = {"add": ldap.MOD_ADD, "replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}
        modlist = [(ops[c.op], c.attr, None if c.values is None else _raw(c.values)) for c in changes]
        # The Relax Rules control lets an administrator touch operational attributes (pwdAccountLockedTime).
        ctrls = [RequestControl("1.3.6.1.4.1.4203.666.5.12", True)] if relax else None
        self._call(lambda: self._conn.modify_ext_s(dn, modlist, serverctrls=ctrls), dn)

    def rename(self, dn: str, new_rdn: str, new_superior: str | None = None) -> None:
        self._call(lambda: self._conn.rename_s(dn, new_rdn, new_superior, delold=1), dn)

    def delete(self, dn: str) -> None:
        self._call(lambda: self._conn.delete_ext_s(dn), dn)

    def change_password(self, user_dn: str, old: str | None, new: str | None) -> str | None:
        """RFC 3062 Password Modify; returns the server-generated password when ``new`` is None.

        Quality refusals become :class:`PasswordQualityError` with the policy's reason.
        """
        try:
            msgid = self._conn.passwd(user_dn, old, new, serverctrls=[PasswordPolicyControl()])
            _, _, _, _, _, value = self._conn.result4(
                msgid, all=1, timeout=self.config.timeout, add_ctrls=1, add_extop=1
            )
        except ldap.CONSTRAINT_VIOLATION as err:
            code = _policy_error(_policy_control(_decoded_error_controls(err)))
            reason = _QUALITY_REASONS.get(code or "", _info(err))
            raise PasswordQualityError(reason) from err
        except ldap.UNWILLING_TO_PERFORM as err:
            code = _policy_error(_policy_control(_decoded_error_controls(err)))
            raise PasswordPolicyError(code or _info(err)) from err
        except ldap.LDAPError as err:
            raise _translate(err, dn=user_dn, uris=(self.uri,)) from err
        if new is None and value:
            response = PasswordModifyResponse(PasswordModifyResponse.responseName, value)
            generated = response.genPasswd
            return generated.decode("utf-8") if isinstance(generated, bytes) else str(generated)
        return None

    def close(self) -> None:
        with contextlib.suppress(ldap.LDAPError):  # closing a dead connection is not an error worth reporting
            self._conn.unbind_s()


def connect_external(socket_path: str, timeout: float = 5.0) -> LdapConnection:
    """A connection on an ldapi socket bound with SASL EXTERNAL: the directory admin of a managed slapd."""
    uri = "ldapi://" + socket_path.replace("/", "%2F")
    config = DirectoryConfig(uris=(uri,), base_dn="", bind_dn="", bind_password="", timeout=timeout)
    conn = LdapConnection(uri, config)
    conn.bind_external()
    return conn


# -- the pool ---------------------------------------------------------------------------------------------


class LdapPool:
    """Connections kept for reuse, tried over several URIs.

    Two kinds: *service* connections stay bound as the service account; *bind* connections only check
    people's passwords (their identity changes with every bind, so they never serve a search on the
    service's behalf). A URI that fails is skipped for ``retry_down_after`` seconds while another answers;
    when every URI fails the caller gets :class:`DirectoryUnavailableError` at once. After a fork (gunicorn)
    the pool starts afresh: connections are never shared between processes.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        if not config.uris:
            raise InvalidInputError("uris", "at least one LDAP URI is needed")
        self.config = config
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Slot]] = {"service": [], "bind": []}
        self._down_until: dict[str, float] = {}
        self._pid = os.getpid()

    def _uris_in_order(self) -> list[str]:
        now = time.monotonic()
        up = [u for u in self.config.uris if self._down_until.get(u, 0.0) <= now]
        down = [u for u in self.config.uris if u not in up]
        return up + down  # still try the ones marked down, last: they may be back

    def _open(self, kind: str) -> _Slot:
        errors: list[str] = []
        for uri in self._uris_in_order():
            try:
                conn = LdapConnection(uri, self.config)
                if kind == "service":
                    conn.bind(self.config.bind_dn, self.config.bind_password)
                else:
                    conn.whoami()  # connect now, so that a dead URI is skipped before a person's bind
            except DirectoryUnavailableError as err:
                self._down_until[uri] = time.monotonic() + self.config.retry_down_after
                errors.append(f"{uri}: {err.reason}")
                continue
            except InvalidCredentialsError as err:
                raise DirectoryUnavailableError(
                    "the service account's credentials were refused", self.config.uris
                ) from err
            self._down_until.pop(uri, None)
            return _Slot(conn, uri)
        raise DirectoryUnavailableError("; ".join(errors) or "no LDAP server answered", self.config.uris)

    def _checkout(self, kind: str) -> tuple[_Slot, bool]:
        with self._lock:
            if self._pid != os.getpid():
                self._idle = {"service": [], "bind": []}
                self._pid = os.getpid()
            idle = self._idle[kind]
            if idle:
                return idle.pop(), True
        return self._open(kind), False

    def _checkin(self, kind: str, slot: _Slot) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle[kind]) < self.config.pool_size:
                slot.used = time.monotonic()
                self._idle[kind].append(slot)
                return
        slot.conn.close()

    def run(self, func: Callable[[LdapConnection], T], *, kind: Literal["service", "bind"] = "service") -> T:
        """Call ``func`` with a connection; a reused connection the server closed is replaced once.

        Only a lost connection is retried (a server restart leaves every pooled connection dead); a timeout
        is not, so that a hung server costs one timeout, not two.
        """
        slot, reused = self._checkout(kind)
        try:
            return self._call_and_checkin(kind, slot, func)
        except ConnectionLostError:
            if not reused:
                raise
        self._discard_idle(kind)
        return self._call_and_checkin(kind, self._open(kind), func)

    def _call_and_checkin(self, kind: str, slot: _Slot, func: Callable[[LdapConnection], T]) -> T:
        try:
            result = func(slot.conn)
        except DirectoryUnavailableError:
            slot.conn.close()  # never reuse a connection in an unknown state
            self._down_until[slot.uri] = time.monotonic() + self.config.retry_down_after
            raise
        except BaseException:
            self._checkin(kind, slot)
            raise
        self._checkin(kind, slot)
        return result

    @contextmanager
    def pinned(self) -> Iterator[LdapConnection]:
        """A service connection held for a sequence of calls (paged searches keep their cookie on it)."""
        slot, _ = self._checkout("service")
        try:
            yield slot.conn
        except DirectoryUnavailableError:
            slot.conn.close()
            raise
        except BaseException:
            self._checkin("service", slot)
            raise
        self._checkin("service", slot)

    def _discard_idle(self, kind: str) -> None:
        with self._lock:
            stale, self._idle[kind] = self._idle[kind], []
        for slot in stale:
            slot.conn.close()

    def close(self) -> None:
        for kind in ("service", "bind"):
            self._discard_idle(kind)


# -- LDIF ----------------------------------------------------------------------------------------------------


class _RecordingParser(ldif.LDIFParser):  # type: ignore[misc]
    def __init__(self, text: str) -> None:
        super().__init__(io.BytesIO(text.encode("utf-8")), process_url_schemes=[])
        self.records: list[LdifRecord] = []
        self._start = 1

    def _next_key_and_value(self) -> tuple[str | None, Any]:
        # Remember the line each record starts on; the parser reads one line ahead.
        key, value = super()._next_key_and_value()
        if key == "dn":
            self._start = max(1, self.line_counter - 1)
        return key, value

    def handle(self, dn: str, entry: dict[str, list[bytes]]) -> None:
        # python-ldap gives None for a "-" line (a change record's separator) and for a URL value ("attr:< url")
        if any(value is None for values in entry.values() for value in values):
            raise ValueError("a '-' line or a URL value (attr:< url): only entries with their values can be read")
        self.records.append(LdifRecord(self._start, dn, {k: _text(v) for k, v in entry.items()}))


def read_ldif(text: str) -> list[LdifRecord]:
    """The content records of an LDIF text; a malformed file raises InvalidInputError naming the line."""
    parser = _RecordingParser(text)
    try:
        parser.parse()
    except (ValueError, KeyError) as err:
        raise InvalidInputError("ldif", f"line {parser.line_counter}: {err}") from err
    except EOFError:  # python-ldap's parser, when the file ends inside a record
        raise InvalidInputError("ldif", f"line {parser.line_counter}: the file ends inside a record") from None
    except (AttributeError, TypeError):  # python-ldap's parser on a URL "version:<" line, and the like
        raise InvalidInputError("ldif", f"line {parser.line_counter}: a line the LDIF reader cannot read") from None
    return parser.records


def write_ldif(entries: Sequence[tuple[str, Mapping[str, Sequence[str]]]]) -> str:
    """LDIF text of (dn, attributes) pairs; non-ASCII values are base64 as RFC 2849 requires."""
    out = io.StringIO()
    writer = ldif.LDIFWriter(out)
    for dn, attrs in entries:
        writer.unparse(dn, {k: _raw(v) for k, v in attrs.items() if v})
    return out.getvalue()
