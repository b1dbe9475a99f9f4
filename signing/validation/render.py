"""Reports for people: an HTML page, a PDF and terminal text, Vietnamese first, then English.

Each verdict gets a colour (green, amber, red), a short title and a sentence a non-technical official can act
on; the technical details follow.
"""

from __future__ import annotations

import functools
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from signing.pades.report_pdf import ReportLine, write_report_pdf
from signing.validation.models import DocumentReport, Indication, SignatureReport

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["VERDICTS", "render_html", "render_pdf", "render_text", "verdict"]

VIETNAM = timezone(timedelta(hours=7), "ICT")

VERDICTS: dict[str, dict[str, str]] = {
    "TOTAL_PASSED": {
        "colour": "green",
        "vi": "HỢP LỆ",
        "en": "VALID",
        "meaning_vi": "Chữ ký hợp lệ: tài liệu không bị thay đổi kể từ khi ký và người ký đã được xác thực.",
        "meaning_en": "The signature is valid: the document is unchanged since signing and the signer is verified.",
    },
    "INDETERMINATE": {
        "colour": "amber",
        "vi": "CHƯA XÁC ĐỊNH",
        "en": "INDETERMINATE",
        "meaning_vi": "Chưa thể khẳng định chữ ký hợp lệ. Không dùng tài liệu này cho đến khi làm rõ lý do bên dưới.",
        "meaning_en": "The signature cannot be confirmed. Do not rely on the document until the reason below is "
        "resolved.",
    },
    "TOTAL_FAILED": {
        "colour": "red",
        "vi": "KHÔNG HỢP LỆ",
        "en": "INVALID",
        "meaning_vi": "Chữ ký không hợp lệ: tài liệu đã bị thay đổi hoặc chữ ký không đúng. "
        "Không tin cậy tài liệu này.",
        "meaning_en": "The signature is invalid: the document was altered or the signature is wrong. Do not trust "
        "this document.",
    },
    "NO_SIGNATURE": {
        "colour": "red",
        "vi": "KHÔNG CÓ CHỮ KÝ",
        "en": "NO SIGNATURE",
        "meaning_vi": "Tài liệu không có chữ ký số nào.",
        "meaning_en": "The document carries no digital signature.",
    },
}

SUB_INDICATIONS_VI: dict[str, str] = {
    "NO_CERTIFICATE_CHAIN_FOUND": "Chứng thư của người ký không thuộc danh sách tin cậy.",
    "TRY_LATER": "Không có thông tin thu hồi (CRL/OCSP) cho chứng thư; chưa thể kiểm tra.",
    "REVOKED_NO_POE": "Chứng thư của người ký đã bị thu hồi và không có dấu thời gian chứng minh ký trước đó.",
    "REVOKED": "Chứng thư của người ký đã bị thu hồi trước thời điểm ký.",
    "OUT_OF_BOUNDS_NO_POE": "Chứng thư của người ký đã hết hạn và không có dấu thời gian chứng minh ký trước đó.",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "Thuật toán hoặc độ dài khoá không còn được chấp nhận (ví dụ SHA-1).",
    "CRYPTO_CONSTRAINTS_FAILURE": "Thuật toán hoặc độ dài khoá không được chấp nhận.",
    "CHAIN_CONSTRAINTS_FAILURE": "Chuỗi chứng thư không đáp ứng yêu cầu kiểm tra.",
    "SIG_CONSTRAINTS_FAILURE": "Tài liệu có thay đổi sau khi ký chưa được xác minh.",
    "FORMAT_FAILURE": "Chữ ký hoặc tài liệu sai cấu trúc, hoặc nội dung đã bị sửa sau khi ký.",
    "HASH_FAILURE": "Nội dung đã ký đã bị thay đổi.",
    "SIG_CRYPTO_FAILURE": "Giá trị chữ ký không khớp với khoá của người ký.",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "Không kiểm tra được chuỗi chứng thư.",
}

KIND_VI = {"signature": "Chữ ký", "document-timestamp": "Dấu thời gian tài liệu"}


def verdict(indication: Indication | str) -> dict[str, str]:
    return VERDICTS[str(indication)]


