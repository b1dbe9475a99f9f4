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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "CoreSettings",
    "DatabaseSettings",
    "DirectorySettings",
    "HsmSettings",
    "LogSettings",
    "OidcSettings",
    "RedisSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "SettingsError",
    "SigningSettings",
    "ThrottleSettings",
    "load_settings",
]

PREFIX = "ANTIN_"
Environment = Literal["development", "test", "production"]
# The embedded default's PIN, refused in production.
DEFAULT_HSM_PIN = "1234"


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
    workers: int = doc("gunicorn worker processes in production", 4)
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


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = doc("SQLAlchemy URL; empty means SQLite in the data folder", "")
    echo: bool = doc("log every SQL statement (development only)", False)
    pool_size: int = doc("connections per worker for server databases", 5)


@dataclass(frozen=True)
class DirectorySettings:
    managed: bool = doc("run a private slapd in the data folder (the embedded default)", True)
    uris: tuple[str, ...] = doc("LDAP URIs tried in order (ldap://, ldaps://, ldapi://)", ())
    base_dn: str = doc("the directory's suffix", "dc=antin,dc=vn")
    bind_dn: str = doc("the service account's DN; empty means cn=antin-service,<base_dn>", "")
    bind_password: str = doc("the service account's password; generated in development", "")
    start_tls: bool = doc("issue StartTLS on ldap:// connections", False)
    ca_file: Path | None = doc("CA certificates that sign the LDAP servers' certificates", None)
    port: int = doc("port of the managed slapd on 127.0.0.1 (0 picks one from the data folder)", 0)
    timeout: float = doc("seconds for connecting and for each operation", 5.0)
    page_size: int = doc("entries per page in paged searches", 500)
    pool_size: int = doc("LDAP connections kept per process", 4)


@dataclass(frozen=True)
class RedisSettings:
    url: str = doc("redis:// URL for rate limits and shared short-lived state; empty uses the database", "")


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
class OidcSettings:
    code_ttl: int = doc("seconds an authorization code lives", 60)
    access_token_ttl: int = doc("seconds an access token lives", 600)
    id_token_ttl: int = doc("seconds an ID token lives", 600)
    refresh_token_ttl: int = doc("seconds a refresh token lives", 8 * 3600)
    key_overlap_hours: int = doc("hours a rotated key stays in the JWKS", 24)
    par_ttl: int = doc("seconds a pushed authorization request (PAR request_uri) lives", 60)
    interaction_ttl: int = doc("seconds a sign-in page may stay open before the request must start again", 1800)
    client_cache_seconds: float = doc(
        "seconds a running server may go on using a client's registration after another process changed it"
        " (`antin clients disable`, `rotate-secret`); 0 reads it on every request",
        2.0,
    )
    client_jwks_allow_private_addresses: bool = doc(
        "fetch a client's jwks_uri (private_key_jwt) even when its host resolves to a loopback, private or"
        " link-local address; off, such a client's assertions are refused (invalid_client)",
        False,
    )
    dpop_nonce: bool = doc(
        "require a server-provided nonce in DPoP proofs (RFC 9449 §8, §9) at /par, /token, /userinfo and the"
        " signing API: a proof without the current one gets use_dpop_nonce and a DPoP-Nonce header; a nonce is"
        " accepted for 60 to 120 seconds, so proofs made in advance are worthless",
        False,
    )


@dataclass(frozen=True)
class ThrottleSettings:
    account_failures: int = doc("failed logins per login and source address before delays start", 3)
    address_failures: int = doc("failed logins per source address before delays start", 20)
    max_delay_seconds: int = doc("the longest delay imposed between attempts", 60)
    device_failures: int = doc(
        "wrong passwords a browser the official signed in from before may make within the directory's "
        "pwdFailureCountInterval before it counts as a stranger's (at most pwdMaxFailure - 2)",
        2,
    )
    untrusted_failures: int = doc(
        "wrong passwords per login from browsers without a device cookie within pwdFailureCountInterval; "
        "0: pwdMaxFailure - 1 - device_failures (never more), or 10 per 900 s when the directory never locks",
        0,
    )
    device_days: int = doc("how long a browser stays known as the official's own after a sign-in", 180)


