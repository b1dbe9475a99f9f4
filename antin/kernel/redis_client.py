"""The one way every store reaches Redis (``ANTIN_REDIS_URL``): one server, or the primary that Redis Sentinel names.

- ``redis://[[user]:password@]host:port/db`` (``rediss://`` for TLS): one server, as redis-py reads it.
- ``redis+sentinel://[[user]:password@]host1:26379,host2:26379,host3:26379/service[/db]`` (``rediss+sentinel://``
  for TLS to the data nodes): ask the Sentinels which server is the primary of ``service`` and talk to it; after a
  failover the next command that fails with a connection error asks again, so the stores follow the new primary
  without a restart. The user and password are the data nodes'; Sentinels that need their own password take it
  as ``?sentinel_password=…``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    import redis

__all__ = ["SENTINEL_SCHEMES", "redis_client", "redis_url_problem"]

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_SCHEMES = ("redis", "rediss", "unix", *SENTINEL_SCHEMES)
_SENTINEL_PORT = 26379


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be used (for the settings check), or None."""
    try:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            return f"must be a redis://, rediss:// or redis+sentinel:// URL, not {parts.scheme or url!r}://"
        if parts.scheme in SENTINEL_SCHEMES:
            _sentinel_parts(url)
    except ValueError as err:
        return str(err)
    return None


def _sentinel_parts(url: str) -> tuple[list[tuple[str, int]], str, int, dict[str, Any], str | None]:
    parts = urlsplit(url)
    credentials, _, hosts_text = parts.netloc.rpartition("@")
    hosts: list[tuple[str, int]] = []
    for item in hosts_text.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        if not host:
            raise ValueError(f"a Sentinel address is empty or has no host: {item!r}")
        hosts.append((host.strip("[]"), int(port) if port else _SENTINEL_PORT))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("must name the Sentinel service after the hosts: redis+sentinel://host:26379/service[/db]")
    db = int(path[1]) if len(path) == 2 else 0
    auth: dict[str, Any] = {}
    if credentials:
        user, _, password = credentials.partition(":")
        if user:
            auth["username"] = unquote(user)
        if password:
            auth["password"] = unquote(password)
    sentinel_password = parse_qs(parts.query).get("sentinel_password", [None])[0]
    return hosts, path[0], db, auth, sentinel_password


def redis_client(url: str, **options: Any) -> redis.Redis:
    """A client for ``url`` (see the module); ``options`` are redis-py's (timeouts, keepalive…)."""
    import redis  # loaded only where Redis is configured (the settings check needs none of it)
    from redis.sentinel import Sentinel

    scheme = urlsplit(url).scheme
    if scheme not in SENTINEL_SCHEMES:
        return redis.Redis.from_url(url, **options)
    hosts, service, db, auth, sentinel_password = _sentinel_parts(url)
    sentinel_options = {k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout")}
    if sentinel_password:
        sentinel_options["password"] = sentinel_password
    sentinel = Sentinel(hosts, sentinel_kwargs=sentinel_options)
    if scheme.startswith("rediss"):
        options = {**options, "ssl": True}
    client: redis.Redis = sentinel.master_for(service, db=db, **auth, **options)
    return client
