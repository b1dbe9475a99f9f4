"""What administration stores and speaks of: roles, the actions they allow, and grants of a role on a unit.

A grant gives one administrator (by OIDC ``sub``, the directory's entryUUID) one role on one unit and its whole
subtree; :data:`ROOT_UNIT` stands for the whole directory, the only unit a platform administrator is granted on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base

__all__ = [
    "CLIENT_SUBJECT_PREFIX",
    "ROLE_ACTIONS",
    "ROOT_UNIT",
    "AdminAction",
    "AdminGrant",
    "AdminImportJob",
    "AdminRole",
    "GrantView",
    "ScimExternalId",
    "client_subject",
]

ROOT_UNIT = "*"  # the whole directory: every unit, and officials outside any unit


class AdminRole(enum.StrEnum):
    PLATFORM_ADMIN = "platform-admin"  # quản trị hệ thống: everything, granted on the root only
    UNIT_ADMIN = "unit-admin"  # quản trị đơn vị: officials, units, groups of the subtree; grants within it
    AUDITOR = "auditor"  # kiểm tra viên: reads, changes nothing
    CERTIFICATE_OFFICER = "certificate-officer"  # cán bộ chứng thư số: officials' and seals' certificates
    CLIENT_MANAGER = "client-manager"  # quản lý ứng dụng: OIDC clients
    PROVISIONER = "provisioner"  # a SCIM provisioning client (an OIDC client, not an official): people and groups


class AdminAction(enum.StrEnum):
    """What an administrator does to something in a unit; every admin operation names one."""

    OFFICIALS_READ = "officials:read"
    OFFICIALS_DISABLE = "officials:disable"  # disable and enable
    OFFICIALS_SECURITY = "officials:security"  # sign their SSO sessions out, reset their second factors
    OFFICIALS_WRITE = "officials:write"  # create, edit, move, unlock, reset the password
    UNITS_READ = "units:read"
    UNITS_WRITE = "units:write"  # create and rename units
    GROUPS_READ = "groups:read"
    GROUPS_MANAGE = "groups:manage"  # create and delete groups, add and remove members
    AUDIT_READ = "audit:read"
    CERTIFICATES_READ = "certificates:read"  # officials' and units' seal certificates; the CA's status on the root
    CERTIFICATES_MANAGE = "certificates:manage"  # issue, renew and revoke officials' and seal certificates
    PKI_RENEW = "pki:renew"  # renew the CA's own certificates (OCSP, TSA, issuing CA): the platform administrator's
    CLIENTS_MANAGE = "clients:manage"
    GRANTS_MANAGE = "grants:manage"  # give or take away roles (only roles whose every action one holds there)


_READ = frozenset({AdminAction.OFFICIALS_READ, AdminAction.UNITS_READ, AdminAction.GROUPS_READ})
_WRITE = frozenset(
    {
        AdminAction.OFFICIALS_DISABLE,
        AdminAction.OFFICIALS_WRITE,
        AdminAction.UNITS_WRITE,
        AdminAction.GROUPS_MANAGE,
    }
)
ROLE_ACTIONS: dict[AdminRole, frozenset[AdminAction]] = {
    AdminRole.PLATFORM_ADMIN: frozenset(AdminAction),
    AdminRole.UNIT_ADMIN: _READ
    | _WRITE
    | {
        AdminAction.OFFICIALS_DISABLE,
        AdminAction.OFFICIALS_SECURITY,
        AdminAction.AUDIT_READ,
        AdminAction.GRANTS_MANAGE,
        AdminAction.CERTIFICATES_READ,
    },
    AdminRole.AUDITOR: _READ | {AdminAction.AUDIT_READ, AdminAction.CERTIFICATES_READ},
    AdminRole.CERTIFICATE_OFFICER: _READ | {AdminAction.CERTIFICATES_READ, AdminAction.CERTIFICATES_MANAGE},
    AdminRole.CLIENT_MANAGER: frozenset({AdminAction.CLIENTS_MANAGE}),
    AdminRole.PROVISIONER: _READ | (_WRITE - {AdminAction.UNITS_WRITE}),
}

CLIENT_SUBJECT_PREFIX = "client:"  # a grant's subject naming an OIDC client (a provisioning client), not an official


def client_subject(client_id: str) -> str:
    """The grant subject of an OIDC client: it cannot be an official's, whose subjects are entryUUIDs."""
    return CLIENT_SUBJECT_PREFIX + client_id


class AdminGrant(Base):
    """One role held by one administrator on one unit's subtree."""

    __tablename__ = "admin_grant"
    __table_args__ = (UniqueConstraint("subject", "role", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)  # an entryUUID (OIDC sub), or "client:<client_id>"
    role: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str] = mapped_column(String(64))  # a unit's code, or ROOT_UNIT
    # the unit's entryUUID when granted: a new unit given a deleted one's code inherits nothing (None: not yet bound,
    # "": the unit was gone when bound; see admin.unit_identity)
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    granted_by: Mapped[str] = mapped_column(String(128))  # an administrator's sub, or "cli:<user>"
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScimExternalId(Base):
    """The externalId a SCIM client gave a user or group (RFC 7643 §3.1): the directory has no place for it."""

    __tablename__ = "scim_external_id"
    __table_args__ = (UniqueConstraint("resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(16))  # "User" or "Group"
    resource_id: Mapped[str] = mapped_column(String(64))  # a user's entryUUID, a group's cn
    external_id: Mapped[str] = mapped_column(String(256), index=True)


class AdminImportJob(Base):
    """One CSV import by one administrator: the checked file, its dry run, then the real run's progress and report.

    Kept in SQL, not in a worker's memory or folder, so that any instance behind the load balancer shows its
    progress and a run whose instance died (no heartbeat) can be taken up again by another.
    """

    __tablename__ = "admin_import_job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: the only name pages and forms use
    actor: Mapped[str] = mapped_column(String(128), index=True)  # the administrator's sub: nobody else sees it
    kind: Mapped[str] = mapped_column(String(16))  # "officials" or "units"
    filename: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the checked bytes: the real run imports exactly these
    status: Mapped[str] = mapped_column(String(24))  # checked, running, applied, stopped, nothing-applied, failed
    skip_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)  # rows the real run writes
    done: Mapped[int] = mapped_column(Integer, default=0)  # of those, written so far
    report: Mapped[str] = mapped_column(Text)  # JSON: the dry run's report, then the real run's
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # a running job's last sign of life


@dataclass(frozen=True)
class GrantView:
    """A grant as the CLI and the API show it."""

    id: int
    subject: str
    login: str | None  # the administrator's login today (None when the account is gone)
    role: AdminRole
    unit_code: str
    granted_by: str
    granted_at: datetime
    orphaned: bool = False  # its unit was deleted (a unit with the same code since is another): it covers nothing

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "subject": self.subject,
            "login": self.login,
            "role": self.role.value,
            "unit": self.unit_code,
            "granted_by": self.granted_by,
            "granted_at": self.granted_at.isoformat(),
            "orphaned": self.orphaned,
        }
