"""Report parameters: parsed from the form into plain JSON values, checked with Japanese messages."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .. import normalise
from ..clock import TOKYO
from ..services import DomainError

MAX_PERIOD_DAYS = 731
# The years a report can be about (the database holds nothing outside them).
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass(frozen=True)
class Param:
    """One form field of a report: name, Japanese label, kind (date, month, staff, customer_number)."""

    name: str
    label: str
    kind: str
    required: bool = True


def _date(raw: str, label: str) -> date:
    try:
        value = date.fromisoformat(unicodedata.normalize("NFKC", raw).strip())
    except ValueError:
        raise DomainError(f"{label}は 2026-10-01 の形式で入力してください。") from None
    _check_year(value.year, label)
    return value


def _check_year(year: int, label: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(f"{label}は{FIRST_YEAR}年から{LAST_YEAR}年までの範囲で入力してください。")


def _month(raw: str, label: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip().replace("/", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise DomainError(f"{label}は 2026-10 の形式で入力してください。")
    _check_year(int(match.group(1)), label)
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


def _ward(raw: str, label: str) -> str:
    from ..wards import WARD_CODES_BY_NAME, WARDS

    text = unicodedata.normalize("NFKC", raw).strip()
    if text in WARDS:
        return text
    code = WARD_CODES_BY_NAME.get(text) or WARD_CODES_BY_NAME.get(text + "区")
    if code is None:
        raise DomainError(f"{label}は大阪市の区の名前（例: 北区）か区コード（例: 27127）で入力してください。")
    return code


def parse(spec: list[Param], form) -> dict:
    """Form values → canonical parameters (ISO strings), or DomainError naming the bad field."""
    values: dict = {}
    for param in spec:
        raw = (form.get(param.name) or "").strip()
        if not raw:
            if param.required:
                raise DomainError(f"{param.label}を入力してください。")
            continue
        if param.kind == "date":
            values[param.name] = _date(raw, param.label).isoformat()
        elif param.kind == "month":
            values[param.name] = _month(raw, param.label)
        elif param.kind == "customer_number":
            number = normalise.customer_number(raw)
            if number is None:
                raise DomainError(f"{param.label}は英字1文字と数字9桁で入力してください（例: K012345678）。")
            values[param.name] = number
        elif param.kind == "staff":
            email = normalise.email_key(raw)
            if "@" not in email:
                raise DomainError(f"{param.label}は職員のメールアドレスで入力してください。")
            values[param.name] = email
        elif param.kind == "ward":
            values[param.name] = _ward(raw, param.label)
        else:  # pragma: no cover - a programming error, not user input
            raise ValueError(param.kind)
    _check_order(values, "start", "end", "開始日", "終了日")
    _check_order(values, "month_from", "month_to", "開始月", "終了月")
    if "start" in values and "end" in values:
        days = (date.fromisoformat(values["end"]) - date.fromisoformat(values["start"])).days
        if days > MAX_PERIOD_DAYS:
            raise DomainError("期間は2年以内で指定してください。")
    return values


def _check_order(values: dict, first: str, last: str, first_label: str, last_label: str) -> None:
    if first in values and last in values and values[first] > values[last]:
        raise DomainError(f"{first_label}は{last_label}以前の日付にしてください。")


def canonical(params: dict) -> str:
    """The parameters as one stable string (sorted keys), for run keys and audit entries."""
    return json.dumps(params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def day_bounds(params: dict) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Japan time, as aware UTC datetimes."""
    start = date.fromisoformat(params["start"])
    end = date.fromisoformat(params["end"]) + timedelta(days=1)
    return (
        datetime.combine(start, time(), TOKYO).astimezone(UTC),
        datetime.combine(end, time(), TOKYO).astimezone(UTC),
    )


def month_first(value: str) -> date:
    """'2026-10' → date(2026, 10, 1)."""
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def previous_month(today: date) -> tuple[date, date]:
    """First and last day of the month before today's."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last