@dataclass(frozen=True)
class HsmSettings:
    module: Path | None = doc("PKCS#11 module; default: SoftHSM2's", None)
    token_label: str = doc("label of the token that holds the keys", "antin")
    pin: str = doc("user PIN of the token", DEFAULT_HSM_PIN)
    so_pin: str = doc("security officer PIN, used only to initialise a SoftHSM2 token", "")
    key_type: Literal["ec-p256", "rsa-3072"] = doc("type of new signing keys", "ec-p256")


@dataclass(frozen=True)
class SigningSettings:
    default_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = doc("PAdES level when none is asked for", "B-LTA")
    tsa_url: str = doc("external RFC 3161 time-stamping authority; empty uses the platform's own", "")
    trust_roots: tuple[Path, ...] = doc("extra PEM trust anchors for verification", ())
    font: Path | None = doc("OpenType font for signature appearances; default: DejaVu Sans", None)
    ca_name: str = doc("name in the generated CA certificates (root and issuing CA)", "Ấn Tín")
    organisation: str = doc("O of certificates whose holder has no unit path", "Đảng Cộng sản Việt Nam")
    certificate_days: int = doc("validity of officials' and seal certificates, in days", 730)
    max_document_mb: int = doc("largest PDF accepted for signing, in MB (CLI and API)", 100)
    api_audience: str = doc(
        "access tokens for /api/signing must carry this aud; default: <issuer>/api/signing or <issuer>", ""
    )
    revocation_cache_seconds: float = doc(
        "seconds the signing API may go on accepting an access token after its grant was revoked (logout, consent"
        " withdrawn, refresh-token reuse); each worker asks the provider's database at most once per token in"
        " that time; 0 asks on every request",
        5.0,
    )
    seal_group_prefix: str = doc(
        "only members of a group named <prefix>… (the records office) may apply a unit's seal; empty: any member",
        "van-thu",
    )
    auto_issue: bool = doc("issue a certificate from the platform's CA when a signer has none (embedded default)", True)
    image_dir: Path | None = doc(
        "folder of appearance images: <uid>.png, seal-<unit code>.png; default: <data_dir>/signing/images",
        None,
    )
    verify_max_bytes: int = doc(
        "largest PDF accepted by `antin verify`, the /verify page and the API", 50 * 1024 * 1024
    )
    verify_fetch_revocation: bool = doc(
        "let verification fetch CRLs and OCSP responses named in the document when it carries none", False
    )
    verify_rate_limit: int = doc(
        "verifications one client address may ask for per minute on /verify and the API; more answer 429", 20
    )
    verify_concurrency: int = doc(
        "verifications running at once on one host, across its workers; more answer 503 at once", 2
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of one instance. Build it with :func:`load_settings`."""

    core: CoreSettings = field(default_factory=CoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    log: LogSettings = field(default_factory=LogSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    oidc: OidcSettings = field(default_factory=OidcSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    hsm: HsmSettings = field(default_factory=HsmSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)

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

    @property
    def directory_bind_dn(self) -> str:
        return self.directory.bind_dn or f"cn=antin-service,{self.directory.base_dn}"


SECTIONS: dict[str, type[Any]] = {
    f.name: typing.get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings) if f.name != "core"
}


def env_name(section: str, key: str) -> str:
    """The environment variable of one setting (``core`` settings have no section in the name)."""
    middle = "" if section == "core" else f"{section.upper()}_"
    return f"{PREFIX}{middle}{key.upper()}"


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Settings:
    """Read, convert and validate every setting; raise :class:`SettingsError` naming each bad one.

    ``overrides`` (section → key → value) wins over everything; the CLI uses it for flags like ``--port``.
    """
    environ = os.environ if environ is None else environ
    problems: dict[str, str] = {}
    file_values = _read_toml(environ, problems)
    known = {env_name("core", f.name) for f in dataclasses.fields(CoreSettings)}
    sections: dict[str, Any] = {}
    all_sections: dict[str, type[Any]] = {"core": CoreSettings, **SECTIONS}
    for section, cls in all_sections.items():
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
        sections[section] = cls(**values)
    for key, value in file_values.items():
        if not isinstance(value, dict) and key not in {f.name for f in dataclasses.fields(CoreSettings)}:
            problems[key] = "unknown setting in the settings file"
        elif isinstance(value, dict) and key not in SECTIONS:
            problems[f"[{key}]"] = "unknown section in the settings file"
    for name in environ:
        if name.startswith(PREFIX) and name not in known:
            problems[name] = "unknown setting (check the spelling)"
    settings = Settings(**sections)
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
    if not 0 < s.server.port < 65536:
        problems[env_name("server", "port")] = "must be between 1 and 65535"
    if not 0 <= s.directory.port < 65536:
        problems[env_name("directory", "port")] = "must be between 0 and 65535"
    if not s.directory.managed and not s.directory.uris:
        problems[env_name("directory", "uris")] = "is required when ANTIN_DIRECTORY_MANAGED is false"
    for uri in s.directory.uris:
        if urlsplit(uri).scheme not in ("ldap", "ldaps", "ldapi"):
            problems[env_name("directory", "uris")] = f"{uri!r} is not an ldap://, ldaps:// or ldapi:// URI"
    if s.directory.timeout <= 0:
        problems[env_name("directory", "timeout")] = "must be more than 0 seconds"
    if s.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems[env_name("log", "level")] = "must be DEBUG, INFO, WARNING or ERROR"
    if s.signing.verify_max_bytes < 1024:
        problems[env_name("signing", "verify_max_bytes")] = "must be at least 1024 bytes"
    if s.signing.verify_rate_limit < 1:
        problems[env_name("signing", "verify_rate_limit")] = "must be at least 1"
    if s.signing.verify_concurrency < 1:
        problems[env_name("signing", "verify_concurrency")] = "must be at least 1"
    if s.signing.tsa_url and urlsplit(s.signing.tsa_url).scheme not in ("http", "https"):
        problems[env_name("signing", "tsa_url")] = "must be an http(s) URL"
    if not 0 < s.signing.max_document_mb <= 4096:
        problems[env_name("signing", "max_document_mb")] = "must be between 1 and 4096"
    if not 0 < s.signing.certificate_days <= 3650:
        problems[env_name("signing", "certificate_days")] = "must be between 1 and 3650"
    for name in ("account_failures", "address_failures", "device_failures", "untrusted_failures"):
        if getattr(s.throttle, name) < 0:
            problems[env_name("throttle", name)] = "must be 0 or more"
    if not 0 < s.throttle.device_days <= 3650:
        problems[env_name("throttle", "device_days")] = "must be between 1 and 3650"
    if s.production:
        problems.update(_refuse_development_defaults(s))
    return problems


def _refuse_development_defaults(s: Settings) -> dict[str, str]:
    refused: dict[str, str] = {}
    if not s.core.issuer.startswith("https://"):
        refused[env_name("core", "issuer")] = "must be an https:// URL in production"
    if len(s.core.secret_key) < 32:
        refused[env_name("core", "secret_key")] = "must be set to at least 32 random characters in production"
    if s.directory.managed:
        refused[env_name("directory", "managed")] = "is for development; set it false and give ANTIN_DIRECTORY_URIS"
    if not s.directory.bind_password:
        refused[env_name("directory", "bind_password")] = "is required in production"
    if s.hsm.pin == DEFAULT_HSM_PIN:
        refused[env_name("hsm", "pin")] = "the development PIN is refused in production"
    if s.database.echo:
        refused[env_name("database", "echo")] = "would log data in production"
    return refused


def generate_secret() -> str:
    """A fresh random secret for development defaults kept in the data folder."""
    return secrets.token_urlsafe(32)
