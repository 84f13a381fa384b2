"""Mails to customers and their per-recipient deliveries (recorded so each is sent once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import BigPk, IntPk, StaffId, Timestamp, str_enum
from .vocabulary import DeliveryStatus, NotificationKind


class Notification(db.Model):
    """One message (subject and body) to one or many recipients."""

    __tablename__ = "notification"

    id: Mapped[IntPk]
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    # Deterministic per cause (e.g. "start-accepted:42"): the same cause never makes a second mail.
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    customer_number: Mapped[str | None] = mapped_column(String(10), index=True)
    outage_version_id: Mapped[int | None] = mapped_column(ForeignKey("outage_notice_version.id"), index=True)
    created_at: Mapped[Timestamp]
    created_by_id: Mapped[StaffId | None]

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notification")


class Delivery(db.Model):
    """One recipient of one notification."""

    __tablename__ = "delivery"

    id: Mapped[BigPk]
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"), index=True)
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # A lease: a job that claimed the row sends it before claimed_until; after that another run may.
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(40))

    notification: Mapped[Notification] = relationship(back_populates="deliveries")

    __table_args__ = (
        UniqueConstraint("notification_id", "address", name="uq_delivery_notification_address"),
        # One mail per account per notification (R19, Q47).
        UniqueConstraint("notification_id", "account_id", name="uq_delivery_notification_account"),
        Index("ix_delivery_notification_status", "notification_id", "status"),
    )
