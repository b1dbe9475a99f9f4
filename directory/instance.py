"""The directory of one platform instance: the LDAP service its settings name, and the managed slapd behind it.

``directory_service(instance)`` is what every feature calls; in the embedded default (``ANTIN_DIRECTORY_MANAGED``)
it talks to the private slapd in the data folder, started on first use when the instance asks for it (one-off
CLI commands) and stopped when the instance closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from directory.settings import DirectorySettings

if TYPE_CHECKING:
    from antin.kernel.instance import Instance
    from directory.protocol import UserDirectory
    from directory.service import LdapDirectory
    from directory.slapd import ManagedSlapd

__all__ = ["directory_service", "managed_slapd", "search_keys_warning", "service_password", "use_directory"]

SERVICE_KEY = "antin.directory"
SLAPD_KEY = "antin.directory.slapd"


def service_password(instance: Instance) -> str:
    """The service account's password: the setting, or one generated into the data folder (development)."""
    return instance.settings.section(DirectorySettings).bind_password or instance.local_secret(
        "directory_service_password"
    )


def managed_slapd(instance: Instance) -> ManagedSlapd | None:
    """The private slapd of the embedded default, or None when an outside directory is configured."""
    settings = instance.settings.section(DirectorySettings)
    if not settings.managed:
        return None
    return instance.service(SLAPD_KEY, _build_slapd)


def directory_service(instance: Instance) -> LdapDirectory:
    """The directory service; in the embedded default it talks to the managed slapd."""
    return instance.service(SERVICE_KEY, _build_directory)


def _build_slapd(instance: Instance) -> ManagedSlapd:
    from directory.slapd import ManagedSlapd

    d = instance.settings.section(DirectorySettings)
    return ManagedSlapd(
        instance.ensure_data_dir() / "slapd",
        base_dn=d.base_dn,
        port=d.port,
        service_password=service_password(instance),
        sync_commits=d.sync_commits,
    )


def _build_directory(instance: Instance) -> LdapDirectory:
    from directory.config import DirectoryConfig
    from directory.service import LdapDirectory

    d = instance.settings.section(DirectorySettings)
    uris = d.uris
    slapd = managed_slapd(instance)
    if slapd is not None:
        uris = slapd.uris
        if instance.start_directory and slapd.ensure_running():
            instance.on_close(slapd.stop)
    config = DirectoryConfig(
        uris=tuple(uris),
        base_dn=d.base_dn,
        bind_dn=d.service_dn,
        bind_password=service_password(instance),
        start_tls=d.start_tls,
        ca_file=d.ca_file,
        timeout=d.timeout,
        connect_timeout=d.connect_timeout,
        page_size=d.page_size,
        pool_size=d.pool_size,
    )
    return LdapDirectory(config)


def search_keys_warning(instance: Instance) -> str | None:
    """The readiness warning while the officials' search keys are not known to be current (one read), else None.

    A directory stand-in without keys (tests' InMemoryDirectory) has nothing to warn about.
    """
    from directory.errors import DirectoryError
    from directory.service import LdapDirectory

    directory: object = directory_service(instance)  # use_directory may have put a stand-in there
    if not isinstance(directory, LdapDirectory):
        return None
    try:
        return directory.search_keys_warning()
    except DirectoryError:  # the directory's own check says it is down: only unknown here, not a second failure
        return "search keys unknown: the directory does not answer"


def use_directory(instance: Instance, directory: UserDirectory) -> None:
    """Tests and tools: the instance's features read people from ``directory`` (an InMemoryDirectory…)."""
    instance.extensions[SERVICE_KEY] = directory
