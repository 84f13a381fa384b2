"""Staff accounts: creation, roles, sign-in with lockout (5 wrong passwords), unlock."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock, normalise
from ..extensions import db
from ..models import Role, Staff, StaffRole
from . import DomainError
from .audit import record
from .inputs import require_text
from .permissions import ADMINS, requires

MIN_PASSWORD_LENGTH = 12
# Compared against when the e-mail is unknown, so a wrong address costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


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


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。", field="password")


def find_staff(email: str) -> Staff | None:
    """The staff member with this e-mail address (compared normalised), or None."""
    return db.session.scalar(select(Staff).where(Staff.email == normalise.email_key(email)))


@requires(ADMINS, system=True)
def create_staff(actor: Staff | None, email: str, name: str, roles, password: str) -> Staff:
    """Create a staff account with roles; actor None means the command line."""
    email = _clean_email(email)
    name = require_text(name, column=Staff.name, label="氏名")
    cleaned_roles = _clean_roles(roles)
    _check_password(password)
    if find_staff(email) is not None:
        raise DomainError("このメールアドレスの職員はすでに登録されています。", field="email")
    staff = Staff(email=email, name=name, password_hash=generate_password_hash(password))
    staff.roles = [StaffRole(role=r) for r in sorted(cleaned_roles)]
    db.session.add(staff)
    db.session.flush()
    record(actor, "staff.create", target=staff, detail={"email": email, "roles": sorted(cleaned_roles)})
    return staff


@requires(ADMINS, system=True)
def update_staff(actor: Staff, staff: Staff, *, name: str, roles, active: bool) -> Staff:
    """Change name, roles or the active flag; a role change or deactivation ends open sessions."""
    name = require_text(name, column=Staff.name, label="氏名")
    cleaned_roles = _clean_roles(roles)
    if staff.id == actor.id and (Role.ADMIN not in cleaned_roles or not active):
        raise DomainError("自分自身の管理者権限を外したり、無効にしたりすることはできません。", field="roles")
    before = {"name": staff.name, "roles": sorted(staff.role_names), "active": staff.active}
    if cleaned_roles != staff.role_names or (staff.active and not active):
        staff.rotate_session_token()
    staff.name = name
    staff.active = active
    staff.roles = [r for r in staff.roles if r.role in cleaned_roles] + [
        StaffRole(role=r) for r in sorted(cleaned_roles - staff.role_names)
    ]
    db.session.flush()
    after = {"name": staff.name, "roles": sorted(cleaned_roles), "active": staff.active}
    record(actor, "staff.update", target=staff, detail={"before": before, "after": after})
    return staff


@requires(ADMINS, system=True)
def set_password(actor: Staff | None, staff: Staff, password: str) -> None:
    """Set a new password; every open session of that staff member ends."""
    _check_password(password)
    staff.password_hash = generate_password_hash(password)
    staff.rotate_session_token()
    db.session.flush()
    record(actor, "staff.set_password", target=staff)


def authenticate(email: str, password: str) -> Staff:
    """Check a sign-in; count wrong passwords and lock at the threshold. Raises DomainError."""
    staff = find_staff(email or "")
    if staff is None:
        check_password_hash(_DUMMY_HASH, password or "")
        record(None, "staff.login_failed", detail={"email": normalise.email_key(email or "")[:254]})
        raise DomainError("メールアドレスまたはパスワードが正しくありません。")
    if staff.is_locked:
        record(staff, "staff.login_refused_locked", target=staff)
        raise DomainError("このアカウントはロックされています。管理者に解除を依頼してください。")
    if not check_password_hash(staff.password_hash, password or ""):
        staff.failed_logins += 1
        threshold = current_app.config["STAFF_LOCK_THRESHOLD"]
        detail = {"failed_logins": staff.failed_logins}
        if staff.failed_logins >= threshold:
            staff.locked_at = clock.now()
            staff.rotate_session_token()
            record(staff, "staff.locked", target=staff, detail=detail)
            db.session.flush()
            raise DomainError(
                f"パスワードを{threshold}回続けて間違えたため、アカウントをロックしました。管理者に解除を依頼してください。"
            )
        record(staff, "staff.login_failed", target=staff, detail=detail)
        raise DomainError("メールアドレスまたはパスワードが正しくありません。")
    if not staff.active:
        record(staff, "staff.login_refused_inactive", target=staff)
        raise DomainError("このアカウントは無効になっています。")
    staff.failed_logins = 0
    staff.last_login_at = clock.now()
    db.session.flush()
    record(staff, "staff.login", target=staff)
    return staff


def sign_out(staff: Staff) -> None:
    """End every session of this staff member (the cookie they hold, and any copy of it)."""
    staff.rotate_session_token()
    db.session.flush()
    record(staff, "staff.logout", target=staff)


@requires(ADMINS, system=True)
def unlock_staff(actor: Staff | None, staff: Staff, reason: str | None = None) -> None:
    """Clear a staff lock and the wrong-password count; actor None means the command line."""
    if not staff.is_locked and staff.failed_logins == 0:
        raise DomainError(f"{staff.name} さんのアカウントはロックされていません。")
    staff.locked_at = None
    staff.failed_logins = 0
    db.session.flush()
    record(actor, "staff.unlock", target=staff, reason=reason)
