"""The text check every imported or typed value goes through (no real component: pure functions)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from directory.errors import InvalidInputError
from directory.validation import check_text


def test_every_control_character_is_refused_wherever_it_is() -> None:
    controls = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
    assert len(controls) == 65
    for ch in controls:
        for value in (f"Nguyễn{ch}Văn An", f"{ch}An", f"An{ch}"):
            with pytest.raises(InvalidInputError) as err:
                check_text("full_name", value)
            assert "NUL" in err.value.reason or "control characters" in err.value.reason


@pytest.mark.parametrize(
    "value",
    ["Nguyễn Văn An", "Đặng\u00a0Thị Bé", "Lò Văn Pả\u200b", "Hà Nội (Tỉnh ủy) — 2025", "Ngô\u2028Quyền"],
)
def test_other_characters_are_kept(value: str) -> None:
    assert check_text("full_name", value) == unicodedata.normalize("NFC", value).strip()


def test_a_login_with_an_ascii_control_character_is_never_plausible_and_others_are() -> None:
    from directory.service.base import plausible_login

    for code in (*range(32), 127):
        assert not plausible_login(f"nguyen{chr(code)}van"), code
    for text in ("nguyenvan", "nguyễn.văn@đảng.vn", "a\x80b", "  padded  ", "x" * 256):
        assert plausible_login(text), text
    for text in ("", "   ", "x" * 257, None, 7):
        assert not plausible_login(text), text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("mail", " ", ""),
        ("mail", None, None),
        ("mail", "An@Example.VN", "an@example.vn"),
        ("position", "  Chuyên viên ", "Chuyên viên"),
        ("employee_number", "NV-001", "NV-001"),
        ("phone", "+84 912 345 678", "+84 912 345 678"),
    ],
)
def test_optional_fields_are_checked_by_their_own_rule(field: str, value: str | None, expected: str | None) -> None:
    from directory.validation import check_optional

    assert check_optional(field, value) == expected


@pytest.mark.parametrize(
    ("field", "value"), [("mail", "no-at-sign"), ("phone", "call me"), ("party_card_number", "#1")]
)
def test_a_bad_optional_field_is_refused_by_name(field: str, value: str) -> None:
    from directory.validation import check_optional

    with pytest.raises(InvalidInputError) as caught:
        check_optional(field, value)
    assert caught.value.field == field
