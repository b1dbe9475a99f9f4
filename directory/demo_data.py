"""The demonstration directory seeded by ``antin demo`` on first start (and ``antin directory seed-demo``).

Central organs, two provincial-level committees (Bắc Ninh and Hà Nội) with departments, communes, wards and
Party cells, and fifty officials with Vietnamese names (invented people), among them administrators
(``quan-tri-*``), signers (``ky-so-*``) and records-office staff (``van-thu-*``). Seeding again adds only
what is missing, and never changes a password that was already set.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from directory.errors import AlreadyExistsError, NotFoundError
from directory.models import NewPerson, UnitKind

if TYPE_CHECKING:
    from directory.service import LdapDirectory

__all__ = ["DEMO_PASSWORD", "DEMO_UNITS", "seed_demo"]

# Meets the default policy: ten characters, four kinds of characters, no login name inside.
DEMO_PASSWORD = "Demo-2025!"

K = UnitKind
# (code, name, kind, parent code)
DEMO_UNITS: tuple[tuple[str, str, UnitKind, str | None], ...] = (
    ("TW", "Ban Chấp hành Trung ương Đảng", K.CENTRAL_ORGAN, None),
    ("VPTW", "Văn phòng Trung ương Đảng", K.CENTRAL_COMMITTEE_OFFICE, "TW"),
    ("BTCTW", "Ban Tổ chức Trung ương", K.CENTRAL_ORGAN, "TW"),
    ("UBKTTW", "Ủy ban Kiểm tra Trung ương", K.CENTRAL_ORGAN, "TW"),
    ("BNH", "Tỉnh ủy Bắc Ninh", K.PROVINCIAL_COMMITTEE, "TW"),
    ("BNH-VP", "Văn phòng Tỉnh ủy Bắc Ninh", K.DEPARTMENT, "BNH"),
    ("BNH-BTC", "Ban Tổ chức Tỉnh ủy Bắc Ninh", K.DEPARTMENT, "BNH"),
    ("BNH-KINHBAC", "Đảng ủy phường Kinh Bắc", K.WARD_COMMITTEE, "BNH"),
    ("BNH-KINHBAC-CB1", "Chi bộ khu phố Đọ Xá", K.PARTY_CELL, "BNH-KINHBAC"),
    ("BNH-PHATTICH", "Đảng ủy xã Phật Tích", K.COMMUNE_COMMITTEE, "BNH"),
    ("BNH-PHATTICH-CB1", "Chi bộ thôn Phật Tích", K.PARTY_CELL, "BNH-PHATTICH"),
    ("HNI", "Thành ủy Hà Nội", K.MUNICIPAL_COMMITTEE, "TW"),
    ("HNI-VP", "Văn phòng Thành ủy Hà Nội", K.DEPARTMENT, "HNI"),
    ("HNI-BTC", "Ban Tổ chức Thành ủy Hà Nội", K.DEPARTMENT, "HNI"),
    ("HNI-BADINH", "Đảng ủy phường Ba Đình", K.WARD_COMMITTEE, "HNI"),
    ("HNI-BADINH-CB1", "Chi bộ khu dân cư số 1", K.PARTY_CELL, "HNI-BADINH"),
    ("HNI-HOANKIEM", "Đảng ủy phường Hoàn Kiếm", K.WARD_COMMITTEE, "HNI"),
    ("HNI-SOCSON", "Đảng ủy xã Sóc Sơn", K.COMMUNE_COMMITTEE, "HNI"),
    ("HNI-SOCSON-CB1", "Chi bộ thôn Đông Hạ", K.PARTY_CELL, "HNI-SOCSON"),
)

# (uid, full name, unit, position, roles)
DEMO_OFFICIALS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("hungnv", "Nguyễn Văn Hùng", "VPTW", "Chánh Văn phòng", ("ky-so-tw",)),
    ("lanntt", "Nguyễn Thị Thanh Lan", "VPTW", "Văn thư", ("van-thu-tw",)),
    ("dungpt", "Phạm Tiến Dũng", "VPTW", "Chuyên viên", ("quan-tri-tw",)),
    ("haitm", "Trần Minh Hải", "BTCTW", "Vụ trưởng", ("ky-so-tw",)),
    ("huongdt", "Đặng Thị Hương", "BTCTW", "Chuyên viên chính", ()),
    ("quanglh", "Lê Hồng Quang", "UBKTTW", "Vụ trưởng", ("ky-so-tw",)),
    ("trangvt", "Vũ Thu Trang", "UBKTTW", "Chuyên viên", ()),
    ("longhd", "Hoàng Đức Long", "VPTW", "Chuyên viên", ("quan-tri-tw",)),
    ("thanhnc", "Nguyễn Công Thành", "BNH", "Bí thư Tỉnh ủy", ("ky-so-bnh", "lanh-dao-bnh")),
    ("hoalt", "Lê Thị Hoa", "BNH", "Phó Bí thư Thường trực", ("ky-so-bnh", "lanh-dao-bnh")),
    ("minhnq", "Ngô Quang Minh", "BNH-VP", "Chánh Văn phòng Tỉnh ủy", ("ky-so-bnh",)),
    ("ngantk", "Trần Kim Ngân", "BNH-VP", "Văn thư", ("van-thu-bnh",)),
    ("tuanbv", "Bùi Văn Tuấn", "BNH-VP", "Chuyên viên", ("quan-tri-bnh",)),
    ("yenht", "Hà Thị Yến", "BNH-VP", "Chuyên viên", ()),
    ("kiendm", "Đỗ Mạnh Kiên", "BNH-BTC", "Trưởng Ban Tổ chức", ("ky-so-bnh",)),
    ("phuongnt", "Nguyễn Thị Phương", "BNH-BTC", "Phó Trưởng ban", ()),
    ("sonpx", "Phan Xuân Sơn", "BNH-BTC", "Chuyên viên", ()),
    ("giangdt", "Dương Thu Giang", "BNH-BTC", "Chuyên viên", ()),
    ("vinhtq", "Trịnh Quốc Vinh", "BNH-KINHBAC", "Bí thư Đảng ủy phường", ("ky-so-bnh",)),
    ("maint", "Nguyễn Thị Mai", "BNH-KINHBAC", "Văn thư", ("van-thu-bnh",)),
    ("cuongnh", "Nguyễn Hữu Cường", "BNH-KINHBAC", "Phó Bí thư", ()),
    ("linhvt", "Vũ Thùy Linh", "BNH-KINHBAC-CB1", "Bí thư Chi bộ", ()),
    ("khanhlv", "Lê Văn Khánh", "BNH-KINHBAC-CB1", "Đảng viên", ()),
    ("binhnd", "Nguyễn Đình Bình", "BNH-PHATTICH", "Bí thư Đảng ủy xã", ("ky-so-bnh",)),
    ("thuynt", "Ngô Thị Thủy", "BNH-PHATTICH", "Văn thư", ("van-thu-bnh",)),
    ("namtv", "Trần Văn Nam", "BNH-PHATTICH-CB1", "Bí thư Chi bộ", ()),
    ("hanhpt", "Phạm Thị Hạnh", "BNH-PHATTICH-CB1", "Đảng viên", ()),
    ("phonglt", "Lương Thanh Phong", "HNI", "Bí thư Thành ủy", ("ky-so-hni",)),
    ("dungnt", "Nguyễn Thị Dung", "HNI", "Phó Bí thư Thường trực", ("ky-so-hni",)),
    ("toanvd", "Vũ Đức Toàn", "HNI-VP", "Chánh Văn phòng Thành ủy", ("ky-so-hni",)),
    ("nhungtt", "Tạ Thị Nhung", "HNI-VP", "Văn thư", ("van-thu-hni",)),
    ("hieunm", "Nguyễn Minh Hiếu", "HNI-VP", "Chuyên viên", ("quan-tri-hni",)),
    ("quyenlt", "Lâm Thị Quyên", "HNI-VP", "Chuyên viên", ()),
    ("datnt", "Nguyễn Tiến Đạt", "HNI-BTC", "Trưởng Ban Tổ chức", ("ky-so-hni",)),
    ("oanhct", "Cao Thị Oanh", "HNI-BTC", "Phó Trưởng ban", ()),
    ("tungdv", "Đinh Văn Tùng", "HNI-BTC", "Chuyên viên", ()),
    ("thaohp", "Hoàng Phương Thảo", "HNI-BTC", "Chuyên viên", ()),
    ("loctt", "Trần Tấn Lộc", "HNI-BADINH", "Bí thư Đảng ủy phường", ("ky-so-hni",)),
    ("vanntb", "Nguyễn Thị Bích Vân", "HNI-BADINH", "Văn thư", ("van-thu-hni",)),
    ("hoangnv", "Nguyễn Việt Hoàng", "HNI-BADINH", "Phó Bí thư", ()),
    ("tamlt", "Lê Thanh Tâm", "HNI-BADINH-CB1", "Bí thư Chi bộ", ()),
    ("hoapv", "Phạm Văn Hòa", "HNI-BADINH-CB1", "Đảng viên", ()),
    ("thangdq", "Đào Quang Thắng", "HNI-HOANKIEM", "Bí thư Đảng ủy phường", ("ky-so-hni",)),
    ("uyenmt", "Mai Thu Uyên", "HNI-HOANKIEM", "Văn thư", ("van-thu-hni",)),
    ("huytk", "Tô Khánh Huy", "HNI-HOANKIEM", "Chuyên viên", ()),
    ("nghiakv", "Kiều Văn Nghĩa", "HNI-SOCSON", "Bí thư Đảng ủy xã", ("ky-so-hni",)),
    ("tuyetct", "Chu Thị Tuyết", "HNI-SOCSON", "Văn thư", ("van-thu-hni",)),
    ("phucdh", "Dương Hoàng Phúc", "HNI-SOCSON-CB1", "Bí thư Chi bộ", ()),
    ("hienlt", "Lý Thu Hiền", "HNI-SOCSON-CB1", "Đảng viên", ()),
    ("taihv", "Hồ Văn Tài", "HNI-SOCSON-CB1", "Đảng viên", ()),
)

# (name, description, unit the role applies to, member groups)
DEMO_ROLES: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("quan-tri-tw", "Quản trị hệ thống (Trung ương)", "TW", ()),
    ("quan-tri-bnh", "Quản trị Tỉnh ủy Bắc Ninh", "BNH", ()),
    ("quan-tri-hni", "Quản trị Thành ủy Hà Nội", "HNI", ()),
    ("ky-so-tw", "Ký số (Trung ương)", "TW", ()),
    ("ky-so-bnh", "Ký số Tỉnh ủy Bắc Ninh", "BNH", ()),
    ("ky-so-hni", "Ký số Thành ủy Hà Nội", "HNI", ()),
    ("van-thu-tw", "Văn thư (Trung ương)", "TW", ()),
    ("van-thu-bnh", "Văn thư Tỉnh ủy Bắc Ninh", "BNH", ()),
    ("van-thu-hni", "Văn thư Thành ủy Hà Nội", "HNI", ()),
    ("lanh-dao-bnh", "Lãnh đạo Tỉnh ủy Bắc Ninh", "BNH", ()),
    ("quan-tri", "Quản trị (mọi cấp)", None, ("quan-tri-tw", "quan-tri-bnh", "quan-tri-hni")),
    ("ky-so", "Ký số (mọi cấp)", None, ("ky-so-tw", "ky-so-bnh", "ky-so-hni")),
    ("van-thu", "Văn thư (mọi cấp)", None, ("van-thu-tw", "van-thu-bnh", "van-thu-hni")),
)

_ROLE_LABELS = {"quan-tri": "quản trị", "ky-so": "ký số", "van-thu": "văn thư", "lanh-dao": "lãnh đạo"}


def seed_demo(directory: LdapDirectory) -> list[tuple[str, str, str]]:
    """Add what is missing of the demonstration directory; return (uid, password, role description)."""
    for code, name, kind, parent in DEMO_UNITS:
        try:
            directory.get_unit(code)
        except NotFoundError:
            directory.create_unit(code, name, kind, parent)
    for name, description, unit, _ in DEMO_ROLES:
        try:
            directory.get_group(name)
        except NotFoundError:
            directory.create_group(name, description, is_role=True, unit_code=unit)
    accounts: list[tuple[str, str, str]] = []
    for index, (uid, full_name, unit, position, roles) in enumerate(DEMO_OFFICIALS, start=1):
        if directory.find_by_uid(uid) is None:
            with contextlib.suppress(AlreadyExistsError):  # created meanwhile by another seeding process
                directory.create_person(
                    NewPerson(
                        uid=uid,
                        full_name=full_name,
                        unit_code=unit,
                        password=DEMO_PASSWORD,
                        mail=f"{uid}@demo.antin.example",
                        employee_number=f"DM{index:05d}",
                        party_card_number=f"{1_000_000 + index * 37:08d}",
                        position=position,
                        phone=f"+84 24 3845 {index:04d}",
                    )
                )
        for role in roles:
            directory.add_member(role, uid=uid)
        labels = [_ROLE_LABELS[r.rsplit("-", 1)[0]] + f" ({r.rsplit('-', 1)[1].upper()})" for r in roles]
        accounts.append((uid, DEMO_PASSWORD, f"{position}, {unit}" + (f"; {', '.join(labels)}" if labels else "")))
    for name, _, _, children in DEMO_ROLES:
        for child in children:
            directory.add_member(name, group=child)
    return accounts
