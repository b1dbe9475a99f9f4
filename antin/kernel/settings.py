"""Settings: the one place that reads ``ANTIN_*`` environment variables and the optional TOML file.

Settings are read once, validated, and frozen. A variable is named ``ANTIN_<SECTION>_<KEY>``
(``ANTIN_DIRECTORY_URIS``); the few core settings have no section (``ANTIN_ENV``, ``ANTIN_DATA_DIR``,
``ANTIN_ISSUER``, ``ANTIN_SECRET_KEY``, ``ANTIN_CONFIG``). The TOML file named by ``ANTIN_CONFIG`` holds the
same keys in lower case: core keys at the top, the others under ``[section]`` tables. The environment wins
over the file, and the file over the defaults.

Development defaults (a generated secret key, a managed slapd, a SoftHSM2 token with a known PIN, an http
issuer) are convenient on a laptop and dangerous anywhere else: ``ANTIN_ENV=production`` refuses them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from antin.kernel.outbound import outbound_allow_problem
from antin.kernel.redis_client import redis_url_problem

__all__ = [
    "AuditSettings",
    "CoreSettings",
    "DatabaseSettings",
    "LogSettings",
    "MailSettings",
    "RedisSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "SettingsError",
    "all_sections",
    "doc",
    "env_name",
    "generate_secret",
    "load_settings",
    "section_name",
]

PREFIX = "ANTIN_"
SectionT = TypeVar("SectionT")
Environment = Literal["development", "test", "production"]


class SettingsError(Exception):
    """One or more settings are invalid; ``problems`` maps each setting's name to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"  {name}: {why}" for name, why in self.problems.items()]
        super().__init__("invalid settings:\n" + "\n".join(lines))


