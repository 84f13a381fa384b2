"""Payment methods (R16): the 300,000-yen e-payment limit and the payment-method changes customers ask for (Q41)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..models import (
    Bill,
    Contract,
    PaymentChangeStatus,
    PaymentMethod,
    PaymentMethodChange,
    PaymentStatus,
    Staff,
)
from . import DomainError
from .audit import record
from .inputs import optional_text
from .permissions import CUSTOMER_DESK, requires

# R16: electronic payment (PayPay) covers bills under this amount; at or above it a paper payment
# notice (納入通知書) is sent instead (Q39, Q40).
E_PAYMENT_LIMIT_YEN = 300_000


# ---------------------------------------------------------------------------------------------
# Payment method (R16)


def paper_notice_required(bill: Bill) -> bool:
    """R16: a bill at or above 300,000 yen is paid with a paper payment notice, not e-payment."""
    return bill.total >= E_PAYMENT_LIMIT_YEN


def bill_payment_method(contract_method: PaymentMethod, total: int) -> PaymentMethod:
    """The method a bill is issued with: e-payment falls back to a payment notice at 300,000 yen or more."""
    if contract_method == PaymentMethod.E_PAYMENT and total >= E_PAYMENT_LIMIT_YEN:
        return PaymentMethod.PAYMENT_NOTICE
    return contract_method


def apply_payment_method_to_unpaid(actor: Staff | None, contract: Contract) -> list[Bill]:
    """Unpaid notice/e-payment bills follow the contract's method, except that R16 keeps bills at or above
    300,000 yen on a paper payment notice. Returns those bills (the operator tells the customer)."""
    bills = db.session.scalars(
        select(Bill).where(
            Bill.contract_id == contract.id,
            Bill.payment_status == PaymentStatus.UNPAID,
            Bill.payment_method.in_([PaymentMethod.PAYMENT_NOTICE, PaymentMethod.E_PAYMENT]),
        ).order_by(Bill.period)
    ).all()
    changed, over_limit = [], []
    for bill in bills:
        method = bill_payment_method(contract.payment_method, bill.total)
        if contract.payment_method == PaymentMethod.E_PAYMENT and method != PaymentMethod.E_PAYMENT:
            over_limit.append(bill)
        if bill.payment_method != method:
            bill.payment_method = method
            changed.append(bill)
    if changed or over_limit:
        db.session.flush()
        record(actor, "bill.payment_method", target=contract, customer_number=contract.customer_number,
               detail={"changed": {b.period.isoformat(): b.payment_method.value for b in changed},
                       "paper_over_limit": [b.period.isoformat() for b in over_limit], "limit_yen": E_PAYMENT_LIMIT_YEN})
    return over_limit


PAYMENT_CHANGE_TARGETS = {PaymentMethod.PAYMENT_NOTICE, PaymentMethod.E_PAYMENT}


@requires(CUSTOMER_DESK)
def decide_payment_change(actor: Staff, change_id: int, *, apply: bool, note: str | None = None) -> tuple[PaymentMethodChange, list[Bill]]:
    """Apply or refuse a switch between payment notice and e-payment (Q41); R16 applies at once."""
    note = optional_text(note, column=PaymentMethodChange.note, label="理由")
    change = db.session.get(PaymentMethodChange, change_id)
    if change is None:
        raise DomainError("該当する支払方法の変更申込がありません。")
    if not apply and not note:
        raise DomainError("お受けできない理由を入力してください。", field="note")
    if apply and change.to_method not in PAYMENT_CHANGE_TARGETS:
        raise DomainError("マイページからの変更は、納入通知書と電子決済の間だけです。")
    status = PaymentChangeStatus.APPLIED if apply else PaymentChangeStatus.REFUSED
    result = db.session.execute(
        update(PaymentMethodChange)
        .where(PaymentMethodChange.id == change_id, PaymentMethodChange.status == PaymentChangeStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=clock.now(), note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("この申込はすでに処理されています。画面を更新して確認してください。")
    db.session.refresh(change)
    contract = db.session.get(Contract, change.contract_id, with_for_update=True)
    bills: list[Bill] = []
    if apply:
        before = contract.payment_method
        contract.payment_method = change.to_method
        db.session.flush()
        record(actor, "payment_method.apply", target=change, customer_number=contract.customer_number,
               detail={"from": before.value, "to": change.to_method.value})
        bills = apply_payment_method_to_unpaid(actor, contract)
    else:
        record(actor, "payment_method.refuse", target=change, customer_number=contract.customer_number, reason=note)
    return change, bills


@requires(CUSTOMER_DESK)
def pending_payment_changes(actor: Staff, *, limit: int = 200) -> list[PaymentMethodChange]:
    """Payment-method changes waiting for staff, oldest first (audited: customer numbers)."""
    rows = db.session.scalars(
        select(PaymentMethodChange)
        .where(PaymentMethodChange.status == PaymentChangeStatus.PENDING)
        .options(selectinload(PaymentMethodChange.contract))
        .order_by(PaymentMethodChange.requested_at, PaymentMethodChange.id)
        .limit(limit)
    ).all()
    record(actor, "payment_method.list", detail={"rows": len(rows)})
    return rows
