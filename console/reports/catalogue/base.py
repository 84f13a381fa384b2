"""What every report shares: the Report class, streamed queries, Japan-time and elapsed-time helpers.

Each report reads the models with one streamed query (server-side cursor on PostgreSQL through
yield_per) and maps rows to plain values on the way; what the charts need is counted as the rows
pass, so memory stays bounded by the size of the summaries (days × wards), not by the rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ...clock import TOKYO
from ...extensions import db
from ..excel import Col, SummarySheet, period_text
from ..params import Param, day_bounds

YIELD_PER = 2000

PERIOD = [Param("start", "開始日", "date"), Param("end", "終了日", "date")]

# Columns several reports show, declared once so they read (and are as wide) the same everywhere.
WARD = Col("区", width=10)
CUSTOMER_NUMBER = Col("お客さま番号", width=13)
REQUEST_NUMBER = Col("受付番号", "int")
RECEIVED_AT = Col("受付日時", "datetime")
STATUS = Col("状態", width=9)
DECIDED_AT = Col("決定日時", "datetime")
AT = Col("日時", "datetime")
STAFF = Col("職員", width=26)
REASON = Col("理由", width=30)
# A request taken at the desk: its number, when, whose contract, where.
REQUEST_COLUMNS = [REQUEST_NUMBER, RECEIVED_AT, CUSTOMER_NUMBER, WARD]


def stream(statement) -> Iterator:
    """Rows of a select, fetched in batches through a server-side cursor where the database has one."""
    yield from db.session.execute(statement.execution_options(yield_per=YIELD_PER))


def local(value: datetime | None) -> datetime | None:
    """An aware UTC datetime as aware Japan time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TOKYO)


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed hours, one decimal."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 1)


def days_between(start: datetime | None, end: datetime) -> int | None:
    """Whole days elapsed."""
    if start is None:
        return None
    return (end - start).days


class Report(ABC):
    """A report: parameters in, streamed rows and summary sheets out (each report defines rows())."""

    key: str = ""
    title: str = ""
    description: str = ""
    sheet_title: str = ""
    # Reports showing customer numbers or names; the catalogue and the audit entry say so.
    personal_data: bool = False
    # Built for the previous month on the schedule (jobs/reports.py).
    monthly: bool = True
    params: list[Param] = PERIOD
    columns: list[Col] = []

    def __init__(self, params: dict, made_at: datetime):
        self.values = params
        self.made_at = made_at

    @classmethod
    def monthly_params(cls, first: date, last: date) -> dict:
        """Parameters of the scheduled build covering one month."""
        return {"start": first.isoformat(), "end": last.isoformat()}

    def period(self) -> str:
        """The period for the title row."""
        return period_text(date.fromisoformat(self.values["start"]), date.fromisoformat(self.values["end"]))

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as [from, to) aware UTC datetimes."""
        return day_bounds(self.values)

    def count(self) -> int | None:
        """How many rows rows() will give (None when only the database knows, after the fact)."""
        return None

    @abstractmethod
    def rows(self) -> Iterator[tuple]:
        """The streamed rows, one tuple per row, in column order."""

    def summaries(self) -> list[SummarySheet]:
        """Sheets computed after the rows have gone through."""
        return []

    def file_stem(self) -> str:
        """The download's file name without extension."""
        return f"{self.title}_{'_'.join(str(v) for v in self.values.values())}"


class QueryReport(Report):
    """A report whose rows stream one select: count() counts that select, so each report states only the select."""

    @abstractmethod
    def statement(self):
        """The select behind the rows, in row order."""

    def count(self) -> int:
        """The rows the select will give, counted by the database before the build."""
        statement = self.statement().order_by(None).subquery()
        return db.session.scalar(select(func.count()).select_from(statement))

    def in_period(self, query, column, *order):
        """query limited to the report's period on column, in column order (then by order)."""
        start, end = self.bounds()
        return query.where(column >= start, column < end).order_by(column, *order)