def doc(text: str, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """A dataclass field with its documentation, shown by ``antin config`` and in the README."""
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple or a frozen default")
    return field(default=default, metadata={"doc": text}, **kwargs)


@dataclass(frozen=True)
class CoreSettings:
    env: Environment = doc("development, test or production (which refuses development defaults)", "development")
    data_dir: Path = doc("folder for the embedded database, slapd, SoftHSM2 token and keys", Path("var"))
    issuer: str = doc("the OpenID issuer URL, exactly as clients see it", "http://localhost:5000")
    secret_key: str = doc("secret for cookies and CSRF; generated into the data folder in development", "")
    config: Path | None = doc("path of an optional TOML settings file", None)


@dataclass(frozen=True)
class ServerSettings:
    host: str = doc("address the development server listens on", "localhost")
    port: int = doc("port the server listens on", 5000)
    server: Literal["gunicorn", "granian"] = doc(
        "the HTTP server `antin serve` runs: granian (Rust, WSGI; less CPU per request on every row of"
        " docs/benchmarks.md) or gunicorn (gthread workers); both keep the same options, reload (SIGHUP), stop"
        " (SIGTERM, SIGINT) and proxy rules",
        "granian",
    )
    workers: int = doc("worker processes of `antin serve` in production", 4)
    threads: int = doc(
        "threads per worker of `antin serve` (granian: its blocking threads, per address); threads of one worker share"
        " one interpreter lock, and a sign-in holds one through slapd's password check: 4 keep a worker serving when"
        " its sign-ins wait on the directory, and when the proxy's kept connections all landed on it"
        ' (docs/benchmarks.md, "Four threads per worker")',
        4,
    )
    timeout: int = doc(
        "seconds a request of `antin serve` may run (or a worker stay silent) before its worker is killed and"
        " replaced, the requests it held dropped, one line logged (gunicorn and granian alike); keep it at or under"
        " the proxy's read timeout",
        60,
    )
    trusted_proxies: int = doc("number of reverse proxies whose X-Forwarded-* headers are trusted", 0)
    max_upload_mb: int = doc("largest request body accepted, in MB (PDF uploads)", 100)
    metrics_token: str = doc(
        "bearer token that opens /metrics and the details of /readyz to any address (Prometheus'"
        " `authorization` credentials); empty: only metrics_networks see them",
        "",
    )
    metrics_networks: tuple[str, ...] = doc(
        "client networks (CIDR) that see /metrics and the details of /readyz without a token; behind a reverse"
        " proxy the client address is right only with trusted_proxies set",
        ("127.0.0.1/32", "::1/128"),
    )
    outbound_allow: tuple[str, ...] = doc(
        "networks (CIDR), addresses and host names the server may call although they are not public, for the URLs"
        " clients and applications register (back-channel logout, webhooks' callback_url, jwks_uri); every other"
        " loopback, private, link-local or reserved destination is refused. Outside production loopback"
        " (localhost, 127.0.0.0/8, ::1) is allowed too, except for jwks_uri",
        (),
    )
    queue_timeout: float = doc(
        "seconds a request may wait for a worker thread, from the reverse proxy's X-Request-Start stamp (read only"
        " with trusted_proxies), before it is refused with 503, Retry-After and a clear message instead of being"
        " answered late: past the peak a queue drains at once and clients learn in seconds, not from nginx's 504"
        ' a minute later (docs/production.md, "Past the peak"); 0: off',
        5.0,
    )
    heap_upkeep_seconds: float = doc(
        "every so many seconds each worker (gunicorn or granian) collects its garbage cycles and gives the system back"
        " the free memory glibc keeps (malloc_trim), the objects of the loaded app frozen out of the collector"
        " (gc.freeze): without it a worker's resident memory kept rising after its caches had filled"
        ' (docs/production.md, "What grows in a worker, and what bounds it"); 0: off',
        60.0,
    )
    heap_trace_minutes: float = doc(
        "diagnostic, never in production: every so many minutes each worker (gunicorn or granian) writes what Python"
        " allocated since its first dump, by line of code, beside its resident memory, to"
        " <data_dir>/heap-trace/<pid>.txt (tracemalloc: slows the worker and costs memory;"
        " scripts/soak.py --heap-trace); 0: off",
        0.0,
    )


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = doc("SQLAlchemy URL; empty means SQLite in the data folder", "")
    echo: bool = doc("log every SQL statement (development only)", False)
    pool_size: int = doc("connections per worker for server databases", 5)


@dataclass(frozen=True)
class RedisSettings:
    url: str = doc(
        "redis:// URL for rate limits and shared short-lived state, or redis+sentinel://host:26379,host2:26379/service"
        " to follow the primary that Sentinel names; empty uses the database",
        "",
    )


@dataclass(frozen=True)
class LogSettings:
    level: str = doc("DEBUG, INFO, WARNING or ERROR", "INFO")
    format: Literal["json", "text"] = doc("json (one object per line) or text", "json")


@dataclass(frozen=True)
class SessionSettings:
    idle_minutes: int = doc("an SSO session ends after this long without use", 30)
    absolute_hours: int = doc("an SSO session ends this long after sign-in, whatever its use", 10)
    cookie_secure: bool | None = doc("Secure cookies; default: unless the issuer is http://localhost", None)


@dataclass(frozen=True)
class MailSettings:
    host: str = doc("SMTP server that sends officials' notifications; empty: no e-mail is sent", "")
    port: int = doc("its port: 587 for STARTTLS, 465 for TLS from the start, 25 for a local relay", 587)
    starttls: bool = doc("upgrade the connection with STARTTLS (certificate checked) before anything is sent", True)
    tls: bool = doc("TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS", False)
    username: str = doc("login at the SMTP server; empty: no login", "")
    password: str = doc("its password (never logged)", "")
    from_address: str = doc("the From: of every message, e.g. Ấn Tín <no-reply@antin.vn>", "")
    ca_file: Path | None = doc(
        "CA certificates (PEM) that sign the SMTP server's certificate; default: the system's", None
    )
    timeout_seconds: int = doc("seconds to wait for the SMTP server before a message is given up (and logged)", 10)


@dataclass(frozen=True)
class AuditSettings:
    anchor_dir: Path | None = doc(
        "folder where `antin audit anchor` writes signed anchors of the audit log's head (run it from a timer) and"
        " where `antin audit verify` reads the newest, to show entries lost with the database (a failover, a"
        " restore); put it on another disk or host than the database; empty: no anchors",
        None,
    )
    anchor_every_minutes: int = doc(
        "each server process writes an anchor to anchor_dir this often (skipped when another process wrote one"
        " within half of it); 0: only `antin audit anchor` (e.g. from a systemd timer) writes them",
        0,
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of one instance. Build it with :func:`load_settings`.

    The kernel's own sections are attributes; each feature declares its section next to its code (a frozen
    dataclass with a ``SECTION`` name, e.g. ``idp.settings.OidcSettings``) and reads it with :meth:`section`.
    """

    core: CoreSettings = field(default_factory=CoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    log: LogSettings = field(default_factory=LogSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    features: Mapping[str, Any] = field(default_factory=dict)

    def section(self, cls: type[SectionT]) -> SectionT:
        """The loaded values of one feature's section (``settings.section(OidcSettings).code_ttl``)."""
        name = section_name(cls)
        value = self.features.get(name)
        if not isinstance(value, cls):
            raise LookupError(f"the [{name}] settings were not loaded: load them with antin.settings.load_settings")
        return value

    def sections(self) -> dict[str, Any]:
        """Every section by name, in the order of the settings reference (``antin config show``)."""
        kernel = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "features"}
        return {**kernel, **self.features}

    @property
    def production(self) -> bool:
        return self.core.env == "production"

    @property
    def data_dir(self) -> Path:
        return self.core.data_dir

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'antin.sqlite3').resolve()}"

    @property
    def cookie_secure(self) -> bool:
        if self.session.cookie_secure is not None:
            return self.session.cookie_secure
        return not self.core.issuer.startswith("http://localhost")


