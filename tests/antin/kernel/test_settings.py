"""Settings: read once from the environment and a TOML file, validated, frozen; production refuses dev defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from antin.kernel.settings import SettingsError
from antin.settings import load_settings
from directory.settings import DirectorySettings

PRODUCTION = {
    "ANTIN_ENV": "production",
    "ANTIN_ISSUER": "https://sso.dang.vn",
    "ANTIN_SECRET_KEY": "x" * 40,
    "ANTIN_DIRECTORY_MANAGED": "false",
    "ANTIN_DIRECTORY_URIS": "ldaps://ldap1.dang.vn,ldaps://ldap2.dang.vn",
    "ANTIN_DIRECTORY_BIND_PASSWORD": "service-secret",
    "ANTIN_HSM_PIN": "hsm-pin-from-vault",
    "ANTIN_MFA_ENCRYPTION_KEY": "e" * 40,
    "ANTIN_DATABASE_URL": "postgresql+psycopg://antin@db/antin",
}


def test_defaults_are_the_embedded_development_instance() -> None:
    s = load_settings({})
    assert s.core.env == "development"
    assert s.core.issuer == "http://localhost:5000"
    assert s.section(DirectorySettings).managed is True
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/antin.sqlite3")
    assert s.cookie_secure is False  # http://localhost development only


def test_environment_variables_are_converted_by_type() -> None:
    s = load_settings(
        {
            "ANTIN_DATA_DIR": "/srv/antin",
            "ANTIN_SERVER_PORT": "5050",
            "ANTIN_DIRECTORY_URIS": "ldap://a:389, ldap://b:389",
            "ANTIN_DIRECTORY_START_TLS": "yes",
            "ANTIN_DIRECTORY_TIMEOUT": "2.5",
        }
    )
    assert s.data_dir == Path("/srv/antin")
    assert s.server.port == 5050
    assert s.section(DirectorySettings).uris == ("ldap://a:389", "ldap://b:389")
    assert s.section(DirectorySettings).start_tls is True
    assert s.section(DirectorySettings).timeout == 2.5


def test_settings_are_frozen() -> None:
    s = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.server.port = 1  # type: ignore[misc]


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_SERVER_PORT": "fifty", "ANTIN_DIRECTORY_START_TLS": "maybe"})
    assert set(err.value.problems) == {"ANTIN_SERVER_PORT", "ANTIN_DIRECTORY_START_TLS"}
    assert "ANTIN_SERVER_PORT: must be a whole number, not 'fifty'" in str(err.value)


def test_a_misspelt_variable_is_refused() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_DIRECTORY_URI": "ldap://x"})
    assert "ANTIN_DIRECTORY_URI" in err.value.problems
    assert "spelling" in err.value.problems["ANTIN_DIRECTORY_URI"]


def test_issuer_must_be_one_exact_url_without_trailing_slash() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_ISSUER": "https://sso.dang.vn/"})
    assert "trailing slash" in err.value.problems["ANTIN_ISSUER"]


def test_toml_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "antin.toml"
    config.write_text(
        'issuer = "https://sso.example.vn"\n[server]\nport = 6000\nworkers = 8\n'
        '[directory]\nbase_dn = "dc=dang,dc=vn"\n',
        encoding="utf-8",
    )
    s = load_settings({"ANTIN_CONFIG": str(config), "ANTIN_SERVER_PORT": "7000"})
    assert s.core.issuer == "https://sso.example.vn"
    assert s.server.port == 7000
    assert s.server.workers == 8
    assert s.section(DirectorySettings).base_dn == "dc=dang,dc=vn"


def test_toml_file_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = \n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_CONFIG": str(bad)})
    assert "is not valid TOML" in err.value.problems["ANTIN_CONFIG"]
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[server]\nprot = 1\n[sever]\nport = 1\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_CONFIG": str(unknown)})
    assert set(err.value.problems) == {"[server] prot", "[sever]"}
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_CONFIG": str(tmp_path / "missing.toml")})
    assert "cannot read" in err.value.problems["ANTIN_CONFIG"]


def test_production_refuses_every_development_default() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_ENV": "production"})
    assert {
        "ANTIN_ISSUER",
        "ANTIN_SECRET_KEY",
        "ANTIN_DIRECTORY_MANAGED",
        "ANTIN_DIRECTORY_BIND_PASSWORD",
        "ANTIN_HSM_PIN",
        "ANTIN_MFA_ENCRYPTION_KEY",
    } <= set(err.value.problems)


def test_production_settings_pass_when_everything_is_given() -> None:
    s = load_settings(PRODUCTION)
    assert s.production
    assert s.cookie_secure is True
    assert s.section(DirectorySettings).uris == ("ldaps://ldap1.dang.vn", "ldaps://ldap2.dang.vn")


def test_overrides_win_over_the_environment() -> None:
    s = load_settings({"ANTIN_SERVER_PORT": "5000"}, overrides={"server": {"port": 5123}})
    assert s.server.port == 5123
