"""Runs of the supervisors' Excel reports (issue 8): one row per requested or scheduled build."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import IntPk, StaffId, Timestamp, partial_index, str_enum
from .vocabulary import ReportStatus

ACTIVE_STATUSES = (ReportStatus.QUEUED, ReportStatus.RUNNING)


class ReportRun(db.Model):
    """One build of one report with one set of parameters, and the file it made."""

    __tablename__ = "report_run"

    id: Mapped[IntPk]
    report: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    # Hash of report + parameters: while one run with this key is queued or running, asking
    # again joins it instead of starting a second build (partial unique index below).
    run_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.QUEUED)
    scheduled: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[StaffId | None]
    created_at: Mapped[Timestamp]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    sheet_count: Mapped[int | None]
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped["Staff | None"] = relationship()  # noqa: F821

    __table_args__ = (
        partial_index("uq_report_run_active_key", "run_key", unique=True,
                      where="status IN ('queued', 'running')"),
        Index("ix_report_run_created", "created_at"),
        Index("ix_report_run_key_status", "run_key", "status"),
    )

    @property
    def job_id(self) -> str:
        """The rq job id of this run (deterministic, no ':' as rq 2.1 requires)."""
        return f"report-{self.id}"
