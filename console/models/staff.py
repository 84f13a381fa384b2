"""Staff members of the customer centre and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, joinedload, lazyload, load_only, mapped_column, relationship

from ..extensions import db
from .base import BigPk, IntPk, StaffId, Timestamp, str_enum
from .vocabulary import Role, SessionEndReason


class Staff(db.Model):
    """A staff account that signs in to the console."""

    __tablename__ = "staff"

    id: Mapped[IntPk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]
    # The second factor (TOTP, RFC 6238; issue 16): the Base32 secret, and when the member proved it with a
    # code. A secret without that time is an enrolment in progress; neither means enrolment at the next
    # sign-in. The last time step accepted makes each code good once; wrong codes in a row are counted.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    second_factor_failures: Mapped[int] = mapped_column(default=0, server_default="0")

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )
    recovery_codes: Mapped[list[StaffRecoveryCode]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def role_names(self) -> frozenset[Role]:
        """The roles this staff member holds."""
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        """True when the staff member holds at least one of the roles."""
        return bool(self.role_names.intersection(roles))

    @property
    def has_second_factor(self) -> bool:
        """Enrolled: a TOTP secret the member has proved with a code. Without it no console page opens."""
        return self.totp_secret is not None and self.totp_enrolled_at is not None

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
        # Which browser is signed in is the session record's key, kept beside this in the cookie.
        return str(self.id)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def with_staff_name(relationship_attribute):
    """Loader option: the member of staff on `relationship_attribute` in the same statement, only what names
    them (name, and the e-mail for a member without one), not their password hash, second factor or roles.
    What a list saying who did something needs: the customer view's audit panel joins one per entry."""
    return joinedload(relationship_attribute).options(load_only(Staff.name, Staff.email), lazyload(Staff.roles))


class StaffRole(db.Model):
    """One role held by one staff member."""

    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)

    staff: Mapped[Staff] = relationship(back_populates="roles")


class StaffRecoveryCode(db.Model):
    """One of a member's ten one-time recovery codes, stored as a SHA-256 hash (the code itself carries
    about 60 random bits, so no slow hash is needed); a used one keeps its time and counts no more."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[IntPk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]

    staff: Mapped[Staff] = relationship(back_populates="recovery_codes")


class StaffSession(db.Model):
    """One sign-in of a staff member in one browser (issue 16). The browser's cookie carries a random key;
    this row holds only its SHA-256 digest, so a copy of the table signs nobody in. Every request checks
    that the row is live; an ended row is never live again."""

    __tablename__ = "staff_session"

    id: Mapped[BigPk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[Timestamp]
    last_seen_at: Mapped[Timestamp]
    client_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    # The browser and device in words the member recognises (「Windows パソコンの Edge」), from the User-Agent.
    device: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[StaffId | None]
    end_reason: Mapped[SessionEndReason | None] = mapped_column(str_enum(SessionEndReason))

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    ended_by: Mapped[Staff | None] = relationship(foreign_keys="StaffSession.ended_by_id")

    __table_args__ = (
        Index("ix_staff_session_staff_ended", "staff_id", "ended_at"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )

    @property
    def is_live(self) -> bool:
        """Not ended (the idle timeout is checked against last_seen_at by the service)."""
        return self.ended_at is None