def vn_time(moment: datetime | None) -> str:
    """A time as officials read it: Vietnam time (UTC+7)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S (UTC+7)")


def iso_time(value: str | None) -> str:
    return vn_time(datetime.fromisoformat(value) if value else None)


@functools.cache
def _environment() -> Environment:
    # built on first use: `antin verify` prints text, and jinja2 is a cost its start-up need not pay
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("signing.validation", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vn_time"] = vn_time
    env.filters["iso_time"] = iso_time
    env.globals.update(verdict=verdict, sub_vi=SUB_INDICATIONS_VI, kind_vi=KIND_VI)
    # A standalone report is a file read with no server behind it: it carries the /verify page's one stylesheet.
    env.globals["stylesheet"] = PackageLoader("signing.validation", "static").get_source(env, "verify.css")[0]
    return env


def render_html(report: DocumentReport, *, standalone: bool = True, extra: dict[str, Any] | None = None) -> str:
    """The report as HTML: a whole page (``standalone``) or the fragment the /verify page embeds."""
    template = _environment().get_template("verify/report.html")
    return template.render(report=report, data=report.as_dict(), standalone=standalone, **(extra or {}))


def _signature_lines(number: int, sig: SignatureReport) -> list[ReportLine]:
    v = verdict(sig.indication)
    lines = [
        ReportLine(""),
        ReportLine(f"{number}. {KIND_VI.get(sig.kind, sig.kind)} / {sig.kind} — “{sig.field_name}”"),
        ReportLine(
            f"   {v['vi']} / {v['en']}  ({sig.indication.value}"
            + (f", {sig.sub_indication})" if sig.sub_indication else ")"),
            band=v["colour"],
        ),
    ]
    for text in (v["meaning_vi"], v["meaning_en"]):
        lines += [ReportLine("   " + t) for t in textwrap.wrap(text, 95)]
    if sig.sub_indication and sig.sub_indication in SUB_INDICATIONS_VI:
        lines.append(ReportLine("   Lý do: " + SUB_INDICATIONS_VI[sig.sub_indication]))
    if sig.signer is not None and sig.kind == "signature":
        holder = (
            "Con dấu của đơn vị / the unit's seal"
            if sig.signer.holder == "seal"
            else "Chữ ký của cá nhân / an official's signature"
        )
        lines.append(ReportLine(f"   Loại chữ ký / Signed as: {holder}"))
    if sig.signer is not None:
        lines += [ReportLine("   " + t) for t in textwrap.wrap(f"Người ký / Signer: {sig.signer.subject}", 95)]
    lines.append(ReportLine(f"   Thời gian ký (tự khai) / Claimed signing time: {vn_time(sig.signing_time)}"))
    lines.append(ReportLine(f"   Thời gian được chứng minh / Time-stamp: {vn_time(sig.timestamp_time)}"))
    anchor = sig.trust_anchor.subject if sig.trust_anchor else "— (không tin cậy / not trusted)"
    lines += [ReportLine("   " + t) for t in textwrap.wrap(f"Gốc tin cậy / Trust anchor: {anchor}", 95)]
    lines.append(
        ReportLine(f"   Cấp độ / PAdES level: {sig.level or '—'}   Thu hồi / Revocation: {sig.revocation['status']}")
    )
    cov = sig.coverage
    lines.append(
        ReportLine(
            f"   Toàn vẹn / Integrity: intact={sig.integrity['intact']}, "
            f"{sig.integrity['digest_algorithm']}; ByteRange {cov['byte_range']}; "
            f"whole file={cov['whole_file']}"
        )
    )
    for mod in sig.modifications:
        text = f"   • rev {mod['revision']} [{mod['severity']}] {mod['description_vi']} / {mod['description']}"
        lines += [ReportLine(t) for t in textwrap.wrap(text, 100, subsequent_indent="     ")]
    for err in sig.errors:
        lines += [ReportLine(t) for t in textwrap.wrap("   × " + err, 100, subsequent_indent="     ")]
    for warn in sig.warnings:
        lines += [ReportLine(t) for t in textwrap.wrap("   ! " + warn, 100, subsequent_indent="     ")]
    return lines


def report_lines(report: DocumentReport) -> list[ReportLine]:
    v = verdict(report.indication)
    lines = [
        ReportLine("ẤN TÍN — BÁO CÁO KIỂM TRA CHỮ KÝ SỐ / SIGNATURE VERIFICATION REPORT"),
        ReportLine(""),
        ReportLine(f"Tệp / File: {report.file_name} ({report.file_size} bytes)"),
        ReportLine(f"SHA-256: {report.sha256}"),
        ReportLine(f"Thời điểm kiểm tra / Verified at: {vn_time(report.validation_time)}"),
        ReportLine(
            f"Kết luận / Verdict: {v['vi']} / {v['en']} ({report.indication.value}"
            + (f", {report.sub_indication})" if report.sub_indication else ")"),
            band=v["colour"],
        ),
    ]
    for number, sig in enumerate(report.signatures, start=1):
        lines += _signature_lines(number, sig)
    for warn in report.warnings:
        lines += [ReportLine(t) for t in textwrap.wrap("! " + warn, 100)]
    lines.append(ReportLine(""))
    lines.append(
        ReportLine("Chính sách / Policy: ETSI EN 319 102-1, revocation hard-fail, SHA-1/MD5 and RSA < 2048 rejected.")
    )
    return lines


def render_pdf(report: DocumentReport) -> bytes:
    return write_report_pdf(report_lines(report), title=f"Báo cáo kiểm tra chữ ký — {report.file_name}")


def render_text(report: DocumentReport) -> str:
    return "\n".join(line.text for line in report_lines(report)) + "\n"


def register_jinja(app: Any) -> None:
    """Make the report template's helpers available to the app's templates (the /verify page)."""
    app.jinja_env.filters["vn_time"] = vn_time
    app.jinja_env.filters["iso_time"] = iso_time
    app.jinja_env.globals.update(verdict=verdict, sub_vi=SUB_INDICATIONS_VI, kind_vi=KIND_VI)
