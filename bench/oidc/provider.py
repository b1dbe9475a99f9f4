"""What the driver needs to know of a provider under test, and the interface each provider's adapter fills.

Everything that differs between providers — how to start one, how to register its clients, what its login
form calls its fields — lives in an adapter (``bench/oidc/antin.py``, ``bench/oidc/peer.py``); the flows and
the load generator see only a :class:`Deployment`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.oidc.forms import LoginFields
from bench.oidc.http import Target

__all__ = ["Account", "BenchClient", "Deployment", "DirectoryInfo", "Provider", "ProviderUnavailableError"]


class ProviderUnavailableError(Exception):
    """The provider cannot be started or set up here; the message says what is missing."""


@dataclass(frozen=True)
class Account:
    login: str
    password: str


@dataclass(frozen=True)
class DirectoryInfo:
    """The slapd both providers check passwords against, and the officials in it."""

    uri: str
    base_dn: str
    service_dn: str
    service_password: str
    accounts: tuple[Account, ...]
    people: int
    """How many officials the directory holds (the accounts used are a sample of them)."""
    password_hash: str
    """How slapd stores passwords (``{ARGON2}``, ``{SSHA}``…): a bind costs one such check."""
    pids: tuple[int, ...] = ()
    """slapd's process, for CPU accounting."""
    origin: str = "slapd"
    """Which slapd this is, in words."""


@dataclass(frozen=True)
class BenchClient:
    client_id: str
    client_secret: str | None = None
    redirect_uri: str | None = None


@dataclass(frozen=True)
class Deployment:
    """A running provider with the clients the bench registered in it."""

    name: str
    target: Target
    web_client: BenchClient | None
    """Confidential client: authorization code + PKCE and refresh tokens; first-party (no consent screen)."""
    service_client: BenchClient | None
    """Confidential client allowed client_credentials; it also introspects tokens (as a resource server)."""
    accounts: tuple[Account, ...]
    login_scope: str = "openid profile email"
    service_scope: str | None = None
    login_fields: LoginFields = field(default_factory=LoginFields)
    pids: tuple[int, ...] = ()
    """Server processes (workers), for CPU accounting and py-spy."""
    python: bool = False
    """The workers are CPython processes (py-spy can profile them)."""
    notes: tuple[str, ...] = field(default=())
    """How this provider was configured, printed under the table."""
    missing: tuple[str, ...] = field(default=())
    """What could not be set up (rows that need it are reported as not measured, with this reason)."""
    sql_statements: Callable[[], int | None] | None = None
    """Statements the provider's database has run so far (None: not counted), for SQL statements per operation."""
    store_pids: Callable[[], tuple[int, ...]] | None = None
    """The processes of the stores it runs on (its database's server and backends, Redis), found when asked: their
    CPU per operation is what the provider costs the machine beyond its own processes (slapd is counted apart)."""


class Provider(Protocol):
    """An adapter: starts one provider on a free port, registers the bench's clients, stops it after."""

    name: str

    def version(self) -> str: ...

    def deploy(self, directory: DirectoryInfo, workdir: Path, workers: int) -> AbstractContextManager[Deployment]: ...
