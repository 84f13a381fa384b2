"""Dates and amounts as the customer centre writes them: 2026年11月23日, 令和6年1月, 1,234円."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from .clock import TOKYO

# (first day, era name); newest first.
ERAS = [(date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和")]


def to_tokyo(value: datetime) -> datetime:
    """An aware datetime converted to Japan time."""
    return value.astimezone(TOKYO)


def jdate(value: date | datetime | None) -> str:
    """2026年11月23日 (a datetime is converted to Japan time first)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_tokyo(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def jdatetime(value: datetime | None) -> str:
    """2026年11月23日 14:05, in Japan time."""
    if value is None:
        return ""
    local = to_tokyo(value)
    return f"{jdate(local)} {local:%H:%M}"


def wareki_year(value: date) -> tuple[str, int]:
    """The era name and the year within it."""
    for start, name in ERAS:
        if value >= start:
            return name, value.year - start.year + 1
    raise ValueError(f"date before 昭和: {value}")


def _era_year_text(era: str, year: int) -> str:
    return f"{era}{'元' if year == 1 else year}年"


def wareki_month(value: date | None) -> str:
    """令和6年1月 (the era of the month's first day; 令和元年5月 for 2019-05)."""
    if value is None:
        return ""
    era, year = wareki_year(date(value.year, value.month, 1))
    return f"{_era_year_text(era, year)}{value.month}月"


def wareki_date(value: date | None) -> str:
    """令和6年1月15日."""
    if value is None:
        return ""
    era, year = wareki_year(value)
    return f"{_era_year_text(era, year)}{value.month}月{value.day}日"


# 令和5年12月, R5.12, 平成31年4月, 令和元年5月 (after NFKC, so full-width digits are plain).
_WAREKI_MONTH_RE = re.compile(r"^(令和|平成|昭和|[RHS])\s*(元|\d{1,2})\s*(?:年|[./\-])\s*(\d{1,2})\s*月?(?:分)?$", re.I)
# 2023-12, 2023/12, 2023.12, 2023年12月, 202312.
_WESTERN_MONTH_RE = re.compile(r"^(\d{4})\s*(?:年|[./\-])?\s*(\d{1,2})\s*月?(?:分)?$")
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和"}


def parse_month(text: str | None) -> date | None:
    """The first day of a month written as staff type it (令和5年12月, R5.12, 2023-12, ２０２３年１２月); None if unreadable."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    match = _WAREKI_MONTH_RE.match(value)
    if match:
        era = _ERA_LETTERS.get(match.group(1).upper(), match.group(1))
        start = next(first for first, name in ERAS if name == era)
        year = start.year + (1 if match.group(2) == "元" else int(match.group(2))) - 1
        month = int(match.group(3))
    else:
        match = _WESTERN_MONTH_RE.match(value)
        if not match:
            return None
        year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def yen(amount: int | None) -> str:
    """1,234円."""
    return "" if amount is None else f"{amount:,}円"


def number(count: int | None) -> str:
    """1,234 (a count; "" for None)."""
    return "" if count is None else f"{count:,}"
