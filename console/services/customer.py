"""The customer view (issue 3): everything about one account or one contract, masked by default;
revealing a value and confirming a caller's identity are audited (R6)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Row, String, bindparam, exists, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from .. import clock, formats, normalise
from ..extensions import db
from ..models import (
    AccountLink,
    AuditEvent,
    Bill,
    ChangeStatus,
    Contract,
    HolderHistory,
    NameChange,
    PaymentMethod,
    PortalAccount,
    RegistrationStatus,
    RegistrationStep,
    Staff,
    StartApplication,
)
from ..wards import ward_name
from . import DomainError
from .audit import record
from .calendar import expected_paid_date, paper_notices_resume, portal_shows
from .inputs import within_column
from .params import dialect, list_param, newest_of, walk, walk_each
from .permissions import CUSTOMER_DESK, requires

# How long an identity confirmation lets the operator disclose the e-mail address (R6).
IDENTITY_VALID_FOR = timedelta(minutes=30)
# How far back an expired confirmation is still named ("the check at 14:05 is over 30 minutes old"): one
# shift. An older one is no news to the operator, and the bound lets PostgreSQL read this month's audit
# partition instead of probing every month's.
IDENTITY_RECALLED_FOR = timedelta(hours=12)
AUDIT_ROWS_SHOWN = 50
# The customer view's audit panel covers this many days; the audit search (supervisors) covers the rest.
AUDIT_PANEL_DAYS = 90
# What a person reads on one page (issue 17): a contract's last twelve months of bills (older ones a page
# at a time, contract_bills), and an account's linked numbers twenty at a time, searchable.
BILL_MONTHS_SHOWN = 12
NUMBERS_PER_PAGE = 20

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

# What a bill line shows, read as plain rows: a company's page shows 240 bills, and loading them as ORM
# objects (kept in the session's identity map, expired again at the commit) was 6 % of its Python calls.
BILL_SHOWN = (Bill.contract_id, Bill.period, Bill.reading_date, Bill.usage_m3, Bill.water_charge, Bill.sewer_charge,
              (Bill.water_charge + Bill.sewer_charge).label("total"), Bill.due_date, Bill.payment_status, Bill.paid_on)


@dataclass
class BillLine:
    """A bill with what the operator needs to say about it."""

    bill: Row  # BILL_SHOWN's columns, as Bill names them (total included)
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
    # Pending ones only, to say that one waits for a supervisor: the history is the timeline's.
    name_changes: list[NameChange] = field(default_factory=list)
    older_bills: bool = False  # bills before the months shown exist (contract_bills pages them)

    @property
    def pending_name_change(self) -> NameChange | None:
        """A name change waiting for a supervisor (shown prominently)."""
        return next((n for n in self.name_changes if n.status == "pending"), None)


@dataclass
class NumberPage:
    """Which of an account's linked numbers the page shows: twenty at a time, narrowed by q."""

    q: str
    page: int
    matched: int  # numbers matching q (all shown-kind numbers without q)
    total: int  # all numbers of that kind on the account
    ended_total: int  # ended links not shown as panels (listed, at most NUMBERS_PER_PAGE)

    @property
    def pages(self) -> int:
        return max(1, -(-self.matched // NUMBERS_PER_PAGE))


@dataclass
class CustomerView:
    """Everything the customer view page shows."""

    account: PortalAccount | None
    panels: list[ContractPanel]
    ended_links: list[AccountLink]
    audit: list[Row]  # _audit_rows'
    identity: AuditEvent | None
    next_step: str | None
    too_many_numbers: bool
    numbers: NumberPage | None = None
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


def months_back(today: date, months: int) -> date:
    """The first day of the month `months` before today's month."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _bill_line(b: Row, today: date) -> BillLine:
    expected = expected_paid_date(b.paid_on) if b.paid_on and b.payment_status == "unpaid" else None
    return BillLine(b, portal_shows(b.period, today), expected)


def _panels(contracts: list[Contract], account: PortalAccount | None, today: date) -> list[ContractPanel]:
    """Panels for contracts, in a fixed number of queries whatever their count."""
    ids = [c.id for c in contracts]
    since = months_back(today, BILL_MONTHS_SHOWN - 1)
    holders = defaultdict(list)
    for h in db.session.scalars(
        select(HolderHistory).where(HolderHistory.contract_id.in_(ids)).order_by(HolderHistory.effective_from.desc())
    ):
        holders[h.contract_id].append(h)
    bills = defaultdict(list)
    for b in db.session.execute(
        select(*BILL_SHOWN).where(Bill.contract_id.in_(ids), Bill.period >= since).order_by(Bill.period.desc())
    ):
        bills[b.contract_id].append(_bill_line(b, today))
    # Whether older bills exist: the first one found per contract answers it. A DISTINCT over all of them
    # read every older month (a contract's history grows by one a month: 11 rows and 14 pages read, 2.0 ms
    # at city scale, cold, against 1 and 0.09 ms).
    older = set(db.session.scalars(select(Contract.id).where(
        Contract.id.in_(ids), exists().where(Bill.contract_id == Contract.id, Bill.period < since))))
    links = defaultdict(list)
    for link in db.session.scalars(
        select(AccountLink)
        .where(AccountLink.contract_id.in_(ids))
        .options(joinedload(AccountLink.account))  # in the same statement
        .order_by(AccountLink.linked_at.desc())
    ):
        links[link.contract_id].append(link)
    name_changes = defaultdict(list)
    for n in db.session.scalars(
        select(NameChange).where(NameChange.contract_id.in_(ids), NameChange.status == ChangeStatus.PENDING)
        .order_by(NameChange.requested_at.desc())
    ):
        name_changes[n.contract_id].append(n)

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
                name_changes=name_changes[contract.id],
                older_bills=contract.id in older,
            )
        )
    return panels


def _audit_rows(customer_numbers: list[str], account: PortalAccount | None) -> list[Row]:
    """Who saw and changed this customer lately: the newest AUDIT_ROWS_SHOWN audit entries of the last
    AUDIT_PANEL_DAYS days (AUDIT_SHOWN's columns). The window lets PostgreSQL read only the newest monthly
    partitions (4 of 13), instead of probing a year of them for a customer seen rarely; older entries are in
    the audit search."""
    if not customer_numbers and account is None:
        return []
    return db.session.execute(_audit_panel(bool(customer_numbers), account is not None, dialect()), {
        "since": clock.now() - timedelta(days=AUDIT_PANEL_DAYS),
        AUDITED_NUMBERS: list(customer_numbers),
        AUDITED_ACCOUNT: str(account.id) if account is not None else None,
    }).all()


AUDITED_NUMBERS, AUDITED_ACCOUNT = "customer_numbers", "account_target_id"
# What the audit panel shows of an entry (not its detail: a company's view lists its twenty numbers there).
AUDIT_SHOWN = (AuditEvent.id, AuditEvent.at, AuditEvent.staff_id, AuditEvent.staff_email, AuditEvent.action,
               AuditEvent.customer_number, AuditEvent.reason)


@lru_cache(maxsize=8)
def _audit_panel(on_numbers: bool, on_account: bool, _dialect: str):
    """_audit_rows' statement, built once per shape: the newest entries of each customer number and of the
    account, one index walk each (params.walk_each), merged, with the name of the member who acted
    (AuditEvent.actor_name's: the name, else the member's e-mail, else the copy kept in the entry).

    An OR of the numbers and the account, ordered by date, left PostgreSQL to guess how many entries a
    customer has: a guess under fifty was planned as a walk of the whole window by date (1.1 ms against
    0.4 on 1,600 entries; the city writes 8.6 M a day), a guess statistics kept too low as reading and
    sorting all 6,000 of a busy company's. A walk per key is the same plan whatever the customer, and so
    also the plan to keep when a statement is planned once (web.plans_reused)."""
    since = AuditEvent.at >= bindparam("since")
    walks = []
    if on_numbers:
        walks.append(walk_each(AuditEvent.customer_number, list_param(AUDITED_NUMBERS, String), AUDIT_SHOWN,
                               AuditEvent.at, AuditEvent.id, since, limit=AUDIT_ROWS_SHOWN))
    if on_account:
        walks.append(walk(AUDIT_SHOWN, AuditEvent.at, AuditEvent.id, AuditEvent.target_type == "portal_account",
                          AuditEvent.target_id == bindparam(AUDITED_ACCOUNT), since, limit=AUDIT_ROWS_SHOWN))
    newest = newest_of(walks, AUDIT_ROWS_SHOWN).subquery()
    actor = func.coalesce(func.nullif(Staff.name, ""), Staff.email, newest.c.staff_email).label("actor_name")
    return (select(newest.c.at, actor, newest.c.action, newest.c.customer_number, newest.c.reason)
            .outerjoin(Staff, Staff.id == newest.c.staff_id)
            .order_by(newest.c.at.desc(), newest.c.id.desc()))


def latest_identity_confirmation(actor: Staff, account: PortalAccount) -> AuditEvent | None:
    """This operator's latest identity confirmation for this account within IDENTITY_RECALLED_FOR."""
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.at >= clock.now() - IDENTITY_RECALLED_FOR,
            AuditEvent.action == "customer.identity_confirmed",
            AuditEvent.staff_id == actor.id,
            AuditEvent.target_type == "portal_account",
            AuditEvent.target_id == str(account.id),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )


def _number_filter(q: str):
    """Linked numbers narrowed by what the operator typed: a customer or settlement number's beginning,
    or part of the usage address."""
    text = normalise.nfkc(q).upper()
    address = normalise.address_key(q)
    conditions = [Contract.customer_number.startswith(text, autoescape=True),
                  Contract.settlement_number.startswith(text, autoescape=True)]
    if address:
        conditions.append(Contract.usage_address_key.contains(address, autoescape=True))
    return or_(*conditions)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def identity_valid_until(event: AuditEvent) -> datetime:
    """When a recorded identity confirmation stops counting (R6: IDENTITY_VALID_FOR after it)."""
    return event.at + IDENTITY_VALID_FOR


def identity_minutes_left(event: AuditEvent | None) -> int:
    """Whole minutes (rounded up) an identity confirmation still counts for; 0 when none or expired."""
    if event is None:
        return 0
    left = (identity_valid_until(event) - clock.now()).total_seconds()
    return max(0, math.ceil(left / 60))


def _still_valid(event: AuditEvent | None) -> bool:
    return event is not None and identity_valid_until(event) > clock.now()


def require_identity(actor: Staff, account: PortalAccount, before: str) -> AuditEvent:
    """The recorded identity check that revealing the e-mail, unlocking and a password reset need (R6, R7).

    `before` says what waits for it ("ロックを解除する前に"); the refusal tells the operator to confirm first."""
    last = latest_identity_confirmation(actor, account)
    if _still_valid(last):
        return last
    minutes = int(IDENTITY_VALID_FOR.total_seconds() // 60)
    if last is None:
        raise DomainError(f"{before}、本人確認を行い記録してください（記録から{minutes}分間有効です）。", field="identity")
    at = last.at.astimezone(clock.TOKYO)
    raise DomainError(
        f"本人確認（{at:%H:%M}）から{minutes}分を過ぎたため、確認は無効になりました。"
        f"{before}、もう一度本人確認を行い記録してください。",
        field="identity",
    )


@requires(CUSTOMER_DESK)
def view_account(actor: Staff, account_id: int, *, today: date, numbers_q: str | None = None,
                 numbers_page: int = 1) -> CustomerView:
    """The customer view of a portal account; opening it is audited.

    Its linked numbers are shown twenty at a time (main first), narrowed by numbers_q, so the page and
    its queries stay the same size for an account with one number or a thousand."""
    account = db.session.get(PortalAccount, account_id)
    if account is None:
        raise DomainError("該当するマイページ利用者が見つかりません。")
    q = normalise.nfkc(numbers_q).strip()[:40] if numbers_q else ""  # a filter, not data: longer is cut
    links = select(AccountLink).where(AccountLink.account_id == account.id)
    active = links.where(AccountLink.ended_at.is_(None))
    active_total = _count(active)
    # A withdrawn account's ended links still tell which contracts get paper notices again (R8).
    shown_kind = active if active_total or not account.withdrawn_at else links
    total = active_total if shown_kind is active else _count(links)
    matching = shown_kind.join(AccountLink.contract).where(_number_filter(q)) if q else shown_kind
    matched = _count(matching) if q else total
    page = min(max(1, numbers_page), max(1, -(-matched // NUMBERS_PER_PAGE)))
    order = (AccountLink.is_main.desc(), AccountLink.linked_at, AccountLink.id)
    # The page's links are chosen on account_link alone, then only those twenty are joined to their
    # contracts: joining a company's 1,000 numbers before sorting them took 4 ms of every page.
    page_links = (matching.with_only_columns(AccountLink.id).order_by(*order)
                  .offset((page - 1) * NUMBERS_PER_PAGE).limit(NUMBERS_PER_PAGE))
    shown = list(db.session.scalars(
        select(AccountLink).join(AccountLink.contract).options(contains_eager(AccountLink.contract))
        .where(AccountLink.id.in_(page_links)).order_by(*order)
    )) if total else []
    ended_query = links.where(AccountLink.ended_at.is_not(None)) if shown_kind is active else None
    ended = list(db.session.scalars(
        ended_query.options(selectinload(AccountLink.contract)).order_by(AccountLink.linked_at.desc())
        .limit(NUMBERS_PER_PAGE))) if ended_query is not None else []
    ended_total = _count(ended_query) if len(ended) == NUMBERS_PER_PAGE else len(ended)
    panels = _panels([lk.contract for lk in shown], account, today)
    numbers = [p.contract.customer_number for p in panels]
    identity = latest_identity_confirmation(actor, account)  # one query: valid, expired, or none
    view = CustomerView(
        account=account,
        panels=panels,
        ended_links=ended,
        audit=_audit_rows(numbers, account),
        identity=identity if _still_valid(identity) else None,
        next_step=registration_next_step(account),
        too_many_numbers=active_total > NUMBERS_PER_PAGE,
        numbers=NumberPage(q=q, page=page, matched=matched, total=total, ended_total=ended_total),
    )
    if view.identity is None:
        view.identity_expired = identity
    record(actor, "customer.view", target=account, customer_number=numbers[0] if numbers else None,
           detail={"numbers_shown": numbers} if total > 1 else None)
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
        audit=_audit_rows([contract.customer_number], None),
        identity=None,
        next_step=None,
        too_many_numbers=False,
    )
    record(actor, "customer.view", target=contract, customer_number=contract.customer_number)
    return view


@dataclass
class BillPage:
    """A contract's bills before a month, a year at a time (the customer view shows the latest year)."""

    contract: Contract
    lines: list[BillLine]
    before: date
    older: date | None  # pass as ?before= for the year before these


def parse_month(raw: str | None) -> date | None:
    """A month as staff write it (2024-03, ２０２４年３月, 令和6年3月, R6.3: formats.parse_month) → its first
    day; None when empty; a Japanese refusal when it is not a month."""
    if not normalise.nfkc(raw or "").strip():
        return None
    month = formats.parse_month(raw)
    if month is None:
        raise DomainError("請求月は YYYY-MM（例：2024-03）か 令和6年3月 の形で指定してください。")
    return month


@requires(CUSTOMER_DESK)
def contract_bills(actor: Staff, contract_id: int, *, before: date | None, today: date) -> BillPage:
    """Twelve months of one contract's bills before `before` (default: before the months the customer
    view shows), newest first; audited like the customer view."""
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise DomainError("該当する契約が見つかりません。")
    before = before or months_back(today, BILL_MONTHS_SHOWN - 1)
    rows = db.session.execute(
        select(*BILL_SHOWN).where(Bill.contract_id == contract.id, Bill.period < before)
        .order_by(Bill.period.desc()).limit(BILL_MONTHS_SHOWN + 1)).all()
    older = rows[BILL_MONTHS_SHOWN - 1].period if len(rows) > BILL_MONTHS_SHOWN else None
    record(actor, "customer.view", target=contract, customer_number=contract.customer_number,
           detail={"bills_before": before.isoformat()})
    return BillPage(contract, [_bill_line(b, today) for b in rows[:BILL_MONTHS_SHOWN]], before, older)


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
