"""The append-only audit trail: who saw or changed what, when, for which customer, and why."""

from __future__ import annotations

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import BigPk, StaffId, Timestamp


class AuditEvent(db.Model):
    """One audited read or change; the database refuses UPDATE and DELETE on this table."""

    __tablename__ = "audit_event"

    id: Mapped[BigPk]
    at: Mapped[Timestamp]
    staff_id: Mapped[StaffId | None]
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

    @property
    def actor_name(self) -> str | None:
        """Who acted, by name as every page shows staff (the e-mail copy if the name is unknown); None: the system."""
        if self.staff is not None:
            return self.staff.name or self.staff.email
        return self.staff_email

    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_customer_at", "customer_number", "at"),
        Index("ix_audit_event_staff_at", "staff_id", "at"),
        Index("ix_audit_event_action_at", "action", "at"),
        # "Who viewed" on the customer view (services/customer._audit_rows): newest first per target.
        Index("ix_audit_event_target_at", "target_type", "target_id", "at"),
    )


def not_an_audit_partition(name, type_, _parent_names) -> bool:
    """Alembic's include_name: the audit trail's monthly partitions (PostgreSQL, made at run time by
    services/audit_partitions) and their indexes are not in the models; the partitioned table is."""
    if type_ == "table":
        return not (name or "").startswith("audit_event_")
    return True
