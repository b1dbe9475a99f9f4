"""The error model: RFC 9457 problem details for APIs, a plain page for browsers in their language
(Vietnamese first, English second), never a stack trace.

Raise :class:`ProblemError` from a view to answer with a given status and message; anything unexpected becomes a
500 whose body says only that something failed and quotes the request id that the log line carries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from jinja2 import Template
from sqlalchemy.exc import InternalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.audit.service import AuditWriteError
from antin.kernel.csp import allowing_style
from antin.kernel.database import DATABASE_UNAVAILABLE, written_on_a_standby
from antin.kernel.i18n import DEFAULT_LOCALE, current_language

__all__ = ["PROBLEM_JSON", "ProblemError", "init_app", "problem_response", "wants_json"]

log = logging.getLogger("antin.errors")
PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """An error to show the client: an HTTP status, a short title, a human detail and extra members."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "about:blank",
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """``headers`` go on the response as they are (``Retry-After``, ``WWW-Authenticate``)."""
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{status} {title}: {detail}")


def problem_response(
    status: int, title: str, detail: str = "", *, type_: str = "about:blank", **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def wants_json() -> bool:
    """API paths and clients that prefer JSON get problem+json; browsers get a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return best in ("application/json", PROBLEM_JSON)


ERROR_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222;"
    "line-height:1.5}h1{font-size:1.4rem;color:#a50e0e}small{color:#555}code{overflow-wrap:anywhere}"
)


ERROR_PAGE_CSP = allowing_style(ERROR_STYLE)  # the strict CSP (style-src 'self') would block it
ERROR_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} · Ấn Tín</title>
<style>{{ style }}</style></head>
<body><h1 id="error-title">{{ title }}</h1><p id="error-detail">{{ detail }}</p>
{% if technical %}<p><small>{{ words.technical }}</small> <code lang="en">{{ technical }}</code></p>{% endif %}
<p><a id="error-home" href="/">{{ words.home }}</a></p>
{% if request_id %}<p><small>{{ words.request_id }} <code>{{ request_id }}</code></small></p>{% endif %}
</body></html>"""

VIETNAMESE_TITLES = {
    400: ("Yêu cầu không hợp lệ", "Vui lòng kiểm tra lại thông tin đã gửi."),
    401: ("Cần xác thực", "Yêu cầu này cần thông tin xác thực hợp lệ."),
    403: ("Không có quyền truy cập", "Tài khoản của bạn không được phép thực hiện thao tác này."),
    404: ("Không tìm thấy trang", "Địa chỉ bạn truy cập không tồn tại."),
    405: ("Phương thức không được hỗ trợ", "Thao tác này không được hỗ trợ tại địa chỉ này."),
    413: ("Tệp quá lớn", "Tệp tải lên vượt quá dung lượng cho phép."),
    429: ("Quá nhiều yêu cầu", "Vui lòng thử lại sau ít phút."),
    500: ("Đã xảy ra lỗi", "Hệ thống gặp sự cố. Vui lòng thử lại sau; nếu lỗi lặp lại, hãy báo mã yêu cầu bên dưới."),
    503: ("Dịch vụ tạm thời không sẵn sàng", "Vui lòng thử lại sau ít phút."),
}
# English for a person: werkzeug's stock descriptions speak of "the server" and "the URL"
ENGLISH_TITLES = {
    400: ("Bad request", "Please check what you sent and try again."),
    401: ("Authentication needed", "This request needs valid credentials."),
    403: ("Access denied", "Your account is not allowed to do this."),
    404: ("Page not found", "The address you opened does not exist."),
    405: ("Not supported here", "This action is not supported at this address."),
    413: ("File too large", "The uploaded file is larger than allowed."),
    429: ("Too many requests", "Please try again in a few minutes."),
    500: (
        "Something went wrong",
        "The system ran into a problem. Please try again later; if it happens again, report the request id below.",
    ),
    503: ("Service temporarily unavailable", "Please try again in a few minutes."),
}
# problems a person meets in a browser whose own sentence says what to do, by their problem type
PROBLEM_PAGES = {
    "urn:antin:csrf": {
        "vi": (
            "Biểu mẫu đã hết hạn",
            "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này. Hãy tải lại trang rồi thử lại.",
        ),
        "en": (
            "The form has expired",
            "The form has expired or did not come from this site. Reload the page and try again.",
        ),
    },
    "urn:antin:overloaded": {
        "vi": (
            "Hệ thống đang quá tải",
            "Hệ thống đang phục vụ nhiều yêu cầu hơn khả năng lúc này nên chưa xử lý yêu cầu của bạn."
            " Vui lòng thử lại sau vài giây.",
        ),
        "en": (
            "The service is busy",
            "The service is answering more requests than it can right now and did not process yours."
            " Please try again in a few seconds.",
        ),
    },
}
PAGE_WORDS = {
    "vi": {"home": "Về trang chủ", "request_id": "Mã yêu cầu:", "technical": "Chi tiết kỹ thuật:"},
    "en": {"home": "Back to the home page", "request_id": "Request id:", "technical": "Technical detail:"},
}


def error_response(status: int, title: str, detail: str = "", *, stock: bool = False, **extra: Any) -> Response:
    """``stock``: ``detail`` is werkzeug's generic description, which the page's own sentence replaces."""
    if wants_json():
        return problem_response(status, title, detail, **extra)
    lang = current_language() if "babel" in current_app.extensions else DEFAULT_LOCALE
    own = PROBLEM_PAGES.get(str(extra.get("type", "")), {}).get(lang)
    known = own or (VIETNAMESE_TITLES if lang == "vi" else ENGLISH_TITLES).get(status)
    stock = stock or own is not None
    page_title, page_detail = known or (title, detail)
    html = error_page_template().render(
        lang=lang,
        style=ERROR_STYLE,
        status=status,
        title=page_title,
        detail=page_detail,
        technical="" if stock or known is None or not detail else f"{title}: {detail}",
        words=PAGE_WORDS[lang if lang in PAGE_WORDS else DEFAULT_LOCALE],
        request_id=getattr(g, "request_id", None),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = ERROR_PAGE_CSP
    return response


def error_page_template() -> Template:
    """The error page compiled once per app (render_template_string compiled it at every error: 2.3 ms of CPU, ten
    times the rest of a refusal, which matters when an overloaded instance refuses many)."""
    template: Template | None = current_app.extensions.get("antin.error_page")
    if template is None:
        template = current_app.extensions["antin.error_page"] = current_app.jinja_env.from_string(ERROR_PAGE)
    return template


def handle_problem(err: ProblemError) -> Response:
    response = error_response(err.status, err.title, err.detail, **({"type": err.type} | err.extra))
    response.headers.update(err.headers)
    return response


def handle_http_exception(err: HTTPException) -> BaseResponse:
    if err.code is None:  # a RoutingException such as a redirect: let werkzeug answer
        return err.get_response()
    stock = err.description == type(err).description  # werkzeug's words, not a view's own
    response = error_response(err.code, err.name, err.description or "", stock=stock)
    if err.code == 405 and getattr(err, "valid_methods", None):
        response.headers["Allow"] = ", ".join(err.valid_methods)  # type: ignore[attr-defined]
    return response


DATABASE_RETRY_AFTER = "5"  # seconds: a restart or a promoted standby takes about that (docs/production.md)


def handle_database_unavailable(err: SQLAlchemyError) -> Response:
    """The database cannot be reached (restarting, failing over, its pool exhausted): a clear 503 that says when to
    try again, never a 500. Logged as one line: an outage would otherwise fill the log with tracebacks."""
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        type(getattr(err, "orig", None) or err).__name__,
    )
    response = error_response(503, "Service Unavailable", "the database cannot be reached right now; try again shortly")
    response.headers["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def handle_internal_database_error(err: InternalError) -> Response:
    """A standby refusing a write is the database unavailable for writes (a 503, never a 500); other internal
    errors of the server stay 500s."""
    if written_on_a_standby(err):
        log.warning(
            "the database refused a write as read-only (a standby?): ANTIN_DATABASE_URL should list every "
            "server with target_session_attrs=read-write (docs/production.md)"
        )
        return handle_database_unavailable(err)
    return handle_unexpected(err)


def handle_audit_write_error(err: Exception) -> Response:
    """An audit entry that could not be written: the database away is a 503 like any other of its outages (the
    action it records is then not answered as done); anything else is a 500."""
    if isinstance(err.__cause__, DATABASE_UNAVAILABLE) or written_on_a_standby(err.__cause__):
        assert isinstance(err.__cause__, SQLAlchemyError)
        return handle_database_unavailable(err.__cause__)
    return handle_unexpected(err)


def handle_unexpected(err: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Internal Server Error", "something went wrong on our side")


def init_app(app: Flask) -> None:
    app.register_error_handler(ProblemError, handle_problem)
    app.register_error_handler(HTTPException, handle_http_exception)
    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, handle_database_unavailable)
    app.register_error_handler(InternalError, handle_internal_database_error)
    app.register_error_handler(AuditWriteError, handle_audit_write_error)
    app.register_error_handler(Exception, handle_unexpected)
