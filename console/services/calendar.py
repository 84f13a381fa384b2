"""Business days and billing months (DESIGN: R8, R10, R11)."""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday

# R11: payments show as paid about 10 business days after the customer paid (Q23).
PAYMENT_REFLECTION_BUSINESS_DAYS = 10
# R10: the portal shows bills from 2024-01 on, at most two years back (Q19).
PORTAL_FIRST_PERIOD = date(2024, 1, 1)
PORTAL_MONTHS = 24
# R15: usage notices up to this month are reissued by the centre (Q36).
LAST_CENTRE_REISSUE_PERIOD = date(2023, 12, 1)


def is_business_day(day: date) -> bool:
    """Weekdays that are neither national holidays nor the year-end break (12/29–1/3)."""
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not ((day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3))


def add_business_days(start: date, days: int) -> date:
    """The business day that is `days` business days after start."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def expected_paid_date(paid_on: date) -> date:
    """When a payment made on paid_on should show as paid (R11)."""
    return add_business_days(paid_on, PAYMENT_REFLECTION_BUSINESS_DAYS)


def month_start(day: date) -> date:
    """The first day of day's month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after day's month (negative goes back)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def portal_shows(period: date, today: date) -> bool:
    """Whether the portal shows the bill of this month (R10): 2024-01 on, the last 24 months."""
    oldest = max(PORTAL_FIRST_PERIOD, add_months(today, -(PORTAL_MONTHS - 1)))
    return oldest <= period <= month_start(today)


def paper_notices_resume(withdrawn_on: date, meter_reading_day: int) -> date:
    """First month whose usage notice goes on paper again after a withdrawal (R8).

    Withdrawn before that month's reading day → this month; on or after it → next month.
    """
    if withdrawn_on.day < meter_reading_day:
        return month_start(withdrawn_on)
    return add_months(withdrawn_on, 1)
