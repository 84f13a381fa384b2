"""The customer view (issue 3): everything about one account or one contract, masked by default;
revealing a value and confirming a caller's identity are audited (R6)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import clock, normalise
from ..extensions import db
from ..models import (
    AccountLink,
    AuditEvent,
    Bill,
    Contract,
    Delivery,
    Handover,
    HandoverItem,
    HolderHistory,
    NameChange,
    Notification,
    PaymentMethod,
    PaymentMethodChange,
    PortalAccount,
    RegistrationStatus,
    RegistrationStep,
    ReissueRequest,
    Staff,
    StartApplication,
    StopApplication,
)
from ..wards import ward_name
from . import DomainError
from .audit import record
from .calendar import expected_paid_date, paper_notices_resume, portal_shows
from .inputs import within_column
from .permissions import CUSTOMER_DESK, requires

# How long an identity confirmation lets the operator disclose the e-mail address (R6).
IDENTITY_VALID_FOR = timedelta(minutes=30)
AUDIT_ROWS_SHOWN = 50

IDENTITY_METHODS = {
    "contract_details": "お客さま番号・契約者名・使用場所の一致",
    "registered_phone": "登録電話番号からの着信・折り返し",
    "documents": "本人確認書類の確認（来所）",
}

REVEALABLE = {
    "email": "メールアドレス",
    "sms_phone": "SMS認証用携帯電話番号",
    "contract_phone": "契約時の電話番号",
    "bank_last4": "口座番号下4桁",
    "usage_address": "使用場所（番地・建物）",
    "mailing_address": "送付先",
    "applicant_phone": "申込者の電話番号",
    "applicant_email": "申込者のメールアドレス",
}

NEXT_STEP = {
    RegistrationStep.EMAIL_VERIFIED: "利用者情報の入力前で止まっています。メールアドレスの登録からやり直していただいてください。",
    RegistrationStep.USER_INFO: "契約情報の入力前で止まっています。メールアドレスの登録からやり直していただいてください。",
    RegistrationStep.CONTRACT_INFO: "SMS認証の前で止まっています。マイページにログインし、SMSで届いた認証コードを入力していただいてください。",
}


# ---------------------------------------------------------------- masking

def mask_phone(raw: str | None) -> str:
    """090-****-5678: only the last four digits."""
    digits = normalise.phone_digits(raw)
    if not digits:
        return ""
    return "＊" * max(len(digits) - 4, 0) + digits[-4:]


def mask_email(raw: str | None) -> str:
    """y＊＊＊@example.jp."""
    if not raw or "@" not in raw:
        return "＊＊＊" if raw else ""
    local, _, domain = raw.partition("@")
    return f"{local[:1]}＊＊＊@{domain}"


def mask_all(raw: str | None) -> str:
    """＊＊＊＊ for any present value."""
    return "＊＊＊＊" if raw else ""


def masked_usage_location(contract: Contract) -> str:
    """Ward and town only: enough to tell contracts apart on the phone."""
    return f"{ward_name(contract.ward_code)}{contract.town} ＊＊＊"


# ---------------------------------------------------------------- registration (R1, R17)

def registration_next_step(account: PortalAccount) -> str | None:
    """What the customer must do next, in Japanese; None when nothing is pending (R1, Q6)."""
    if account.withdrawn_at is not None:
        return "退会済みです。同じメールアドレスで再登録できます。"
    if account.registration_status == RegistrationStatus.VOID:
        return "使用開始申込が承認されなかったため、仮登録は取り消されました。改めて登録していただいてください。"
    if account.registration_step in NEXT_STEP:
        return NEXT_STEP[account.registration_step]
    if account.registration_status == RegistrationStatus.PROVISIONAL:
        return "仮登録です。使用開始申込の審査が終わると本登録になります（結果はメールでお知らせ）。"
    return None


# ---------------------------------------------------------------- the view model

@dataclass
class BillLine:
    """A bill with what the operator needs to say about it."""

    bill: Bill
    portal_shows: bool
    expected_paid_on: date | None


@dataclass
class ContractPanel:
    """One contract on the customer view."""

    contract: Contract
    link: AccountLink | None
    holders: list[HolderHistory]
    bills: list[BillLine]
    paper_notice: str
    name_changes: list[NameChange] = field(default_factory=list)
    reissues: list[ReissueRequest] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    stop_applications: list[StopApplication] = field(default_factory=list)
    payment_changes: list[PaymentMethodChange] = field(default_factory=list)

    @property
    def pending_name_change(self) -> NameChange | None:
        """A name change waiting for a supervisor (shown prominently)."""
        return next((n for n in self.name_changes if n.status == "pending"), None)


@dataclass
class CustomerView:
    """Everything the customer view page shows."""

    account: PortalAccount | None
    panels: list[ContractPanel]
    ended_links: list[AccountLink]
    start_applications: list[StartApplication]
    mails: list[tuple[Delivery, Notification]]
    audit: list[AuditEvent]
    identity: AuditEvent | None
    next_step: str | None
    too_many_numbers: bool
    # This operator's last identity confirmation when it is no longer valid (the page says since when).
    identity_expired: AuditEvent | None = None

    @property
    def identity_minutes_left(self) -> int:
        """How long the identity confirmation still counts, in whole minutes (0: none or expired)."""
        return identity_minutes_left(self.identity)

    @property
    def customer_numbers(self) -> list[str]:
        """Customer numbers on this page, main first."""
        return [p.contract.customer_number for p in self.panels]


def _paper_notice_text(contract: Contract, link: AccountLink | None, withdrawn_link: AccountLink | None) -> str:
    """Whether paper usage notices are issued for this contract (R8, R9)."""
    if link is not None and link.account.withdrawn_at is None and link.account.registration_status == "full":
        return "マイページ利用中のため、紙のお知らせ票は発行されません。"
    if withdrawn_link is not None and withdrawn_link.account.withdrawn_at is not None:
        withdrawn_on = withdrawn_link.account.withdrawn_at.astimezone(clock.TOKYO).date()
        resume = paper_notices_resume(withdrawn_on, contract.meter_reading_day)
        return f"退会（{withdrawn_on:%Y-%m-%d}）により、{resume.year}年{resume.month}月分から紙のお知らせ票を再開します。"
    return "紙のお知らせ票を発行しています。"


def _panels(contracts: list[Contract], account: PortalAccount | None, today: date) -> list[ContractPanel]:
    """Panels for contracts, in a fixed number of queries whatever their count."""
    ids = [c.id for c in contracts]
    holders = defaultdict(list)
    for h in db.session.scalars(
        select(HolderHistory).where(HolderHistory.contract_id.in_(ids)).order_by(HolderHistory.effective_from.desc())
    ):
        holders[h.contract_id].append(h)
    bills = defaultdict(list)
    for b in db.session.scalars(select(Bill).where(Bill.contract_id.in_(ids)).order_by(Bill.period.desc())):
        expected = expected_paid_date(b.paid_on) if b.paid_on and b.payment_status == "unpaid" else None
        bills[b.contract_id].append(BillLine(b, portal_shows(b.period, today), expected))
    links = defaultdict(list)
    for link in db.session.scalars(
        select(AccountLink)
        .where(AccountLink.contract_id.in_(ids))
        .options(selectinload(AccountLink.account))
        .order_by(AccountLink.linked_at.desc())
    ):
        links[link.contract_id].append(link)
    by_contract = {name: defaultdict(list) for name in ("name", "reissue", "stop", "payment", "handover")}
    for n in db.session.scalars(
        select(NameChange).where(NameChange.contract_id.in_(ids)).order_by(NameChange.requested_at.desc())
    ):
        by_contract["name"][n.contract_id].append(n)
    for r in db.session.scalars(
        select(ReissueRequest)
        .where(ReissueRequest.contract_id.in_(ids))
        .options(selectinload(ReissueRequest.items))
        .order_by(ReissueRequest.requested_at.desc())
    ):
        by_contract["reissue"][r.contract_id].append(r)
    for s in db.session.scalars(select(StopApplication).where(StopApplication.contract_id.in_(ids))):
        by_contract["stop"][s.contract_id].append(s)
    for p in db.session.scalars(select(PaymentMethodChange).where(PaymentMethodChange.contract_id.in_(ids))):
        by_contract["payment"][p.contract_id].append(p)
    for item, handover in db.session.execute(
        select(HandoverItem, Handover).join(Handover).where(HandoverItem.contract_id.in_(ids))
    ):
        by_contract["handover"][item.contract_id].append(handover)

    panels = []
    for contract in contracts:
        contract_links = links[contract.id]
        active = next((lk for lk in contract_links if lk.ended_at is None), None)
        withdrawn = None
        if account is not None and account.withdrawn_at is not None:
            withdrawn = next((lk for lk in contract_links if lk.account_id == account.id), None)
        panels.append(
            ContractPanel(
                contract=contract,
                link=active,
                holders=holders[contract.id],
                bills=bills[contract.id],
                paper_notice=_paper_notice_text(contract, active, withdrawn),
                name_changes=by_contract["name"][contract.id],
                reissues=by_contract["reissue"][contract.id],
                handovers=by_contract["handover"][contract.id],
                stop_applications=by_contract["stop"][contract.id],
                payment_changes=by_contract["payment"][contract.id],
            )
        )
    return panels


def _audit_rows(customer_numbers: list[str], account: PortalAccount | None) -> list[AuditEvent]:
    conditions = [AuditEvent.customer_number.in_(customer_numbers)] if customer_numbers else []
    if account is not None:
        conditions.append((AuditEvent.target_type == "portal_account") & (AuditEvent.target_id == str(account.id)))
    if not conditions:
        return []
    return list(
        db.session.scalars(select(AuditEvent).where(or_(*conditions)).options(selectinload(AuditEvent.staff))
                           .order_by(AuditEvent.at.desc()).limit(AUDIT_ROWS_SHOWN))
    )


def latest_identity_confirmation(actor: Staff, account: PortalAccount) -> AuditEvent | None:
    """This operator's latest identity confirmation for this account, however old."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == "customer.identity_confirmed",
            AuditEvent.staff_id == actor.id,
            AuditEvent.target_type == "portal_account",
            AuditEvent.target_id == str(account.id),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )


