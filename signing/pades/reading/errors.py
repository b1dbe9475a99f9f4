"""Errors of the verifier: each names why the input cannot be verified at all (exit status 2, HTTP 4xx)."""

from __future__ import annotations

from typing import Literal

__all__ = ["UnusableInputError", "UnusableReason", "ValidationError"]

UnusableReason = Literal["empty", "too-large", "not-pdf", "truncated", "encrypted", "unreadable", "decode-limit"]

# What each reason means to the person who gave us the file (Vietnamese first, then English).
MESSAGES: dict[str, tuple[str, str]] = {
    "empty": ("Tệp trống.", "The file is empty."),
    "too-large": ("Tệp quá lớn.", "The file is too large."),
    "not-pdf": ("Tệp không phải là PDF hợp lệ.", "The file is not a valid PDF."),
    "truncated": ("Tệp PDF bị cắt cụt hoặc không đầy đủ.", "The PDF file is truncated or incomplete."),
    "encrypted": (
        "Tệp PDF được mã hoá; hãy gửi bản không mã hoá.",
        "The PDF is encrypted; send an unencrypted copy.",
    ),
    "unreadable": ("Không đọc được cấu trúc tệp PDF.", "The PDF's structure cannot be read."),
    "decode-limit": (
        "Dữ liệu nén trong tệp PDF giải ra lớn bất thường so với kích thước tệp; tệp không được kiểm tra.",
        "The PDF's compressed data expands far beyond what its size explains; it was not verified.",
    ),
}


class ValidationError(Exception):
    """Base class of the verifier's errors."""


class UnusableInputError(ValidationError):
    """The input cannot be verified: it is empty, too large, not a PDF, truncated, encrypted or unreadable."""

    def __init__(self, reason: UnusableReason, detail: str = "") -> None:
        self.reason: UnusableReason = reason
        self.detail = detail
        vi, en = MESSAGES[reason]
        self.message_vi = vi
        self.message_en = en
        super().__init__(f"{en} {detail}".strip())
