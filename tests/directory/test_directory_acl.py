"""The server's access control, seen from an official's own connection: read what is needed, write nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.config import DirectoryConfig
from directory.errors import PermissionDeniedError
from directory.ldap_client import LdapConnection, Modification
from directory.models import NewPerson
from directory.service import LdapDirectory
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd


def test_officials_read_what_they_need_and_write_nothing(
    directory: LdapDirectory, directory_config: DirectoryConfig, unit: str, unique: Callable[[str], str]
) -> None:
    me, other = unique("me"), unique("other")
    for uid in (me, other):
        directory.create_person(
            NewPerson(
                uid=uid, full_name="Phạm Ngọc Thạch", unit_code=unit, password=PASSWORD, party_card_number="12345678"
            )
        )
    mine, theirs = directory.get_person(me), directory.get_person(other)
    conn = LdapConnection(directory_config.uris[0], directory_config)
    try:
        conn.bind(mine.dn, PASSWORD)
        seen = conn.read(theirs.dn, ["*", "+"])
        assert seen is not None
        assert seen.first("cn") == "Phạm Ngọc Thạch" and seen.first("entryUUID") == theirs.entry_uuid
        for secret in ("userPassword", "antinPartyCardNumber", "pwdHistory", "pwdChangedTime"):
            assert seen.get(secret) == (), secret
        own = conn.read(mine.dn, ["userPassword", "antinPartyCardNumber"])
        assert own is not None and own.get("userPassword") == ()  # not even one's own hash
        assert own.first("antinPartyCardNumber") == "12345678"
        with pytest.raises(PermissionDeniedError):
            conn.modify(theirs.dn, [Modification("replace", "cn", ["Kẻ Mạo Danh"])])
        with pytest.raises(PermissionDeniedError):
            conn.modify(mine.dn, [Modification("replace", "antinPosition", ["Bí thư"])])  # not even oneself
        with pytest.raises(PermissionDeniedError):
            conn.add(
                f"uid={unique('x')},{directory.get_unit(unit).dn}",
                {"objectClass": ["inetOrgPerson"], "cn": ["x"], "sn": ["x"]},
            )
        assert conn.search(directory_config.policies_dn, "sub") == []  # policies are the service's business
    finally:
        conn.close()


def test_anonymous_reads_nothing(directory: LdapDirectory, directory_config: DirectoryConfig, unit: str) -> None:
    conn = LdapConnection(directory_config.uris[0], directory_config)
    try:
        assert conn.search(directory_config.base_dn, "sub", "(objectClass=*)", ["1.1"]) == []
    finally:
        conn.close()