def identity_valid_until(event: AuditEvent) -> datetime:
    """When a recorded identity confirmation stops counting (R6: IDENTITY_VALID_FOR after it)."""
    return event.at + IDENTITY_VALID_FOR


def identity_minutes_left(event: AuditEvent | None) -> int:
    """Whole minutes (rounded up) an identity confirmation still counts for; 0 when none or expired."""
    if event is None:
        return 0
    left = (identity_valid_until(event) - clock.now()).total_seconds()
    return max(0, math.ceil(left / 60))


def recent_identity_confirmation(actor: Staff, account: PortalAccount) -> AuditEvent | None:
    """This operator's identity confirmation for this account within IDENTITY_VALID_FOR, if any."""
    event = latest_identity_confirmation(actor, account)
    return event if event is not None and identity_valid_until(event) > clock.now() else None


def require_identity(actor: Staff, account: PortalAccount, before: str) -> AuditEvent:
    """The recorded identity check that revealing the e-mail, unlocking and a password reset need (R6, R7).

    `before` says what waits for it ("ロックを解除する前に"); the refusal tells the operator to confirm first."""
    event = recent_identity_confirmation(actor, account)
    if event is not None:
        return event
    minutes = int(IDENTITY_VALID_FOR.total_seconds() // 60)
    last = latest_identity_confirmation(actor, account)
    if last is None:
        raise DomainError(f"{before}、本人確認を行い記録してください（記録から{minutes}分間有効です）。", field="identity")
    at = last.at.astimezone(clock.TOKYO)
    raise DomainError(
        f"本人確認（{at:%H:%M}）から{minutes}分を過ぎたため、確認は無効になりました。"
        f"{before}、もう一度本人確認を行い記録してください。",
        field="identity",
    )


@requires(CUSTOMER_DESK)
def view_account(actor: Staff, account_id: int, *, today: date) -> CustomerView:
    """The customer view of a portal account; opening it is audited."""
    account = db.session.get(PortalAccount, account_id)
    if account is None:
        raise DomainError("該当するマイページ利用者が見つかりません。")
    links = list(
        db.session.scalars(
            select(AccountLink)
            .where(AccountLink.account_id == account.id)
            .options(selectinload(AccountLink.contract))
            .order_by(AccountLink.is_main.desc(), AccountLink.linked_at)
        )
    )
    # A withdrawn account's ended links still tell which contracts get paper notices again (R8).
    shown = [lk for lk in links if lk.ended_at is None] or (links if account.withdrawn_at else [])
    ended = [lk for lk in links if lk not in shown]
    panels = _panels([lk.contract for lk in shown], account, today)
    numbers = [p.contract.customer_number for p in panels]
    view = CustomerView(
        account=account,
        panels=panels,
        ended_links=ended,
        start_applications=list(
            db.session.scalars(
                select(StartApplication)
                .where(StartApplication.account_id == account.id)
                .order_by(StartApplication.received_at.desc())
            )
        ),
        mails=list(
            db.session.execute(
                select(Delivery, Notification)
                .join(Notification)
                .where(Delivery.account_id == account.id)
                .order_by(Notification.created_at.desc())
                .limit(AUDIT_ROWS_SHOWN)
            )
        ),
        audit=_audit_rows(numbers, account),
        identity=recent_identity_confirmation(actor, account),
        next_step=registration_next_step(account),
        too_many_numbers=len([lk for lk in links if lk.ended_at is None]) > 20,
    )
    if view.identity is None:
        view.identity_expired = latest_identity_confirmation(actor, account)
    record(actor, "customer.view", target=account, customer_number=numbers[0] if numbers else None)
    return view


@requires(CUSTOMER_DESK)
def view_contract(actor: Staff, contract_id: int, *, today: date) -> CustomerView:
    """The customer view of one contract (no portal account needed); opening it is audited."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise DomainError("該当する契約が見つかりません。")
    panels = _panels([contract], None, today)
    link = panels[0].link
    view = CustomerView(
        account=link.account if link else None,
        panels=panels,
        ended_links=[],
        start_applications=[],
        mails=[],
        audit=_audit_rows([contract.customer_number], None),
        identity=None,
        next_step=None,
        too_many_numbers=False,
    )
    record(actor, "customer.view", target=contract, customer_number=contract.customer_number)
    return view


# ---------------------------------------------------------------- reveal and identity (R6)

def account_holds(account: PortalAccount, contract: Contract) -> bool:
    """Whether the contract is, or was, linked to the account."""
    return db.session.scalar(
        select(AccountLink.id).where(AccountLink.account_id == account.id, AccountLink.contract_id == contract.id).limit(1)
    ) is not None


@requires(CUSTOMER_DESK)
def confirm_identity(actor: Staff, account: PortalAccount, method: str, note: str | None = None) -> AuditEvent:
    """Record that the caller's identity was confirmed, and how (before disclosing the e-mail, R6)."""
    if method not in IDENTITY_METHODS:
        raise DomainError("本人確認の方法を選んでください。", field="method")
    return record(
        actor,
        "customer.identity_confirmed",
        target=account,
        reason=IDENTITY_METHODS[method] + (f"：{normalise.nfkc(note)}" if note and note.strip() else ""),
        detail={"method": method},
    )


@requires(CUSTOMER_DESK)
def reveal(actor: Staff, *, field_name: str, reason: str, account: PortalAccount | None = None,
           contract: Contract | None = None, application: StartApplication | None = None) -> str:
    """The unmasked value of one field, with the reason audited. The e-mail needs identity confirmed first.

    A start application's phone and e-mail (applicant_phone, applicant_email) are masked on its page like
    everywhere else and revealed here the same way, audited against the application."""
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if field_name not in REVEALABLE:
        raise DomainError("表示できない項目です。")
    if len(reason) < 2:
        raise DomainError("表示する理由を入力してください。", field="reason")
    if field_name in ("applicant_phone", "applicant_email"):
        if application is None:
            raise DomainError("使用開始申込が特定されていません。")
        target, customer_number = application, None
        if field_name == "applicant_phone":
            value = application.phone
        else:
            value = application.account.email if application.account is not None else application.email
    elif field_name in ("email", "sms_phone"):
        if account is None:
            raise DomainError("マイページ利用者が特定されていません。")
        if field_name == "email":
            require_identity(actor, account, "メールアドレスをお伝えする前に")
        value = account.email if field_name == "email" else account.sms_phone
        target, customer_number = account, None
    else:
        if contract is None:
            raise DomainError("契約が特定されていません。")
        target, customer_number = contract, contract.customer_number
        value = {
            "contract_phone": contract.contract_phone,
            "bank_last4": contract.bank_last4 if contract.payment_method == PaymentMethod.BANK_TRANSFER else None,
            "usage_address": contract.usage_location,
            "mailing_address": contract.mailing_address or contract.usage_location,
        }[field_name]
    record(actor, "customer.reveal", target=target, customer_number=customer_number, reason=reason,
           detail={"field": field_name})
    return value or "（登録なし）"


@requires(CUSTOMER_DESK)
def view_contract_form(actor: Staff, contract: Contract, form: str) -> None:
    """A form about one contract (name change, reissue, stop) shows its holder and address: audited as a view."""
    record(actor, "customer.view", target=contract, customer_number=contract.customer_number, detail={"form": form})
