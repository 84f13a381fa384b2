"""Staff accounts: creation, roles, sign-in with lockout (5 wrong passwords), unlock."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from .. import clock, normalise
from ..extensions import db
from ..models import NotificationKind, Role, SessionEndReason, Staff, StaffRole, StaffSession
from . import DomainError, passwords, second_factor
from .audit import record
from .inputs import require_text
from .mail import record_mail
from .permissions import ADMINS, requires
from .staff_sessions import end_sessions

# One answer for every refused sign-in (unknown address, wrong password, locked or disabled account), so
# the form tells nobody which staff accounts exist or are locked; a locked member learns of it by mail.
SIGN_IN_REFUSED = ("メールアドレスまたはパスワードが正しくありません。"
                   "続けてサインインできないときは、管理者にお問い合わせください。")


def _clean_email(raw: str) -> str:
    email = normalise.email_key(raw)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise DomainError("メールアドレスの形式が正しくありません。", field="email") from None
    return email


def _clean_roles(roles) -> set[Role]:
    try:
        cleaned = {Role(r) for r in roles}
    except ValueError:
        raise DomainError("不明な権限が指定されました。", field="roles") from None
    if not cleaned:
        raise DomainError("権限を一つ以上選んでください。", field="roles")
    return cleaned


def find_staff(email: str) -> Staff | None:
    """The staff member with this e-mail address (compared normalised), or None."""
    return db.session.scalar(select(Staff).where(Staff.email == normalise.email_key(email)))


@requires(ADMINS, system=True)
def create_staff(actor: Staff | None, email: str, name: str, roles, password: str,
                 totp_secret: str | None = None) -> Staff:
    """Create a staff account with roles; actor None means the command line.

    With totp_secret (Base32) the member's second factor is provisioned, as for a scripted set-up;
    without it the member enrols at the first sign-in."""
    email = _clean_email(email)
    name = require_text(name, column=Staff.name, label="氏名")
    cleaned_roles = _clean_roles(roles)
    passwords.check_strength(password, email=email, name=name)
    secret = None if totp_secret is None else second_factor.clean_secret(totp_secret)
    if find_staff(email) is not None:
        raise DomainError("このメールアドレスの職員はすでに登録されています。", field="email")
    staff = Staff(email=email, name=name, password_hash=passwords.hash_password(password))
    staff.roles = [StaffRole(role=r) for r in sorted(cleaned_roles)]
    if secret is not None:
        staff.totp_secret, staff.totp_enrolled_at = secret, clock.now()
    db.session.add(staff)
    db.session.flush()
    record(actor, "staff.create", target=staff, detail={"email": email, "roles": sorted(cleaned_roles),
                                                        "second_factor_provisioned": secret is not None})
    return staff


@requires(ADMINS, system=True)
def update_staff(actor: Staff, staff: Staff, *, name: str, roles, active: bool) -> Staff:
    """Change name, roles or the active flag; a role change or deactivation ends the member's sign-ins."""
    name = require_text(name, column=Staff.name, label="氏名")
    cleaned_roles = _clean_roles(roles)
    if actor is not None and staff.id == actor.id and (Role.ADMIN not in cleaned_roles or not active):
        raise DomainError("自分自身の管理者権限を外したり、無効にしたりすることはできません。", field="roles")
    before = {"name": staff.name, "roles": sorted(staff.role_names), "active": staff.active}
    ending = (SessionEndReason.DISABLED if staff.active and not active
              else SessionEndReason.ROLES_CHANGED if cleaned_roles != staff.role_names else None)
    staff.name = name
    staff.active = active
    staff.roles = [r for r in staff.roles if r.role in cleaned_roles] + [
        StaffRole(role=r) for r in sorted(cleaned_roles - staff.role_names)
    ]
    db.session.flush()
    after = {"name": staff.name, "roles": sorted(cleaned_roles), "active": staff.active}
    record(actor, "staff.update", target=staff, detail={"before": before, "after": after})
    if ending is not None:
        end_sessions(actor, staff, reason=ending)
    return staff


@requires(ADMINS, system=True)
def set_password(actor: Staff | None, staff: Staff, password: str) -> None:
    """An admin (or the command line) sets a new password; every sign-in of that member ends."""
    _store_password(staff, password)
    record(actor, "staff.set_password", target=staff)
    end_sessions(actor, staff, reason=SessionEndReason.PASSWORD_SET)


