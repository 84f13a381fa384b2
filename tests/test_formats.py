"""Dates as the customer centre writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from console.formats import jdate, jdatetime, wareki_date, wareki_month, yen


def test_japanese_dates():
    assert jdate(date(2026, 11, 23)) == "2026年11月23日"
    # 2026-11-23 15:30 UTC is already the 24th in Tokyo.
    assert jdate(datetime(2026, 11, 23, 15, 30, tzinfo=UTC)) == "2026年11月24日"
    assert jdatetime(datetime(2026, 11, 23, 5, 5, tzinfo=UTC)) == "2026年11月23日 14:05"


def test_wareki():
    assert wareki_month(date(2024, 1, 1)) == "令和6年1月"
    assert wareki_month(date(2023, 12, 15)) == "令和5年12月"
    assert wareki_month(date(2019, 5, 1)) == "令和元年5月"
    assert wareki_month(date(2019, 4, 1)) == "平成31年4月"
    assert wareki_date(date(2019, 4, 30)) == "平成31年4月30日"


def test_yen():
    assert yen(299999) == "299,999円"
