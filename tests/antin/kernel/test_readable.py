"""What a person reads of a time and of a browser: one day-first format in Vietnam's time, and "Chrome 131 trên
Windows" instead of a user-agent cut mid-word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from antin.kernel.readable import describe_user_agent, local_date, local_time

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def test_a_time_is_the_day_first_in_vietnams_time() -> None:
    late = datetime(2026, 12, 5, 20, 36, 59, tzinfo=UTC)  # already the 6th in Hà Nội
    assert local_time(late) == "06/12/2026 03:36"
    assert local_time(late, seconds=True) == "06/12/2026 03:36:59"
    assert local_date(late) == "06/12/2026"
    assert local_time(datetime(2026, 12, 5, 8, 36)) == "05/12/2026 15:36"  # a naive time (SQLite) is UTC
    assert local_time(None) == local_date(None) == ""


@pytest.mark.parametrize(
    ("user_agent", "vi", "en"),
    [
        (CHROME_WINDOWS, "Chrome 131 trên Windows", "Chrome 131 on Windows"),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox 133 trên Linux",
            "Firefox 133 on Linux",
        ),
        (CHROME_WINDOWS + " Edg/131.0.2903.86", "Edge 131 trên Windows", "Edge 131 on Windows"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/128.0.230"
            " Chrome/122.0.0.0 Safari/537.36",
            "Cốc Cốc 128 trên Windows",
            "Cốc Cốc 128 on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
            " Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari 17 trên iPhone",
            "Safari 17 on iPhone",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1"
            " Safari/605.1.15",
            "Safari 17 trên macOS",
            "Safari 17 on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0"
            " Chrome/121.0.0.0 Mobile Safari/537.36",
            "Samsung Internet 25 trên Android",
            "Samsung Internet 25 on Android",
        ),
        ("curl/8.5.0", "curl 8", "curl 8"),
        ("Mozilla/5.0 (Windows NT 10.0) Lạ", "Trình duyệt khác trên Windows", "Another browser on Windows"),
        ("", "không rõ", "unknown"),
    ],
)
def test_a_browser_is_named_with_its_major_version_and_system(user_agent: str, vi: str, en: str) -> None:
    assert describe_user_agent(user_agent, "vi") == vi
    assert describe_user_agent(user_agent, "en") == en