def change_own_password(staff: Staff, current: str, new: str, *, keep: StaffSession | None = None) -> int:
    """A member of staff changes their own password, proving the current one; their sign-ins in other
    browsers end (all but `keep`, the browser asking). Returns how many ended."""
    matches, _ = passwords.verify_password(staff.password_hash, current or "")
    if not matches:
        raise DomainError("現在のパスワードが正しくありません。", field="current_password")
    if new == current:
        raise DomainError("新しいパスワードは現在のものと別にしてください。", field="password")
    _store_password(staff, new)
    record(staff, "staff.password_changed", target=staff)
    return end_sessions(staff, staff, reason=SessionEndReason.PASSWORD_CHANGED, keep=keep)


def _store_password(staff: Staff, password: str) -> None:
    passwords.check_strength(password, email=staff.email, name=staff.name)
    staff.password_hash = passwords.hash_password(password)
    db.session.flush()


def authenticate(email: str, password: str) -> Staff:
    """Check a sign-in's password; count wrong ones and lock at the threshold. Raises DomainError.

    The sign-in is complete only after the second factor (services.second_factor, then complete_sign_in).

    Every refusal costs one password verification and gives the same message (no enumeration);
    the reason is in the audit log, and a member whose account locks is told by mail.
    """
    staff = find_staff(email or "")
    if staff is None or staff.is_locked or not staff.active:
        passwords.spend_verify_time(password or "")
        if staff is None:
            record(None, "staff.login_failed", detail={"email": normalise.email_key(email or "")[:254]})
        elif staff.is_locked:
            record(staff, "staff.login_refused_locked", target=staff)
        else:
            record(staff, "staff.login_refused_inactive", target=staff)
        raise DomainError(SIGN_IN_REFUSED)
    matches, upgraded = passwords.verify_password(staff.password_hash, password or "")
    if not matches:
        staff.failed_logins += 1
        detail = {"failed_logins": staff.failed_logins}
        if staff.failed_logins >= current_app.config["STAFF_LOCK_THRESHOLD"]:
            lock_account(staff, detail, cause="password")
        else:
            record(staff, "staff.login_failed", target=staff, detail=detail)
        raise DomainError(SIGN_IN_REFUSED)
    if upgraded is not None:
        staff.password_hash = upgraded
    staff.failed_logins = 0
    db.session.flush()
    return staff


def lock_account(staff: Staff, detail: dict, *, cause: str) -> None:
    """Lock after too many wrong passwords (cause "password") or wrong second-factor codes ("second_factor"):
    every session ends, the lock is audited and the member is told by mail. An admin unlocks."""
    staff.locked_at = clock.now()
    db.session.flush()
    record(staff, "staff.locked", target=staff, detail={**detail, "cause": cause})
    end_sessions(None, staff, reason=SessionEndReason.LOCKED)
    threshold = current_app.config["STAFF_LOCK_THRESHOLD"]
    record_mail(NotificationKind.STAFF_LOCKED, [(None, staff.email)], "staff_locked",
                {"staff": staff, "threshold": threshold, "cause": cause},
                f"staff-locked:{staff.id}:{staff.locked_at.isoformat()}")


def complete_sign_in(staff: Staff, second_factor_used: str) -> None:
    """The sign-in is complete (password and second factor): the time is kept and the sign-in audited."""
    staff.failed_logins = 0
    staff.second_factor_failures = 0
    staff.last_login_at = clock.now()
    db.session.flush()
    # The sign-in is audited where it completes, with its session (staff_sessions.start_session).


@requires(ADMINS, system=True)
def unlock_staff(actor: Staff | None, staff: Staff, reason: str | None = None) -> None:
    """Clear a staff lock and the wrong-password count; actor None means the command line."""
    if not staff.is_locked and staff.failed_logins == 0 and staff.second_factor_failures == 0:
        raise DomainError(f"{staff.name} さんのアカウントはロックされていません。")
    staff.locked_at = None
    staff.failed_logins = 0
    staff.second_factor_failures = 0
    db.session.flush()
    record(actor, "staff.unlock", target=staff, reason=reason)
