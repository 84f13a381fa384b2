"""The append-only audit trail: who saw or changed what, when, for which customer, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .base import BigId, UTCDateTime


class AuditEvent(db.Model):
    """One audited read or change; the database refuses UPDATE and DELETE on this table."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Copied so the entry stays readable whatever later happens to the staff row.
    staff_email: Mapped[str | None] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40))
    customer_number: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(36))
    client_addr: Mapped[str | None] = mapped_column(String(45))

    staff: Mapped["Staff | None"] = relationship()  # noqa: F821

    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_customer_at", "customer_number", "at"),
        Index("ix_audit_event_staff_at", "staff_id", "at"),
        Index("ix_audit_event_action_at", "action", "at"),
        Index("ix_audit_event_target", "target_type", "target_id"),
    )
