"""Water contracts, their holder history, name changes and management-company handovers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import normalise
from ..extensions import db
from .base import Decided, IntPk, StaffId, Timestamp, partial_index, sets_key, str_enum
from .vocabulary import ChangeStatus, HandoverStatus, HolderKind, PaymentMethod


def usage_address_text(ward_name: str, town: str, address_line: str, building: str | None, room: str | None) -> str:
    """The usage location as one line, as printed on notices."""
    parts = [ward_name, town, address_line]
    if building:
        parts.append(" " + building)
    if room:
        parts.append(" " + room)
    return "".join(parts)


class Contract(db.Model):
    """A water contract (水道契約): one customer number, one holder, one usage location."""

    __tablename__ = "contract"

    id: Mapped[IntPk]
    customer_number: Mapped[str] = mapped_column(String(10), unique=True)
    settlement_number: Mapped[str] = mapped_column(String(10), unique=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_kana: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[HolderKind] = mapped_column(str_enum(HolderKind))
    holder_name_key: Mapped[str] = mapped_column(String(200))
    holder_kana_key: Mapped[str] = mapped_column(String(200))
    ward_code: Mapped[str] = mapped_column(String(5))
    town: Mapped[str] = mapped_column(String(60))
    address_line: Mapped[str] = mapped_column(String(100))
    building: Mapped[str | None] = mapped_column(String(100))
    room: Mapped[str | None] = mapped_column(String(20))
    usage_address_key: Mapped[str] = mapped_column(String(300))
    contract_phone: Mapped[str | None] = mapped_column(String(30))
    contract_phone_digits: Mapped[str | None] = mapped_column(String(15))
    # None means notices go to the usage location.
    mailing_address: Mapped[str | None] = mapped_column(String(300))
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    bank_last4: Mapped[str | None] = mapped_column(String(4))
    meter_reading_day: Mapped[int] = mapped_column(SmallInteger)
    start_date: Mapped[date]
    stop_date: Mapped[date | None]
    # The day the tap was opened (開栓); until then an accepted start has not begun.
    opened_on: Mapped[date | None]
    # Set when this contract restarts an earlier one at the same place (R14).
    previous_contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    created_at: Mapped[Timestamp]

    holders: Mapped[list[HolderHistory]] = relationship(
        back_populates="contract", order_by="HolderHistory.effective_from", cascade="all, delete-orphan"
    )
    previous_contract: Mapped[Contract | None] = relationship(remote_side="Contract.id")

    __table_args__ = (
        Index("ix_contract_contract_phone_digits", "contract_phone_digits"),
        Index("ix_contract_holder_name_key", "holder_name_key"),
        Index("ix_contract_holder_kana_key", "holder_kana_key"),
        Index("ix_contract_ward_town", "ward_code", "town"),
        Index("ix_contract_place", "ward_code", "town", "address_line"),
        # The contract list's filters, each leading an index that ends in id (keyset pages, 0015).
        Index("ix_contract_ward_code_id", "ward_code", "id"),
        Index("ix_contract_town_id", "town", "id", postgresql_ops={"town": "varchar_pattern_ops"}),
        Index("ix_contract_payment_method_id", "payment_method", "id"),
        partial_index("ix_contract_stopped_id", "id", where="stop_date IS NOT NULL"),
        partial_index("ix_contract_stopped_ward_id", "ward_code", "id", where="stop_date IS NOT NULL"),
        partial_index("ix_contract_stopped_town_id", "town", "id", where="stop_date IS NOT NULL"),
    )

    _set_holder_name_key = sets_key("holder_name", "holder_name_key", normalise.name_key)
    _set_holder_kana_key = sets_key("holder_kana", "holder_kana_key", normalise.name_key)
    _set_phone_digits = sets_key("contract_phone", "contract_phone_digits", normalise.phone_digits,
                                 blank_as_null=True)

    @property
    def usage_location(self) -> str:
        """The usage location (使用場所) as one line."""
        from ..wards import ward_name

        return usage_address_text(ward_name(self.ward_code), self.town, self.address_line, self.building, self.room)

    def __str__(self) -> str:
        return f"{self.customer_number} {self.holder_name}"


@event.listens_for(Contract, "before_insert")
@event.listens_for(Contract, "before_update")
def _set_usage_address_key(_mapper, _connection, contract: Contract) -> None:
    # The key depends on several columns, so it is computed once they are all set.
    contract.usage_address_key = normalise.address_key(contract.usage_location)


class HolderHistory(db.Model):
    """One holder of a contract over a period; nothing here is overwritten (R12)."""

    __tablename__ = "contract_holder"

    id: Mapped[IntPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_kana: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[HolderKind] = mapped_column(str_enum(HolderKind))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    name_change_id: Mapped[int | None] = mapped_column(ForeignKey("name_change.id"))
    recorded_at: Mapped[Timestamp]

    contract: Mapped[Contract] = relationship(back_populates="holders")

    __table_args__ = (UniqueConstraint("contract_id", "effective_from", name="uq_contract_holder_from"),)


class NameChange(Decided, db.Model):
    """A request to change a contract's holder, made by one staff member, approved by another."""

    __tablename__ = "name_change"

    id: Mapped[IntPk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    new_holder_name: Mapped[str] = mapped_column(String(200))
    new_holder_kana: Mapped[str] = mapped_column(String(200))
    new_holder_kind: Mapped[HolderKind] = mapped_column(str_enum(HolderKind))
    effective_date: Mapped[date]
    identity_check: Mapped[str] = mapped_column(String(100))
    documents_checked: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ChangeStatus] = mapped_column(str_enum(ChangeStatus), default=ChangeStatus.PENDING)
    requested_by_id: Mapped[StaffId]
    requested_at: Mapped[Timestamp]
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Pages show staff by name (issue 15), never by id.
    requested_by: Mapped["Staff"] = relationship(foreign_keys="NameChange.requested_by_id")  # noqa: F821
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("handover.id"), index=True)

    contract: Mapped[Contract] = relationship()


class Handover(db.Model):
    """A building (or many customer numbers) moving from one management company to another (R13)."""

    __tablename__ = "handover"

    id: Mapped[IntPk]
    old_company_name: Mapped[str] = mapped_column(String(200))
    old_account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"))
    new_company_name: Mapped[str] = mapped_column(String(200))
    new_company_kana: Mapped[str] = mapped_column(String(200))
    new_account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"))
    target_date: Mapped[date]
    status: Mapped[HandoverStatus] = mapped_column(
        str_enum(HandoverStatus), default=HandoverStatus.OPEN
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[StaffId]
    created_at: Mapped[Timestamp]
    closed_at: Mapped[datetime | None]

    items: Mapped[list[HandoverItem]] = relationship(back_populates="handover", cascade="all, delete-orphan")
    created_by: Mapped["Staff"] = relationship()  # noqa: F821


class HandoverItem(db.Model):
    """One customer number in a handover; its step follows from which timestamps are set."""

    __tablename__ = "handover_item"

    id: Mapped[IntPk]
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    name_change_id: Mapped[int | None] = mapped_column(ForeignKey("name_change.id"))
    released_at: Mapped[datetime | None]
    linked_at: Mapped[datetime | None]

    handover: Mapped[Handover] = relationship(back_populates="items")
    contract: Mapped[Contract] = relationship()

    __table_args__ = (UniqueConstraint("handover_id", "contract_id", name="uq_handover_item_contract"),)