# The kernel's sections besides core, by name.
SECTIONS: dict[str, type[Any]] = {
    f.name: typing.get_type_hints(Settings)[f.name]
    for f in dataclasses.fields(Settings)
    if f.name not in ("core", "features")
}


def env_name(section: str, key: str) -> str:
    """The environment variable of one setting (``core`` settings have no section in the name)."""
    middle = "" if section == "core" else f"{section.upper()}_"
    return f"{PREFIX}{middle}{key.upper()}"


def section_name(cls: type[Any]) -> str:
    """The name of a feature's section: its ``SECTION`` (``[oidc]`` in the file, ``ANTIN_OIDC_*`` variables)."""
    name = getattr(cls, "SECTION", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} names no SECTION")
    return name


def all_sections(features: Iterable[type[Any]] = ()) -> dict[str, type[Any]]:
    """Each section's name and class: core, the kernel's, then the given features' (the README table's order)."""
    return {"core": CoreSettings, **SECTIONS, **{section_name(cls): cls for cls in features}}


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    sections: Iterable[type[Any]] = (),
) -> Settings:
    """Read, convert and validate every setting; raise :class:`SettingsError` naming each bad one.

    ``overrides`` (section → key → value) wins over everything; the CLI uses it for flags like ``--port``.
    ``sections`` are the features' sections besides the kernel's: the platform's whole list is
    ``antin.settings.FEATURE_SECTIONS``, and ``antin.settings.load_settings`` passes it.
    """
    environ = os.environ if environ is None else environ
    problems: dict[str, str] = {}
    file_values = _read_toml(environ, problems)
    known = {env_name("core", f.name) for f in dataclasses.fields(CoreSettings)}
    loaded: dict[str, Any] = {}
    known_sections = all_sections(sections)
    features = [name for name in known_sections if name != "core" and name not in SECTIONS]
    for section, cls in known_sections.items():
        raw_file = file_values if section == "core" else file_values.get(section, {})
        if not isinstance(raw_file, dict):
            problems[f"[{section}]"] = "must be a table in the settings file"
            raw_file = {}
        values: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            name = env_name(section, f.name)
            known.add(name)
            raw: Any = dataclasses.MISSING
            if overrides and f.name in overrides.get(section, {}):
                raw = overrides[section][f.name]
            elif name in environ:
                raw = environ[name]
            elif f.name in raw_file and not (section == "core" and isinstance(raw_file[f.name], dict)):
                raw = raw_file[f.name]
            if raw is dataclasses.MISSING:
                continue
            try:
                values[f.name] = _convert(raw, hints[f.name])
            except ValueError as err:
                problems[name] = str(err)
        if section != "core":
            for key in raw_file:
                if key not in {f.name for f in dataclasses.fields(cls)}:
                    problems[f"[{section}] {key}"] = "unknown setting"
        loaded[section] = cls(**values)
    for key, value in file_values.items():
        if not isinstance(value, dict) and key not in {f.name for f in dataclasses.fields(CoreSettings)}:
            problems[key] = "unknown setting in the settings file"
        elif isinstance(value, dict) and key not in known_sections:
            problems[f"[{key}]"] = "unknown section in the settings file"
    for name in environ:
        if name.startswith(PREFIX) and name not in known:
            problems[name] = "unknown setting (check the spelling)"
    settings = Settings(
        **{name: loaded[name] for name in ("core", *SECTIONS)}, features={name: loaded[name] for name in features}
    )
    problems.update(_validate(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def _read_toml(environ: Mapping[str, str], problems: dict[str, str]) -> dict[str, Any]:
    path = environ.get(env_name("core", "config"))
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        problems[env_name("core", "config")] = f"cannot read {path}: {err.strerror}"
    except tomllib.TOMLDecodeError as err:
        problems[env_name("core", "config")] = f"{path} is not valid TOML: {err}"
    return {}


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(raw: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if raw is None or raw == "":
            return None
        return _convert(raw, inner[0])
    if origin is Literal:
        if raw not in args:
            raise ValueError(f"must be one of {', '.join(map(str, args))}, not {raw!r}")
        return raw
    if origin is tuple:
        items = [s.strip() for s in raw.split(",") if s.strip()] if isinstance(raw, str) else list(raw)
        return tuple(_convert(item, args[0]) for item in items)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"must be true or false, not {raw!r}")
    if hint is int:
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number, not {raw!r}") from None
    if hint is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, not {raw!r}") from None
    if hint is Path:
        return Path(str(raw)).expanduser()
    if hint is str:
        if not isinstance(raw, str):
            raise ValueError(f"must be text, not {raw!r}")
        return raw
    raise TypeError(f"unsupported setting type {hint!r}")


def _validate(s: Settings) -> dict[str, str]:
    problems: dict[str, str] = {}
    issuer = urlsplit(s.core.issuer)
    if issuer.scheme not in ("http", "https") or not issuer.netloc:
        problems[env_name("core", "issuer")] = f"must be an http(s) URL, not {s.core.issuer!r}"
    elif issuer.query or issuer.fragment or s.core.issuer.endswith("/"):
        problems[env_name("core", "issuer")] = "must have no query, fragment or trailing slash"
    if s.server.metrics_token and len(s.server.metrics_token) < 32:
        problems[env_name("server", "metrics_token")] = "must be at least 32 random characters"
    for network in s.server.metrics_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problems[env_name("server", "metrics_networks")] = f"{network!r} is not an address or network (CIDR)"
    for entry in s.server.outbound_allow:
        if why := outbound_allow_problem(entry):
            problems[env_name("server", "outbound_allow")] = why
    if not 0 < s.server.port < 65536:
        problems[env_name("server", "port")] = "must be between 1 and 65535"
    if not 1 <= s.server.threads <= 64:
        problems[env_name("server", "threads")] = "must be between 1 and 64"
    if not 0 <= s.server.queue_timeout <= 300:
        problems[env_name("server", "queue_timeout")] = "must be between 0 (off) and 300 seconds"
    if not 1 <= s.server.timeout <= 3600:
        problems[env_name("server", "timeout")] = "must be between 1 and 3600 seconds"
    if not 0 <= s.server.heap_upkeep_seconds <= 3600:
        problems[env_name("server", "heap_upkeep_seconds")] = "must be between 0 (off) and 3600 seconds"
    if s.redis.url and (why := redis_url_problem(s.redis.url)):
        problems[env_name("redis", "url")] = why
    problems.update(_mail_problems(s.mail))
    if not 0 <= s.audit.anchor_every_minutes <= 24 * 60:
        problems[env_name("audit", "anchor_every_minutes")] = "must be between 0 and 1440"
    if s.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems[env_name("log", "level")] = "must be DEBUG, INFO, WARNING or ERROR"
    for name, section in s.features.items():
        # A feature's section checks itself: ``problems()`` maps a key to what is wrong with it.
        check = getattr(section, "problems", None)
        for key, why in (check() if check else {}).items():
            problems[env_name(name, key)] = why
    if s.production:
        problems.update(_refuse_development_defaults(s))
    return problems


def _mail_problems(mail: MailSettings) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not mail.host:
        return problems
    if not 0 < mail.port < 65536:
        problems[env_name("mail", "port")] = "must be between 1 and 65535"
    if mail.tls and mail.starttls:
        problems[env_name("mail", "tls")] = "TLS from the start and STARTTLS exclude each other: set starttls=false"
    if mail.username and not (mail.tls or mail.starttls):
        problems[env_name("mail", "username")] = "a login needs TLS or STARTTLS (the password would travel in clear)"
    if "@" not in mail.from_address:
        problems[env_name("mail", "from_address")] = "must be set (an e-mail address) when a host is"
    if mail.ca_file is not None and not mail.ca_file.is_file():
        problems[env_name("mail", "ca_file")] = f"no such file: {mail.ca_file}"
    if not 1 <= mail.timeout_seconds <= 300:
        problems[env_name("mail", "timeout_seconds")] = "must be between 1 and 300"
    return problems


def _refuse_development_defaults(s: Settings) -> dict[str, str]:
    refused: dict[str, str] = {}
    if not s.core.issuer.startswith("https://"):
        refused[env_name("core", "issuer")] = "must be an https:// URL in production"
    if len(s.core.secret_key) < 32:
        refused[env_name("core", "secret_key")] = "must be set to at least 32 random characters in production"
    if s.database.echo:
        refused[env_name("database", "echo")] = "would log data in production"
    for name, section in s.features.items():
        # ``production_problems()``: the development defaults a feature's section refuses in production.
        check = getattr(section, "production_problems", None)
        for key, why in (check() if check else {}).items():
            refused[env_name(name, key)] = why
    return refused


def generate_secret() -> str:
    """A fresh random secret for development defaults kept in the data folder."""
    return secrets.token_urlsafe(32)
