"""Start-of-service and stop-of-service applications (使用開始 / 使用中止申込)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import normalise
from ..extensions import db
from .base import Decided, IntPk, Timestamp, sets_key, str_enum
from .vocabulary import ApplicationStatus, Channel, HolderKind, PaymentMethod


class Application(Decided):
    """Mixin of what start and stop applications share: how one came, when, and where its decision stands."""

    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    # An in-city move is one stop and one start decided together (R12, R14).
    move_group: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus), default=ApplicationStatus.PENDING
    )
    received_at: Mapped[Timestamp]


class StartApplication(Application, db.Model):
    """An application to start water service at a place (R17)."""

    __tablename__ = "start_application"

    id: Mapped[IntPk]
    # Set when the application came together with a portal registration (left provisional, R17).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"), index=True)
    with_registration: Mapped[bool] = mapped_column(default=False)
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_kana: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[HolderKind] = mapped_column(str_enum(HolderKind))
    phone: Mapped[str] = mapped_column(String(30))
    phone_digits: Mapped[str] = mapped_column(String(15))
    email: Mapped[str | None] = mapped_column(String(254))
    ward_code: Mapped[str] = mapped_column(String(5))
    town: Mapped[str] = mapped_column(String(60))
    address_line: Mapped[str] = mapped_column(String(100))
    building: Mapped[str | None] = mapped_column(String(100))
    room: Mapped[str | None] = mapped_column(String(20))
    mailing_address: Mapped[str | None] = mapped_column(String(300))
    desired_start_date: Mapped[date]
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    reject_reason_code: Mapped[str | None] = mapped_column(String(40))
    reject_reason_text: Mapped[str | None] = mapped_column(Text)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))

    account: Mapped["PortalAccount | None"] = relationship()  # noqa: F821
    contract: Mapped["Contract | None"] = relationship()  # noqa: F821

    __table_args__ = (
        Index("ix_start_application_status_desired", "status", "desired_start_date"),
        Index("ix_start_application_place", "ward_code", "town", "address_line"),
    )

    _set_phone_digits = sets_key("phone", "phone_digits", normalise.phone_digits)


class StopApplication(Application, db.Model):
    """An application to stop water service on a contract (Q34: the history stays visible)."""

    __tablename__ = "stop_application"

    id: Mapped[IntPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"))
    desired_stop_date: Mapped[date]
    final_reading_date: Mapped[date | None]
    final_bill_address: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)

    contract: Mapped["Contract"] = relationship()  # noqa: F821

    __table_args__ = (Index("ix_stop_application_status_desired", "status", "desired_stop_date"),)
