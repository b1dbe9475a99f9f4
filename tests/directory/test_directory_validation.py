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
