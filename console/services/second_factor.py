"""The second factor of staff sign-in (issue 16; OWASP ASVS 2.8): TOTP (RFC 6238, pyotp) enrolled at the
first sign-in, ten one-time recovery codes stored hashed, and an admin's reset that makes the member enrol
again. Codes are read against console.clock.now(); each time step is accepted once per member, and wrong
codes in a row lock the account as wrong passwords do (the sign-in throttle counts them too)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock, normalise
from ..extensions import db
from ..models import AuditEvent, SessionEndReason, Staff, StaffRecoveryCode
from . import DomainError
from .audit import record
from .inputs import require_text
from .permissions import ADMINS, requires
from .staff_sessions import end_sessions

ISSUER = "水道お客さまセンター"
RECOVERY_CODE_COUNT = 10
# One time step either side of now: a phone's clock a little off, or a code typed just as it changed.
VALID_WINDOW = 1
# RFC 4226 §4 R6: a shared secret of at least 128 bits (26 Base32 characters).
MIN_SECRET_LENGTH = 26
# Recovery codes: 12 characters of an alphabet without look-alikes (0/o, 1/l/i), about 59 bits each.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 12
_BASE32 = re.compile(r"[A-Z2-7]+")
_TOTP_CODE = re.compile(r"[0-9]{6}")

WRONG_CODE = ("確認コードが正しくありません。認証アプリに表示されている6桁の数字か、"
              "リカバリーコードを入力してください。")
WRONG_ENROLMENT_CODE = ("確認コードが正しくありません。認証アプリに登録した後、アプリに表示されている"
                        "6桁の数字を入力してください。時刻がずれていないかも確かめてください。")
USED_CODE = ("この確認コードはすでに使われています。認証アプリに次のコードが表示されてから、"
             "そのコードを入力してください。")
ATTEMPTS_EXHAUSTED = ("確認コードの誤りが続いたため、ログインを中止し、アカウントをロックしました。"
                      "管理者にロックの解除を依頼してください。")


class CodeAttemptsExhausted(DomainError):
    """Too many wrong codes in a row: the pending sign-in ends and the account is locked."""


def clean_secret(raw: str) -> str:
    """A TOTP secret given for provisioning, as Base32 without spaces or padding; refused when it is not
    Base32 or shorter than 128 bits."""
    secret = normalise.compact(raw).rstrip("=")
    if not _BASE32.fullmatch(secret or "-"):
        raise DomainError("TOTPの秘密鍵はBase32（英字A〜Zと数字2〜7）で指定してください。", field="totp_secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise DomainError(f"TOTPの秘密鍵は{MIN_SECRET_LENGTH}文字（128ビット）以上にしてください。", field="totp_secret")
    return secret


def new_recovery_code() -> str:
    """One recovery code as the member reads it: three groups of four characters."""
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(normalise.compact(code).encode()).hexdigest()


def current_code(secret: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator shows now for this secret (console.clock's now), or `steps_ahead` time
    steps (30 s) later: for demo-logins and the benchmarks' sign-ins."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.now()) + steps_ahead)


def provisioning_uri(staff: Staff, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The QR code of uri as inline SVG markup (no data: URL, no script: the CSP stays as it is)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff",
                                                 title="認証アプリで読み取るQRコード")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code this is, within VALID_WINDOW of now, or None."""
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(clock.now())
    for step in sorted(range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1), key=lambda s: abs(s - now_step)):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _take_step(staff: Staff, step: int) -> bool:
    """Record step as this member's last accepted one, unless it (or a later one) was accepted already.
    One conditional UPDATE, so two requests with the same code at the same moment get one success."""
    taken = db.session.execute(
        update(Staff)
        .where(Staff.id == staff.id, or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        set_committed_value(staff, "totp_last_step", step)  # what the UPDATE wrote; nothing left to flush
    return bool(taken)


def _spend_recovery_code(staff: Staff, code: str) -> bool:
    """Spend one unused recovery code of this member (one conditional UPDATE); False when none matches."""
    spent = db.session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.code_hash == _recovery_hash(code),
               StaffRecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(spent)


def unused_recovery_codes(staff: Staff) -> int:
    """How many of the member's recovery codes are left."""
    return len(db.session.scalars(select(StaffRecoveryCode.id).where(
        StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None))).all())


def _totp_code(raw: str | None) -> str | None:
    code = normalise.compact(raw)
    return code if _TOTP_CODE.fullmatch(code) else None


def begin_enrolment(staff: Staff) -> str:
    """The secret the member is enrolling: made once and kept until confirmed, so reloading the page
    shows the same QR code."""
    if staff.has_second_factor:
        raise DomainError("二要素認証はすでに登録されています。確認コードを入力してください。")
    if staff.totp_secret is None:
        staff.totp_secret = pyotp.random_base32()  # 160 bits (RFC 4226's recommendation)
        db.session.flush()
    return staff.totp_secret


def confirm_enrolment(staff: Staff, code: str | None) -> list[str]:
    """The member proves the new secret with a code: enrolled, with ten new recovery codes returned in clear
    once (only their hashes are kept)."""
    if staff.has_second_factor or staff.totp_secret is None:
        raise DomainError("二要素認証の登録は、ログインし直してから行ってください。")
    cleaned = _totp_code(code)
    step = None if cleaned is None else _matching_step(staff.totp_secret, cleaned)
    if step is None or not _take_step(staff, step):
        record(staff, "staff.second_factor_refused", target=staff, detail={"stage": "enrolment"})
        raise DomainError(WRONG_ENROLMENT_CODE, field="code")
    staff.totp_enrolled_at = clock.now()
    staff.second_factor_failures = 0
    codes = _replace_recovery_codes(staff)
    db.session.flush()
    record(staff, "staff.second_factor_enrolled", target=staff, detail={"recovery_codes": len(codes)})
    return codes


def _replace_recovery_codes(staff: Staff) -> list[str]:
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(StaffRecoveryCode(staff_id=staff.id, code_hash=_recovery_hash(c)) for c in codes)
    db.session.flush()
    return codes


def verify_sign_in_code(staff: Staff, code: str | None) -> str:
    """The sign-in's second step: a TOTP code (each accepted once) or an unused recovery code (then spent).

    Returns "totp" or "recovery_code". A wrong or reused code is counted and audited and raises
    DomainError; at the lock threshold the account locks and CodeAttemptsExhausted is raised instead.
    """
    if not staff.has_second_factor:
        raise DomainError("二要素認証が登録されていません。ログインし直して登録してください。")
    totp = _totp_code(code)
    reused = False
    if totp is not None:
        step = _matching_step(staff.totp_secret, totp)
        if step is not None:
            if _take_step(staff, step):
                return "totp"
            reused = True
    elif normalise.compact(code) and _spend_recovery_code(staff, code or ""):
        left = unused_recovery_codes(staff)
        record(staff, "staff.recovery_code_used", target=staff, detail={"unused_left": left})
        return "recovery_code"
    return _refuse(staff, reused=reused)


def _refuse(staff: Staff, *, reused: bool) -> str:
    from .staff import lock_account  # staff creation provisions secrets here: imported when used

    staff.second_factor_failures += 1
    db.session.flush()
    detail = {"second_factor_failures": staff.second_factor_failures, "reused": reused}
    record(staff, "staff.second_factor_refused", target=staff, detail=detail)
    if staff.second_factor_failures >= current_app.config["STAFF_LOCK_THRESHOLD"]:
        lock_account(staff, detail, cause="second_factor")
        raise CodeAttemptsExhausted(ATTEMPTS_EXHAUSTED)
    raise DomainError(USED_CODE if reused else WRONG_CODE, field="code")


def end_sessions_after_second_factor_reset(actor: Staff, staff: Staff) -> None:
    """The member's sign-ins end when their second factor is reset (and the user loader refuses a member
    without one anyway)."""
    end_sessions(actor, staff, reason=SessionEndReason.SECOND_FACTOR_RESET)


@requires(ADMINS)
def reset_second_factor(actor: Staff, staff: Staff, reason: str | None) -> None:
    """An admin clears a member's second factor and recovery codes: the member enrols again at the next
    sign-in, and every session of the member ends. Audited with the reason."""
    reason = require_text(reason, column=AuditEvent.reason, label="リセットの理由", field="reason")
    if staff.id == actor.id:
        raise DomainError("自分自身の二要素認証はリセットできません。別の管理者に依頼してください。")
    if staff.totp_secret is None:
        raise DomainError(f"{staff.name} さんの二要素認証はまだ登録されていません。次回ログイン時に登録します。")
    was_enrolled = staff.has_second_factor
    staff.totp_secret = None
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    staff.second_factor_failures = 0
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    end_sessions_after_second_factor_reset(actor, staff)
    db.session.flush()
    record(actor, "staff.second_factor_reset", target=staff, reason=reason, detail={"was_enrolled": was_enrolled})
