"""Customer numbers on a portal account (R4, R5, R14): add on the customer's behalf, remove, set main."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import clock, normalise
from ..extensions import db
from ..models import AccountLink, AuditEvent, Contract, LinkSource, PortalAccount, Staff
from . import DomainError
from .accounts import check_registration
from .audit import record
from .inputs import within_column
from .permissions import CUSTOMER_DESK, requires

# Q33: about 20 customer numbers per account are recommended.
RECOMMENDED_MAX_NUMBERS = 20


def active_links(account: PortalAccount) -> list[AccountLink]:
    """The account's current customer numbers, main first."""
    return list(
        db.session.scalars(
            select(AccountLink)
            .where(AccountLink.account_id == account.id, AccountLink.ended_at.is_(None))
            .order_by(AccountLink.is_main.desc(), AccountLink.linked_at)
        )
    )


def holder_of(contract: Contract) -> AccountLink | None:
    """The active link of a customer number, if any (R5: at most one)."""
    return db.session.scalar(
        select(AccountLink).where(AccountLink.contract_id == contract.id, AccountLink.ended_at.is_(None))
    )


def link_contract(actor: Staff | None, account: PortalAccount, contract: Contract, *, source: LinkSource,
                  reason: str | None = None) -> tuple[AccountLink, str | None]:
    """Link a customer number to an account; returns the link and a warning above 20 numbers (Q33).

    Refused while another account still holds the number (R5, Q30): the old holder must leave first.
    The database refuses it too, so no second way in can skip this.
    """
    if account.withdrawn_at is not None or account.voided_at is not None:
        raise DomainError("退会済み・取消済みのマイページ利用者には登録できません。")
    current = holder_of(contract)
    if current is not None:
        if current.account_id == account.id:
            raise DomainError(f"お客さま番号 {contract.customer_number} はすでにこの利用者に登録されています。")
        raise DomainError(
            f"お客さま番号 {contract.customer_number} は別のマイページ利用者（#{current.account_id}）に登録されたままです。"
            "旧利用者の退会、または登録解除の後に登録してください。"
        )
    count = db.session.scalar(
        select(func.count()).where(AccountLink.account_id == account.id, AccountLink.ended_at.is_(None))
    )
    link = AccountLink(
        account_id=account.id, contract_id=contract.id, is_main=count == 0, source=source,
        linked_by_id=actor.id if actor else None,
    )
    db.session.add(link)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DomainError(
            f"お客さま番号 {contract.customer_number} は別のマイページ利用者に登録されたままです。"
        ) from None
    record(actor, "link.add", target=account, customer_number=contract.customer_number, reason=reason,
           detail={"source": source.value, "main": link.is_main})
    warning = None
    if count + 1 > RECOMMENDED_MAX_NUMBERS:
        warning = f"登録されているお客さま番号が{count + 1}件になりました（推奨は{RECOMMENDED_MAX_NUMBERS}件程度まで）。"
    return link, warning


@requires(CUSTOMER_DESK)
def add_on_behalf(actor: Staff, account: PortalAccount, *, customer_number: str, settlement_number: str,
                  phone: str = "", usage_location: str = "", bank_last4: str = "",
                  reason: str) -> tuple[AccountLink, str | None]:
    """Add a customer number for a caller, after the same check the portal makes (R2)."""
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if not reason:
        raise DomainError("登録する理由を入力してください。", field="reason")
    check = check_registration(
        actor, customer_number=customer_number, settlement_number=settlement_number, phone=phone,
        usage_location=usage_location, bank_last4=bank_last4,
    )
    if not check.would_succeed:
        raise DomainError("登録できません。" + "".join(check.notes or ["入力内容が契約情報と一致しません。"]))
    contract = db.session.scalar(
        select(Contract).where(Contract.customer_number == normalise.customer_number(customer_number))
    )
    return link_contract(actor, account, contract, source=LinkSource.STAFF, reason=reason)


@requires(CUSTOMER_DESK)
def unlink(actor: Staff | None, link: AccountLink, reason: str) -> None:
    """End a link with a recorded reason; the main flag moves to the oldest remaining number."""
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if not reason:
        raise DomainError("登録解除の理由を入力してください。", field="reason")
    if link.ended_at is not None:
        raise DomainError("この登録はすでに解除されています。")
    was_main = link.is_main
    link.ended_at = clock.now()
    link.end_reason = reason
    link.ended_by_id = actor.id if actor else None
    link.is_main = False
    db.session.flush()
    if was_main:
        remaining = active_links(link.account)
        if remaining:
            remaining[0].is_main = True
            db.session.flush()
    record(actor, "link.remove", target=link.account, customer_number=link.contract.customer_number, reason=reason)


@requires(CUSTOMER_DESK)
def set_main(actor: Staff, account: PortalAccount, contract: Contract) -> None:
    """Make one of the account's numbers the main one (shown first on the portal, Q27)."""
    links = active_links(account)
    target = next((lk for lk in links if lk.contract_id == contract.id), None)
    if target is None:
        raise DomainError("このお客さま番号はこの利用者に登録されていません。")
    if target.is_main:
        return
    for link in links:
        if link.is_main:
            link.is_main = False
    db.session.flush()
    target.is_main = True
    db.session.flush()
    record(actor, "link.set_main", target=account, customer_number=contract.customer_number)
