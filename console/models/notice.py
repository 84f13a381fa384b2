"""Reissue of usage notices (お知らせ票の再発行) for 2023-12 and earlier (R15), and print batches."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import IntPk, StaffId, Timestamp, str_enum
from .vocabulary import ReissueStatus, SendTo


class PrintBatch(db.Model):
    """A set of reissue requests printed together for the mailing room."""

    __tablename__ = "print_batch"

    id: Mapped[IntPk]
    # Deterministic key (e.g. the cut-off date): a batch built twice is the same batch.
    batch_key: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[Timestamp]
    created_by_id: Mapped[StaffId | None]
    created_by: Mapped["Staff | None"] = relationship()  # noqa: F821
    built_at: Mapped[datetime | None]


class ReissueRequest(db.Model):
    """A caller's request to reissue usage notices of one contract."""

    __tablename__ = "reissue_request"

    id: Mapped[IntPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    send_to: Mapped[SendTo] = mapped_column(str_enum(SendTo))
    other_address: Mapped[str | None] = mapped_column(String(300))
    other_address_reason: Mapped[str | None] = mapped_column(Text)
    caller_relation: Mapped[str] = mapped_column(String(40))
    status: Mapped[ReissueStatus] = mapped_column(
        str_enum(ReissueStatus), default=ReissueStatus.REQUESTED
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id"), index=True)
    requested_by_id: Mapped[StaffId]
    requested_by: Mapped["Staff"] = relationship()  # noqa: F821
    requested_at: Mapped[Timestamp]
    mailed_at: Mapped[datetime | None]

    items: Mapped[list[ReissueItem]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReissueItem.period"
    )
    contract: Mapped["Contract"] = relationship()  # noqa: F821
    batch: Mapped[PrintBatch | None] = relationship()


class ReissueItem(db.Model):
    """One billing month asked for in a reissue request."""

    __tablename__ = "reissue_item"

    id: Mapped[IntPk]
    request_id: Mapped[int] = mapped_column(ForeignKey("reissue_request.id", ondelete="CASCADE"), index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id"), index=True)
    period: Mapped[date]

    request: Mapped[ReissueRequest] = relationship(back_populates="items")

    __table_args__ = (UniqueConstraint("request_id", "period", name="uq_reissue_item_month"),)
