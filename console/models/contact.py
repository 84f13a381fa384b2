"""The desk's memory (DESIGN.md R21, R22): contacts (応対記録), their categories and follow-ups (対応待ち)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import BigId, BigPk, IntPk, StaffId, Timestamp, partial_index, str_enum
from .vocabulary import CallerRelation, ContactChannel, ContactDirection, FollowUpStatus


class ContactCategory(db.Model):
    """What a contact was about: data an admin extends; a retired category stays on old contacts."""

    __tablename__ = "contact_category"

    id: Mapped[IntPk]
    # Stable identifier other pages link with (?category=disaster), never shown to the customer.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(default=100)
    retired_at: Mapped[datetime | None]

    questions: Mapped[list[ContactCategoryQuestion]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="ContactCategoryQuestion.number",
        lazy="selectin",
    )


class ContactCategoryQuestion(db.Model):
    """One portal FAQ question (mypage-faq.txt, Q1–Q49) a category covers: its number and title."""

    __tablename__ = "contact_category_question"

    id: Mapped[IntPk]
    category_id: Mapped[int] = mapped_column(ForeignKey("contact_category.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))

    category: Mapped[ContactCategory] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("category_id", "number", name="uq_contact_category_question_number"),)


class Contact(db.Model):
    """One call, visit, mail or letter (R21). Never changed or deleted: the database allows only the
    retention job's removal of the memo and the one-time link of a contact taken before the caller was
    identified (migrations 0012_contacts)."""

    __tablename__ = "contact"

    id: Mapped[BigPk]
    at: Mapped[Timestamp]
    staff_id: Mapped[StaffId]
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("portal_account.id"))
    channel: Mapped[ContactChannel] = mapped_column(str_enum(ContactChannel))
    direction: Mapped[ContactDirection] = mapped_column(str_enum(ContactDirection))
    category_id: Mapped[int] = mapped_column(ForeignKey("contact_category.id"))
    caller_relation: Mapped[CallerRelation] = mapped_column(str_enum(CallerRelation))
    # Digits only (normalise.phone_digits), as the lookup stores phones.
    caller_phone: Mapped[str | None] = mapped_column(String(20))
    memo: Mapped[str | None] = mapped_column(Text)
    memo_removed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
    corrects_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contact.id"))
    outage_notice_id: Mapped[int | None] = mapped_column(ForeignKey("outage_notice.id"))

    staff: Mapped["Staff"] = relationship()  # noqa: F821
    category: Mapped[ContactCategory] = relationship()
    contract: Mapped["Contract | None"] = relationship()  # noqa: F821
    account: Mapped["PortalAccount | None"] = relationship()  # noqa: F821
    corrects: Mapped[Contact | None] = relationship(remote_side="Contact.id")

    __table_args__ = (
        # A customer's newest contacts, walked per number and for the account, in order by index alone (0019).
        Index("ix_contact_contract_at_id", "contract_id", "at", "id"),
        Index("ix_contact_account_at_id", "account_id", "at", "id"),
        Index("ix_contact_at_category", "at", "category_id", postgresql_include=["id"]),  # figures: index-only
        Index("ix_contact_category_at", "category_id", "at"),
        Index("ix_contact_caller_phone", "caller_phone"),
        Index("ix_contact_corrects_id", "corrects_id"),
        partial_index("ix_contact_unidentified_at", "at", where="contract_id IS NULL AND account_id IS NULL"),
    )


class ContactDayCount(db.Model):
    """Contacts per category on one closed Japan day, as counted the first time a figure asked for it:
    {category id: contacts not corrected}. Derived data: the supervisors' figures read 30 of these
    instead of 243,000 contacts, and recording a correction drops the row of the corrected contact's day."""

    __tablename__ = "contact_day_count"

    day: Mapped[date] = mapped_column(primary_key=True)
    counts: Mapped[dict] = mapped_column(JSON)
    counted_at: Mapped[Timestamp]


class FollowUp(db.Model):
    """A promise made on a contact (R22): what, due (business days), and who (a person, or None: the desk)."""

    __tablename__ = "follow_up"

    id: Mapped[BigPk]
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contact.id"), index=True)
    what: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    assignee_id: Mapped[StaffId | None]
    status: Mapped[FollowUpStatus] = mapped_column(str_enum(FollowUpStatus), default=FollowUpStatus.OPEN)
    created_at: Mapped[Timestamp]
    created_by_id: Mapped[StaffId]
    taken_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[StaffId | None]
    # The contact that closed it: what was done, recorded like any other contact.
    closing_contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contact.id"))

    contact: Mapped[Contact] = relationship(foreign_keys=[contact_id])
    assignee: Mapped["Staff | None"] = relationship(foreign_keys="FollowUp.assignee_id")  # noqa: F821
    created_by: Mapped["Staff"] = relationship(foreign_keys="FollowUp.created_by_id")  # noqa: F821
    closed_by: Mapped["Staff | None"] = relationship(foreign_keys="FollowUp.closed_by_id")  # noqa: F821
    closing_contact: Mapped[Contact | None] = relationship(foreign_keys=[closing_contact_id])

    __table_args__ = (
        # "Take next": the oldest open one nobody holds, without scanning closed ones.
        partial_index("ix_follow_up_desk_queue", "created_at", "id",
                      where="status = 'open' AND assignee_id IS NULL"),
        # The desk's list and counts on home: by due date (overdue first).
        partial_index("ix_follow_up_desk_due", "due_date", "created_at", "id",
                      where="status = 'open' AND assignee_id IS NULL"),
        partial_index("ix_follow_up_open_assignee", "assignee_id", "due_date", "created_at", "id",
                      where="status = 'open'"),
        Index("ix_follow_up_closed_at", "closed_at"),
        Index("ix_follow_up_created_at", "created_at"),
        Index("ix_follow_up_closing_contact_id", "closing_contact_id"),
    )
