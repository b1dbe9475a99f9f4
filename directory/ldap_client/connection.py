"""``LdapConnection``: one connection and the operations on it (bind, search, paged search, writes, passwords).

Every method raises only the errors of :mod:`directory.errors`; values come and go as plain Python values.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import ldap
from ldap.controls import RequestControl
from ldap.controls.libldap import AssertionControl, SimplePagedResultsControl
from ldap.controls.ppolicy import PasswordPolicyControl
from ldap.extop.passwd import PasswordModifyResponse

from directory.config import DirectoryConfig
from directory.errors import DirectoryError, PasswordPolicyError, PasswordQualityError
from directory.ldap_client.connecting import open_ldap
from directory.ldap_client.errors import directory_error, error_info
from directory.ldap_client.ppolicy import (
    QUALITY_REASONS,
    RESPONSE_CONTROLS,
    decoded_error_controls,
    policy_control,
    policy_error,
)
from directory.ldap_client.values import BindResult, Entry, Modification, Scope, Values, as_bytes, as_text

__all__ = ["LdapConnection", "connect_external"]

T = TypeVar("T")
_SCOPES = {"base": ldap.SCOPE_BASE, "one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}


class LdapConnection:
    """One LDAP connection (python-ldap's LDAPObject); every method raises only directory errors."""

    def __init__(self, uri: str, config: DirectoryConfig) -> None:
        self.uri = uri
        self.config = config
        self._conn = open_ldap(uri, config)
        # python-ldap's C object, called without its Python wrapper on the search path (see :meth:`search`)
        self._direct: Any = self._conn._l if ldap.LIBLDAP_R else None
        self.bound_dn: str | None = None

    def _call(self, func: Callable[[], T], dn: str = "") -> T:
        try:
            return func()
        except ldap.LDAPError as err:
            raise directory_error(err, dn=dn, uris=(self.uri,)) from err

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
            # simple_bind_s, with the policy control's value read by ours (RESPONSE_CONTROLS)
            msgid = self._conn.simple_bind(dn, password, serverctrls=[PasswordPolicyControl()])
            _, _, _, ctrls = self._conn.result3(msgid, all=1, resp_ctrl_classes=RESPONSE_CONTROLS)
        except ldap.INVALID_CREDENTIALS as err:
            ctrl = policy_control(decoded_error_controls(err))
            return BindResult(ok=False, policy_error=policy_error(ctrl))
        except ldap.LDAPError as err:
            raise directory_error(err, dn=dn, uris=(self.uri,)) from err
        self.bound_dn = dn
        ctrl = policy_control(ctrls)
        return BindResult(
            ok=True,
            policy_error=policy_error(ctrl),
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
        """Entries matching ``filterstr`` (already escaped, see :func:`filter_format`); none if base is missing.

        The request and the wait for all its messages go straight to python-ldap's C object, past what
        ``search_ext_s`` adds on the way (five Python calls, its lock, trace checks, decoding response controls
        nobody asked for): a few µs of every token refresh's account check (docs/benchmarks.md, ldap15). Its lock
        is not needed: a connection serves one thread at a time (:class:`LdapPool`), and libldap 2.5 is
        thread-safe (``ldap.LIBLDAP_R``; without it, the locked way). The same time limit is sent and waited for.
        """
        attrlist = list(attrs) if attrs is not None else None
        timeout = self.config.timeout
        try:
            if self._direct is not None:
                msgid = self._direct.search_ext(
                    base, _SCOPES[scope], filterstr, attrlist, 0, None, None, timeout, size_limit
                )
                results = self._direct.result4(msgid, 1, timeout, 0, 0, 0)[1]
            else:
                results = self._conn.search_ext_s(
                    base, _SCOPES[scope], filterstr, attrlist, timeout=timeout, sizelimit=size_limit
                )
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.SIZELIMIT_EXCEEDED as err:
            raise DirectoryError(f"more than {size_limit} entries match") from err
        except ldap.LDAPError as err:
            raise directory_error(err, dn=base, uris=(self.uri,)) from err
        return [Entry(dn, {k: as_text(v) for k, v in a.items()}) for dn, a in results if dn is not None]

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
            raise directory_error(err, dn=base, uris=(self.uri,)) from err
        next_cookie = b""
        for ctrl in ctrls:
            if ctrl.controlType == SimplePagedResultsControl.controlType:
                next_cookie = ctrl.cookie or b""
        entries = [Entry(dn, {k: as_text(v) for k, v in a.items()}) for dn, a in results if dn is not None]
        return entries, next_cookie

    # -- writing --

    def add(self, dn: str, attrs: Mapping[str, Values]) -> None:
        modlist = [(name, as_bytes(values)) for name, values in attrs.items() if values]
        self._call(lambda: self._conn.add_ext_s(dn, modlist), dn)

    def add_many(
        self,
        entries: Iterable[tuple[str, Mapping[str, Values]]],
        *,
        window: int = 32,
        on_outcome: Callable[[int, DirectoryError | None], None] | None = None,
    ) -> list[DirectoryError | None]:
        """Add entries in order, far faster than one :meth:`add` after another; each one's outcome in order.

        The adds are pipelined (:meth:`add_pipelined`). LDAP transactions (RFC 5805) would let slapd write them
        in one database transaction and were measured faster, but OpenLDAP 2.5's back-mdb corrupts its database
        when a transaction is aborted ("internal error in mdb_entry_decode", then a segfault): never used.
        """
        return self.add_pipelined(entries, window=window, on_outcome=on_outcome)

    def add_pipelined(
        self,
        entries: Iterable[tuple[str, Mapping[str, Values]]],
        *,
        window: int = 32,
        on_outcome: Callable[[int, DirectoryError | None], None] | None = None,
    ) -> list[DirectoryError | None]:
        """Add entries with up to ``window`` requests in flight, each one's outcome in the entries' order.

        One synchronous add waits a round trip and the server's write before the next is sent; keeping a few
        dozen in flight lets slapd's threads overlap them. ``entries`` is read as the window has room, so an
        iterator that builds them (or searches on this connection) does so while slapd works on those in flight.
        After a failure no further entry is taken or sent (those already in flight still finish), so the list is
        as long as the entries sent; ``on_outcome(index, outcome)`` hears each as it comes. A lost connection
        raises, since what was applied is then unknown.
        """
        outcomes: list[DirectoryError | None] = []
        in_flight: deque[tuple[int, str]] = deque()  # (msgid, dn), oldest first
        source = iter(entries)
        more = True
        failed = False
        try:
            while True:
                while more and not failed and len(in_flight) < window:
                    entry = next(source, None)
                    if entry is None:
                        more = False
                        break
                    dn, attrs = entry
                    in_flight.append((self._conn.add_ext(dn, _add_list(attrs)), dn))
                if not in_flight:
                    return outcomes
                msgid, dn = in_flight.popleft()
                outcome: DirectoryError | None = None
                try:
                    self._conn.result3(msgid, all=1, timeout=self.config.timeout)
                except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT):
                    raise
                except ldap.LDAPError as err:
                    outcome = directory_error(err, dn=dn, uris=(self.uri,))
                    failed = True
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(len(outcomes) - 1, outcome)
        except ldap.LDAPError as err:
            raise directory_error(err, uris=(self.uri,)) from err

    def modify(
        self, dn: str, changes: Sequence[Modification], *, relax: bool = False, assertion: str | None = None
    ) -> None:
        """Modify an entry; with ``assertion`` (an LDAP filter, RFC 4528) only while the entry still matches it,
        else :class:`ChangedMeanwhileError` and nothing changed."""
        ops = {"add": ldap.MOD_ADD, "replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}
        modlist = [(ops[c.op], c.attr, None if c.values is None else as_bytes(c.values)) for c in changes]
        ctrls: list[RequestControl] = []
        if relax:  # the Relax Rules control lets an administrator touch operational attributes (pwdAccountLockedTime)
            ctrls.append(RequestControl("1.3.6.1.4.1.4203.666.5.12", True))
        if assertion is not None:
            ctrls.append(AssertionControl(True, assertion))
        self._call(lambda: self._conn.modify_ext_s(dn, modlist, serverctrls=ctrls or None), dn)

    def modify_pipelined(self, changes: Sequence[tuple[str, Sequence[Modification]]], *, window: int = 32) -> int:
        """Apply each entry's modifications with up to ``window`` requests in flight (as :meth:`add_pipelined` does
        adds); stops sending at the first refusal and raises it once those in flight are done. Returns how many."""
        ops = {"add": ldap.MOD_ADD, "replace": ldap.MOD_REPLACE, "delete": ldap.MOD_DELETE}
        in_flight: list[tuple[int, str]] = []
        sent = done = 0
        refused: DirectoryError | None = None
        try:
            while in_flight or (sent < len(changes) and refused is None):
                while sent < len(changes) and refused is None and len(in_flight) < window:
                    dn, mods = changes[sent]
                    modlist = [(ops[m.op], m.attr, None if m.values is None else as_bytes(m.values)) for m in mods]
                    in_flight.append((self._conn.modify_ext(dn, modlist), dn))
                    sent += 1
                msgid, dn = in_flight.pop(0)
                try:
                    self._conn.result3(msgid, all=1, timeout=self.config.timeout)
                    done += 1
                except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT):
                    raise
                except ldap.LDAPError as err:
                    refused = refused or directory_error(err, dn=dn, uris=(self.uri,))
        except ldap.LDAPError as err:
            raise directory_error(err, uris=(self.uri,)) from err
        if refused is not None:
            raise refused
        return done

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
            code = policy_error(policy_control(decoded_error_controls(err)))
            reason = QUALITY_REASONS.get(code or "", error_info(err))
            raise PasswordQualityError(reason) from err
        except ldap.UNWILLING_TO_PERFORM as err:
            code = policy_error(policy_control(decoded_error_controls(err)))
            raise PasswordPolicyError(code or error_info(err)) from err
        except ldap.LDAPError as err:
            raise directory_error(err, dn=user_dn, uris=(self.uri,)) from err
        if new is None and value:
            response = PasswordModifyResponse(PasswordModifyResponse.responseName, value)
            generated = response.genPasswd
            return generated.decode("utf-8") if isinstance(generated, bytes) else str(generated)
        return None

    def close(self) -> None:
        with contextlib.suppress(ldap.LDAPError):  # closing a dead connection is not an error worth reporting
            self._conn.unbind_s()


def _add_list(attrs: Mapping[str, Values]) -> list[tuple[str, list[bytes]]]:
    """python-ldap's list for an add: each attribute with its values as UTF-8 bytes (empty attributes left out)."""
    return [
        (name, [v.encode() if isinstance(v, str) else v for v in values]) for name, values in attrs.items() if values
    ]


def connect_external(socket_path: str, timeout: float = 5.0) -> LdapConnection:
    """A connection on an ldapi socket bound with SASL EXTERNAL: the directory admin of a managed slapd."""
    uri = "ldapi://" + socket_path.replace("/", "%2F")
    config = DirectoryConfig(uris=(uri,), base_dn="", bind_dn="", bind_password="", timeout=timeout)
    conn = LdapConnection(uri, config)
    conn.bind_external()
    return conn
