"""The console's one clock: "now" and "today" are Japan time, whatever the host's clock zone or TZ.

Every other module asks here; nothing reads the host's local time. Tests move this clock with
time-machine (tests/conftest.py), which patches what `datetime.now` returns, so they move it too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

__all__ = ["TOKYO", "UTC", "now", "today"]


def now() -> datetime:
    """The current instant as an aware datetime in Japan time (stored as UTC by UTCDateTime)."""
    return datetime.now(TOKYO)


def today() -> date:
    """Today's date in Japan."""
    return now().date()
