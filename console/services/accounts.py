"""Portal accounts at the desk: registration troubleshooting (R2), unlock and password reset (R7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from .. import normalise
from ..extensions import db
from ..models import (
    AccountLink,
    AuditEvent,
    Contract,
    Notification,
    NotificationKind,
    PaymentMethod,
    PortalAccount,
    Staff,
)
from . import DomainError
from .audit import record
from .customer import require_identity
from .inputs import within_column
from .mail import record_mail
from .permissions import CUSTOMER_DESK, requires

MATCH, MISMATCH, NOT_APPLICABLE, NOT_ENTERED = "match", "mismatch", "not_applicable", "not_entered"
OUTCOME_LABELS = {MATCH: "一致", MISMATCH: "不一致", NOT_APPLICABLE: "対象外", NOT_ENTERED: "未入力"}
CHECK_FIELDS = {
    "customer_number": "お客さま番号",
    "settlement_number": "調定番号",
    "phone": "電話番号",
    "usage_location": "使用場所",
    "bank_last4": "口座番号下4ケタ",
}


@dataclass
class RegistrationCheck:
    """Per field: match / mismatch / not applicable / not entered; and whether registration would succeed."""

    fields: dict[str, str]
    would_succeed: bool
    notes: list[str]


def _compare(entered: str, stored: str | None) -> str:
    if not entered:
        return NOT_ENTERED
    return MATCH if stored and entered == stored else MISMATCH


@requires(CUSTOMER_DESK)
def check_registration(
    actor: Staff,
    *,
    customer_number: str,
    settlement_number: str,
    phone: str = "",
    usage_location: str = "",
    bank_last4: str = "",
) -> RegistrationCheck:
    """Which of the values a customer typed at registration match the contract (R2, Q4), never showing them."""
    number = normalise.customer_number(customer_number)
    contract = None
    if number is not None:
        contract = db.session.scalar(select(Contract).where(Contract.customer_number == number))
    notes: list[str] = []
    if number is None and customer_number.strip():
        notes.append("お客さま番号の形式が正しくありません（1桁目は半角英大文字、続けて数字9桁）。")
    if normalise.settlement_number(settlement_number) is None and settlement_number.strip():
        notes.append("調定番号の形式が正しくありません（3桁目は半角英大文字）。")
    if contract is None:
        fields = {name: NOT_APPLICABLE for name in CHECK_FIELDS}
        fields["customer_number"] = MISMATCH if customer_number.strip() else NOT_ENTERED
        fields["settlement_number"] = NOT_APPLICABLE
        notes.append("このお客さま番号の契約は見つかりません。")
        result = RegistrationCheck(fields, False, notes)
    else:
        bank_applies = contract.payment_method == PaymentMethod.BANK_TRANSFER
        entered_address = normalise.address_key(usage_location)
        fields = {
            "customer_number": MATCH,
            "settlement_number": _compare(normalise.settlement_number(settlement_number) or
                                          normalise.compact(settlement_number), contract.settlement_number),
            "phone": _compare(normalise.phone_digits(phone), contract.contract_phone_digits),
            "usage_location": _compare(entered_address, contract.usage_address_key),
            "bank_last4": _compare(normalise.phone_digits(bank_last4), contract.bank_last4)
            if bank_applies else NOT_APPLICABLE,
        }
        if not bank_applies and bank_last4.strip():
            notes.append("口座振替のお客さまではないため、口座番号下4ケタは照合に使えません。")
        any_second = any(fields[name] == MATCH for name in ("phone", "usage_location", "bank_last4"))
        would = fields["settlement_number"] == MATCH and any_second
        if fields["settlement_number"] == MATCH and not any_second:
            notes.append("電話番号・使用場所・口座番号下4ケタのいずれか1点が一致する必要があります。")
        if contract.stop_date is not None:
            notes.append("この契約は使用中止済みです。")
        holder = db.session.scalar(
            select(AccountLink.account_id).where(AccountLink.contract_id == contract.id, AccountLink.ended_at.is_(None))
        )
        if holder is not None:
            would = False
            notes.append("このお客さま番号は既に別のマイページ利用者に登録されています（旧利用者の退会または登録解除が必要です）。")
        result = RegistrationCheck(fields, would, notes)
    record(
        actor,
        "registration.check",
        target=contract,
        customer_number=contract.customer_number if contract else None,
        detail={"fields": result.fields, "would_succeed": result.would_succeed},
    )
    return result


@requires(CUSTOMER_DESK)
def unlock_account(actor: Staff, account: PortalAccount, reason: str) -> None:
    """Unlock a portal account and reset its wrong-password count (R7), after a recorded identity check (R6)."""
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if not reason:
        raise DomainError("ロック解除の理由を入力してください。", field="reason")
    if account.locked_at is None:
        raise DomainError("このアカウントはロックされていません。")
    identity = require_identity(actor, account, "ロックを解除する前に")
    before = {"locked_at": account.locked_at.isoformat(), "failed_login_count": account.failed_login_count,
              "identity_event_id": identity.id}
    account.locked_at = None
    account.failed_login_count = 0
    db.session.flush()
    record(actor, "account.unlock", target=account, reason=reason, detail=before)


@requires(CUSTOMER_DESK)
def request_password_reset(actor: Staff, account: PortalAccount, reason: str) -> Notification:
    """Record a password-reset mail to the account's address (R7) after a recorded identity check (R6);
    it is sent once the caller commits."""
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if not reason:
        raise DomainError("パスワード再設定メールを送る理由を入力してください。", field="reason")
    if account.withdrawn_at is not None:
        raise DomainError("退会済みのアカウントにはメールを送れません。")
    identity = require_identity(actor, account, "パスワード再設定メールを送る前に")
    portal = current_app.config.get("PORTAL_PASSWORD_RESET_URL", "https://mypage.example.jp/password/reset")
    notification = record_mail(
        NotificationKind.PASSWORD_RESET, [(account.id, account.email)], "password_reset",
        {"name": account.name, "portal_url": portal},
        dedupe_key=f"password-reset:{account.id}:{uuid.uuid4().hex}", actor=actor,
    )
    record(actor, "account.password_reset_mail", target=account, reason=reason,
           detail={"notification_id": notification.id, "identity_event_id": identity.id})
    return notification


@requires(CUSTOMER_DESK)
def view_locked_accounts(actor: Staff, accounts: list[PortalAccount], *, page: int = 0) -> None:
    """A page of the locked-account list shows names and (masked) e-mail addresses: audited, one entry per page."""
    record(actor, "locked_account.list", target_type="portal_account",
           detail={"page": page, "accounts": [account.id for account in accounts]})
