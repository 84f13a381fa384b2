"""Meter readings and bills, and requests to change how they are paid."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import BigPk, Decided, IntPk, Timestamp, str_enum
from .vocabulary import Channel, NoticeChannel, PaymentChangeStatus, PaymentMethod, PaymentStatus


class Bill(db.Model):
    """One meter-reading period of one contract: usage, charges, due date and payment."""

    __tablename__ = "bill"

    id: Mapped[BigPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    # First day of the billing month (令和6年1月分 → 2024-01-01).
    period: Mapped[date]
    reading_date: Mapped[date]
    usage_m3: Mapped[int]
    water_charge: Mapped[int]
    sewer_charge: Mapped[int]
    due_date: Mapped[date]
    # Facts as they were when the bill was issued; the contract may have changed since.
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    notice_channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel))
    payment_status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus), default=PaymentStatus.UNPAID
    )
    # The day the customer paid; the status turns to paid about 10 business days later (R11).
    paid_on: Mapped[date | None]

    contract: Mapped["Contract"] = relationship()  # noqa: F821

    __table_args__ = (
        UniqueConstraint("contract_id", "period", name="uq_bill_contract_period"),
        # The bill list's filters, each leading an index that ends in id (keyset pages, 0015).
        Index("ix_bill_period_id", "period", "id"),
        Index("ix_bill_payment_status_id", "payment_status", "id"),
        Index("ix_bill_period_payment_status_id", "period", "payment_status", "id"),
    )

    @property
    def total(self) -> int:
        """Water plus sewer charge, in yen."""
        return self.water_charge + self.sewer_charge


class PaymentMethodChange(Decided, db.Model):
    """A request to switch between payment notice and e-payment (R16, Q41)."""

    __tablename__ = "payment_method_change"

    id: Mapped[IntPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"))
    from_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    to_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "paymentmethod_to"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    status: Mapped[PaymentChangeStatus] = mapped_column(
        str_enum(PaymentChangeStatus), default=PaymentChangeStatus.PENDING
    )
    requested_at: Mapped[Timestamp]
    note: Mapped[str | None] = mapped_column(Text)

    contract: Mapped["Contract"] = relationship()  # noqa: F821
