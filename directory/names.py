"""Vietnamese names and places for the demonstration directory and the synthetic generator.

Family names come with their approximate share of the population; provinces are the 34 provincial-level
units in force since 1 July 2025 (code, name, whether it is a centrally-run city); commune and ward names are
drawn from a pool of names that real communes and wards carry (the generator assigns them to provinces at
random, so a given province's list is plausible, not official).
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "CENTRAL_ORGANS",
    "COMMUNE_NAMES",
    "FAMILY_NAMES",
    "GIVEN_NAMES_FEMALE",
    "GIVEN_NAMES_MALE",
    "MIDDLE_NAMES_FEMALE",
    "MIDDLE_NAMES_MALE",
    "PROVINCES",
    "PROVINCIAL_DEPARTMENTS",
    "ascii_fold",
    "login_for",
    "search_keys",
]

FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 5.1), ("Huỳnh", 2.0),
    ("Phan", 4.5), ("Vũ", 3.9), ("Võ", 2.0), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3),
    ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.6), ("Trịnh", 0.5), ("Đào", 0.4), ("Mai", 0.3),
    ("Cao", 0.3), ("Lương", 0.3), ("Tạ", 0.2), ("Lâm", 0.2), ("Hà", 0.3), ("Chu", 0.2), ("Kiều", 0.1),
    ("Tô", 0.2), ("Thái", 0.1), ("Quách", 0.1),
)  # fmt: skip
MIDDLE_NAMES_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công", "Xuân", "Ngọc", "Mạnh", "Tiến", "Quốc", "Trọng", "Anh", "Hoàng", "Duy", "Đình", "Thế", "Tuấn", "Việt")  # fmt: skip  # noqa: E501
MIDDLE_NAMES_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Kim", "Phương", "Thùy", "Mỹ", "Bích", "Khánh", "Diệu", "Hải")  # fmt: skip  # noqa: E501
GIVEN_NAMES_MALE = ("An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Định", "Đông", "Giang", "Hải", "Hiếu", "Hòa", "Hoàng", "Hùng", "Huy", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Lộc", "Lợi", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ")  # fmt: skip  # noqa: E501
GIVEN_NAMES_FEMALE = ("An", "Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng", "Huệ", "Hương", "Hường", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quyên", "Quỳnh", "Tâm", "Thảo", "Thu", "Thủy", "Trang", "Trinh", "Tuyết", "Uyên", "Vân", "Yến")  # fmt: skip  # noqa: E501

# (code, name, is a centrally-run city): the 34 provincial-level units since 1 July 2025.
PROVINCES: tuple[tuple[str, str, bool], ...] = (
    ("HNI", "Hà Nội", True), ("HCM", "Hồ Chí Minh", True), ("HPG", "Hải Phòng", True),
    ("DNG", "Đà Nẵng", True), ("CTO", "Cần Thơ", True), ("HUE", "Huế", True),
    ("LCU", "Lai Châu", False), ("DBN", "Điện Biên", False), ("SLA", "Sơn La", False),
    ("LSN", "Lạng Sơn", False), ("QNH", "Quảng Ninh", False), ("THA", "Thanh Hóa", False),
    ("NAN", "Nghệ An", False), ("HTH", "Hà Tĩnh", False), ("CBG", "Cao Bằng", False),
    ("TQG", "Tuyên Quang", False), ("LCI", "Lào Cai", False), ("TNN", "Thái Nguyên", False),
    ("PTO", "Phú Thọ", False), ("BNH", "Bắc Ninh", False), ("HYN", "Hưng Yên", False),
    ("NBH", "Ninh Bình", False), ("QTI", "Quảng Trị", False), ("QNI", "Quảng Ngãi", False),
    ("GLI", "Gia Lai", False), ("KHA", "Khánh Hòa", False), ("LDG", "Lâm Đồng", False),
    ("DLK", "Đắk Lắk", False), ("DNI", "Đồng Nai", False), ("TNH", "Tây Ninh", False),
    ("VLG", "Vĩnh Long", False), ("DTP", "Đồng Tháp", False), ("CMU", "Cà Mau", False),
    ("AGG", "An Giang", False),
)  # fmt: skip

COMMUNE_NAMES = (
    "Tân Phú", "An Bình", "Hòa Bình", "Tân Thành", "Phú Mỹ", "Bình Minh", "Tam Sơn", "Đông Hưng", "Xuân Lộc",
    "Tân Hiệp", "Long Hưng", "Phú Lâm", "Thanh Xuân", "Hoàng Mai", "Ba Đình", "Hoàn Kiếm", "Đống Đa",
    "Cầu Giấy", "Tây Hồ", "Long Biên", "Kinh Bắc", "Võ Cường", "Đình Bảng", "Từ Sơn", "Tiên Du", "Phù Khê",
    "Yên Phong", "Quế Võ", "Thuận Thành", "Gia Bình", "Lương Tài", "Chi Lăng", "Nhân Thắng", "Đại Đồng",
    "Hạp Lĩnh", "Khắc Niệm", "Nam Sơn", "Vân Dương", "Hòa Long", "Kim Chân", "Bến Thành", "Sài Gòn",
    "Tân Định", "Chợ Lớn", "Bình Thạnh", "Gia Định", "Thủ Đức", "Hiệp Bình", "Linh Xuân", "Tăng Nhơn Phú",
    "Phước Long", "Long Trường", "Cát Lái", "An Khánh", "Hải Châu", "Thanh Khê", "Sơn Trà", "Ngũ Hành Sơn",
    "Hòa Vang", "Hòa Khánh", "Liên Chiểu", "Hồng Bàng", "Lê Chân", "Ngô Quyền", "Kiến An", "Đồ Sơn",
    "Thủy Nguyên", "An Dương", "Vĩnh Bảo", "Tiên Lãng", "Ninh Kiều", "Cái Răng", "Bình Thủy", "Ô Môn",
    "Thốt Nốt", "Phong Điền", "Thuận Hóa", "Phú Xuân", "Hương Trà", "Hương Thủy", "Phú Vang", "Quảng Điền",
    "Mường Lay", "Mường Thanh", "Tuần Giáo", "Mộc Châu", "Chiềng Sinh", "Tô Hiệu", "Hạ Long", "Cẩm Phả",
    "Uông Bí", "Móng Cái", "Đông Triều", "Hàm Rồng", "Sầm Sơn", "Bỉm Sơn", "Vinh", "Cửa Lò", "Hoàng Mai",
    "Thái Hòa", "Hồng Lĩnh", "Kỳ Anh", "Thục Phán", "Nùng Trí Cao", "Minh Xuân", "Phan Thiết", "Sa Pa",
    "Cam Đường", "Phan Đình Phùng", "Gia Sàng", "Việt Trì", "Nông Trang", "Vĩnh Yên", "Phúc Yên", "Mỹ Hào",
    "Phố Hiến", "Hoa Lư", "Tam Điệp", "Nam Định", "Phủ Lý", "Đông Hà", "Đồng Hới", "Cẩm Thành", "Nghĩa Lộ",
    "Pleiku", "An Nhơn", "Quy Nhơn", "Nha Trang", "Cam Ranh", "Ninh Hòa", "Đà Lạt", "Bảo Lộc", "Buôn Ma Thuột",
    "Buôn Hồ", "Tuy Hòa", "Biên Hòa", "Long Khánh", "Trảng Dài", "Tân Uyên", "Tân An", "Kiến Tường",
    "Long An", "Mỹ Tho", "Gò Công", "Cao Lãnh", "Sa Đéc", "Hồng Ngự", "Long Xuyên", "Châu Đốc", "Rạch Giá",
    "Hà Tiên", "Phú Quốc", "Vị Thanh", "Ngã Bảy", "Sóc Trăng", "Bạc Liêu", "Giá Rai", "Tân Thành", "An Xuyên",
    "Trà Vinh", "Bến Tre", "Vĩnh Long", "Bình Minh", "Tân Hạnh", "Phước Hậu", "Thạnh Phú", "Mỏ Cày",
    "Hưng Đạo", "Lê Lợi", "Quang Trung", "Trần Phú", "Nguyễn Trãi", "Yên Thế", "Lạng Giang", "Kép",
)  # fmt: skip

CENTRAL_ORGANS: tuple[tuple[str, str, str], ...] = (
    # (code, name, kind)
    ("VPTW", "Văn phòng Trung ương Đảng", "central-office"),
    ("BTCTW", "Ban Tổ chức Trung ương", "central-organ"),
    ("UBKTTW", "Ủy ban Kiểm tra Trung ương", "central-organ"),
    ("BTGDVTW", "Ban Tuyên giáo và Dân vận Trung ương", "central-organ"),
    ("BCSCLTW", "Ban Chính sách, chiến lược Trung ương", "central-organ"),
    ("BNCTW", "Ban Nội chính Trung ương", "central-organ"),
)
# (code suffix, name prefix): departments of a provincial or municipal committee.
PROVINCIAL_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("VP", "Văn phòng"),
    ("BTC", "Ban Tổ chức"),
    ("UBKT", "Ủy ban Kiểm tra"),
    ("BTGDV", "Ban Tuyên giáo và Dân vận"),
    ("BNC", "Ban Nội chính"),
)


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics ("Đặng Thị Hương" → "Dang Thi Huong")."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def login_for(full_name: str) -> str:
    """The customary login: given name then the initials of the other names ("Nguyễn Văn An" → "annv")."""
    words = ascii_fold(full_name).lower().split()
    return words[-1] + "".join(w[0] for w in words[:-1])


def search_keys(full_name: str, uid: str) -> list[str]:
    """An official's ``antinSearchKey`` values: the full name and the login, lower case without diacritics.

    The directory's text search matches them by substring through their one index (docs/directory.md, "Indexes"),
    so a name is found with or without its diacritics and a login by any part of it.
    """
    keys = [" ".join(ascii_fold(full_name).casefold().split()), uid.casefold()]
    return list(dict.fromkeys(k for k in keys if k))
