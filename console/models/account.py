"""Portal (マイページ) accounts and their links to customer numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import normalise
from ..extensions import db
from .base import IntPk, StaffId, Timestamp, partial_index, sets_key, str_enum
from .vocabulary import LinkSource, RegistrationStatus, RegistrationStep

REGISTRATION_STEPS = list(RegistrationStep)


class PortalAccount(db.Model):
    """A マイページ user: one e-mail address, any number of customer numbers (R4)."""

    __tablename__ = "portal_account"

    id: Mapped[IntPk]
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200))
    name_kana_key: Mapped[str | None] = mapped_column(String(200))
    sms_phone: Mapped[str | None] = mapped_column(String(30))
    sms_phone_digits: Mapped[str | None] = mapped_column(String(15))
    registration_step: Mapped[RegistrationStep] = mapped_column(str_enum(RegistrationStep))
    registration_status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus)
    )
    registered_at: Mapped[datetime | None]
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Opt-in to global notifications (全体通知); opting out also stops disaster notices (Q46).
    global_notifications: Mapped[bool] = mapped_column(default=True)
    withdrawn_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]

    links: Mapped[list[AccountLink]] = relationship(back_populates="account", order_by="AccountLink.linked_at")

    __table_args__ = (
        # R4: one live account per e-mail address; a withdrawn or void one frees it (Q34, R17).
        partial_index("uq_portal_account_email_key_live", "email_key", unique=True,
                      where="withdrawn_at IS NULL AND voided_at IS NULL"),
        # Every account, withdrawn and void ones too: the desk looks them up by e-mail (Q16).
        Index("ix_portal_account_email_key", "email_key"),
        Index("ix_portal_account_sms_phone_digits", "sms_phone_digits"),
        Index("ix_portal_account_name_key", "name_key"),
        Index("ix_portal_account_name_kana_key", "name_kana_key"),
        partial_index("ix_portal_account_locked_at", "locked_at", where="locked_at IS NOT NULL"),
    )

    _set_email_key = sets_key("email", "email_key", normalise.email_key)
    _set_phone_digits = sets_key("sms_phone", "sms_phone_digits", normalise.phone_digits, blank_as_null=True)
    _set_name_key = sets_key("name", "name_key", normalise.name_key, blank_as_null=True)
    _set_name_kana_key = sets_key("name_kana", "name_kana_key", normalise.name_key, blank_as_null=True)

    @property
    def is_locked(self) -> bool:
        """Locked by too many wrong passwords on the portal (Q18)."""
        return self.locked_at is not None

    @property
    def is_withdrawn(self) -> bool:
        """Withdrawn (退会) accounts no longer show anything to the customer (R8)."""
        return self.withdrawn_at is not None

    def __str__(self) -> str:
        return f"#{self.id} {self.name or ''}".strip()


class AccountLink(db.Model):
    """A customer number held by an account, from linked_at until ended_at."""

    __tablename__ = "account_link"

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("portal_account.id"), index=True)
    # Indexed for the customer view, which lists every link of a contract, ended ones included.
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    is_main: Mapped[bool] = mapped_column(default=False)
    source: Mapped[LinkSource] = mapped_column(str_enum(LinkSource))
    linked_at: Mapped[Timestamp]
    linked_by_id: Mapped[StaffId | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by_id: Mapped[StaffId | None]

    account: Mapped[PortalAccount] = relationship(back_populates="links")
    contract: Mapped["Contract"] = relationship()  # noqa: F821

    __table_args__ = (
        # R5: a customer number is held by at most one account at a time.
        partial_index("uq_account_link_contract_active", "contract_id", unique=True,
                      where="ended_at IS NULL"),
        # R4: one main customer number per account.
        partial_index("uq_account_link_main_active", "account_id", unique=True,
                      where="is_main AND ended_at IS NULL"),
    )
