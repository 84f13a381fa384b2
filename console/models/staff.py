"""Staff members of the customer centre and their roles."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .base import LabelledEnum, UTCDateTime, str_enum


class Role(LabelledEnum):
    """Role identifiers of DESIGN.md, "Who uses it"."""

    OPERATOR = "operator", "オペレーター"
    SUPERVISOR = "supervisor", "スーパーバイザー"
    DISASTER_COORDINATOR = "disaster_coordinator", "災害対策担当"
    ADMIN = "admin", "管理者"


def _new_session_token() -> str:
    return secrets.token_hex(16)


class Staff(db.Model):
    """A staff account that signs in to the console."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the Flask-Login id: rotating it ends every session of this staff member.
    session_token: Mapped[str] = mapped_column(String(32), default=_new_session_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> frozenset[Role]:
        """The roles this staff member holds."""
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        """True when the staff member holds at least one of the roles."""
        return bool(self.role_names.intersection(roles))

    @property
    def is_locked(self) -> bool:
        """Locked after too many wrong passwords, until an admin unlocks."""
        return self.locked_at is not None

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and not self.is_locked

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        """End every session of this staff member (sign-out everywhere, lock, role change)."""
        self.session_token = _new_session_token()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class StaffRole(db.Model):
    """One role held by one staff member."""

    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)

    staff: Mapped[Staff] = relationship(back_populates="roles")
