"""Write the answers nginx gives itself (docs/production/errors/): problem+json for applications, a page for browsers.

nginx answers on its own when no instance can (both down: 502; none answered within ``proxy_read_timeout``: 504) and
when it refuses a request before any instance sees it (a body over ``client_max_body_size``: 413; a malformed
request or a header over its buffers: 400; an address over them: 414). Its stock answers are HTML saying
"nginx": an application calling /token or the signing API could not read them. docs/production/nginx.conf serves
these files instead with ``error_page`` (SSI fills in nginx's request id), choosing the JSON or the page as
antin/kernel/overload.py does: a page only for a browser (``Accept`` names text/html) outside /api/.

python -m scripts.nginx_error_pages --write   # rewrite the files (tests/antin/test_nginx_errors.py checks them)
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

from antin.kernel.errors import ERROR_STYLE

__all__ = ["ANSWERS", "ERRORS", "ProxyAnswer", "files"]

ERRORS = Path(__file__).resolve().parent.parent / "docs" / "production" / "errors"
REQUEST_ID = "<!--# echo var='request_id' -->"  # nginx's SSI: the id it sends the instances as X-Request-ID
NOT_PROCESSED = "No instance of the service saw it: it was not processed."


@dataclass(frozen=True)
class ProxyAnswer:
    """One of nginx's own answers: its problem for applications, its page's words for a person."""

    status: int
    type: str
    title: str
    detail: str
    vi: tuple[str, str] | None = None  # the page's heading and sentence, Vietnamese (shown first); None: no page
    en: tuple[str, str] | None = None


UNAVAILABLE = "urn:antin:unavailable"
ANSWERS = (
    ProxyAnswer(
        400,
        "about:blank",
        "Bad Request",
        "The proxy could not read this request (malformed, or a header line or cookie larger than it accepts). "
        + NOT_PROCESSED,
        (
            "Yêu cầu không hợp lệ",
            "Hệ thống không đọc được yêu cầu trình duyệt vừa gửi nên chưa xử lý. Hãy tải lại trang rồi thử lại;"
            " nếu lỗi lặp lại, hãy xoá cookie của trang này.",
        ),
        (
            "Bad request",
            "The service could not read the request your browser sent and did not process it. Reload the page and"
            " try again; if it happens again, clear this site's cookies.",
        ),
    ),
    ProxyAnswer(
        413,
        "urn:antin:problem:request-too-large",  # the signing API's own type for a body over its limit
        "Request too large",
        "The request's body is larger than the service accepts. " + NOT_PROCESSED,
        ("Tệp quá lớn", "Tệp tải lên vượt quá dung lượng cho phép nên chưa được xử lý."),
        ("File too large", "The uploaded file is larger than allowed and was not processed."),
    ),
    ProxyAnswer(
        414,
        "about:blank",
        "URI Too Long",
        # nginx refuses the request line before it reads a header (Accept): never a page
        "The request's address is longer than the service accepts. " + NOT_PROCESSED,
    ),
    ProxyAnswer(
        502,
        UNAVAILABLE,
        "Service unavailable",
        "No instance of the service answered: none could be reached, or the connection to one broke before it"
        " answered. A request that reached none was not processed; one whose connection broke may have been (an"
        " authorization code or refresh token sent with it may be spent). Try again after Retry-After.",
        (
            "Hệ thống tạm thời không phản hồi",
            "Yêu cầu của bạn chưa được xử lý. Vui lòng thử lại sau ít phút; nếu bạn vừa gửi một biểu mẫu (ví dụ"
            " ký một văn bản), hãy kiểm tra kết quả trước khi gửi lại.",
        ),
        (
            "The service is not responding",
            "Your request was not processed. Please try again in a few minutes; if you had just sent a form"
            " (signing a document, for instance), check whether it was done before sending it again.",
        ),
    ),
    ProxyAnswer(
        504,
        UNAVAILABLE,
        "Service unavailable",
        "No instance of the service answered in time. The request may have been processed (an authorization code"
        " or refresh token sent with it may be spent): check before repeating an action that must not happen twice.",
        (
            "Hệ thống tạm thời không phản hồi",
            "Hệ thống không trả lời kịp yêu cầu của bạn; yêu cầu có thể đã được xử lý. Hãy kiểm tra kết quả (ví"
            " dụ văn bản đã được ký chưa) trước khi thử lại.",
        ),
        (
            "The service is not responding",
            "The service did not answer your request in time; it may have been done. Check the result (whether the"
            " document was signed, for instance) before trying again.",
        ),
    ),
)

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} · Ấn Tín</title>
<style>{style}</style></head>
<body><h1 id="error-title">{vi_title}</h1><p id="error-detail">{vi_detail}</p>
<div lang="en"><h1>{en_title}</h1><p>{en_detail}</p></div>
<p><a id="error-home" href="/">Về trang chủ · Back to the home page</a></p>
<p><small>Mã yêu cầu · Request id: <code>{request_id}</code></small></p>
</body></html>
"""


def problem(answer: ProxyAnswer) -> str:
    body = {
        "type": answer.type,
        "title": answer.title,
        "status": answer.status,
        "detail": answer.detail,
        "request_id": REQUEST_ID,
    }
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"


def page(answer: ProxyAnswer) -> str:
    assert answer.vi is not None and answer.en is not None
    return PAGE.format(
        status=answer.status,
        style=ERROR_STYLE,  # the app's error page's (the CSP nginx sends allows exactly this style)
        vi_title=escape(answer.vi[0]),
        vi_detail=escape(answer.vi[1]),
        en_title=escape(answer.en[0]),
        en_detail=escape(answer.en[1]),
        request_id=REQUEST_ID,
    )


def files() -> dict[str, str]:
    """Each file's name and text."""
    written: dict[str, str] = {}
    for answer in ANSWERS:
        written[f"{answer.status}.json"] = problem(answer)
        if answer.vi is not None:
            written[f"{answer.status}.html"] = page(answer)
    return written


def main() -> None:
    if "--write" not in sys.argv:
        for name, text in files().items():
            print(f"== {name}\n{text}")
        return
    ERRORS.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (ERRORS / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
