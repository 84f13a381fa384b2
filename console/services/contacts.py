"""Contacts (応対履歴, issue 14, DESIGN.md R21): every call, visit, mail or letter recorded on an account,
a contract or (before the caller is identified) on nobody; never changed, only added to. A correction
is a new contact that points to the one it corrects; the memo is personal data, so every view of it is
audited, and after the retention period the scheduled job removes it and keeps the row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache

from flask import current_app
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import joinedload, lazyload

from .. import clock, faq, normalise
from ..extensions import db
from ..models import (
    AccountLink,
    CallerRelation,
    Contact,
    ContactCategory,
    ContactChannel,
    ContactDayCount,
    ContactDirection,
    Contract,
    FollowUp,
    OutageNotice,
    PortalAccount,
    Staff,
    with_staff_name,
)
from . import DomainError
from .audit import record
from .calendar import add_business_days
from .inputs import optional_text
from .params import ACCOUNT_ID, CONTRACT_IDS, dialect, list_param, newest_of, walk, walk_each
from .permissions import ADMINS, CUSTOMER_DESK, requires

PAGE_SIZE = 20
# Follow-ups are promised in business days (R22): at least the next one, at most about three months.
MAX_FOLLOW_UP_DAYS = 60
DEFAULT_FOLLOW_UP_DAYS = 3
# The retention job removes memos in slices, so no transaction holds millions of row locks.
MEMO_REMOVAL_BATCH = 5000
DESK_ASSIGNEE = "desk"

# A contact as lists show it: the recorder's name and the category's name, in the contact's own statement;
# neither the member's roles nor the category's FAQ questions (two more statements on every page).
_NAMES = (with_staff_name(Contact.staff), joinedload(Contact.category).lazyload(ContactCategory.questions))


@dataclass
class ContactInput:
    """What the operator typed on the contact form (raw strings), with an optional follow-up."""

    channel: str = ContactChannel.PHONE.value
    direction: str = ContactDirection.INBOUND.value
    category: str = ""  # the category's code
    caller_relation: str = CallerRelation.HOLDER.value
    caller_phone: str = ""
    memo: str = ""
    outcome: str = ""
    outage_notice_id: str = ""
    follow_up_what: str = ""
    follow_up_days: str = ""
    follow_up_assignee: str = DESK_ASSIGNEE  # "desk", "me" or a staff id


@dataclass
class ContactRow:
    """One contact as a list shows it: staff by name, corrected or not, its open promises."""

    contact: Contact
    staff_name: str
    category_name: str
    corrected_by: list[int] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    closes: FollowUp | None = None

    @property
    def corrected(self) -> bool:
        """True when a later contact corrects this one (the page shows it struck through)."""
        return bool(self.corrected_by)


@dataclass
class ContactPage:
    """A page of contacts, newest first, and the key of the next (older) page."""

    rows: list[ContactRow]
    next_before: str | None


# ---------------------------------------------------------------- categories and the FAQ


def categories(*, include_retired: bool = False) -> list[ContactCategory]:
    """The categories in their order (retired ones only when asked: they stay on old contacts)."""
    query = select(ContactCategory).order_by(ContactCategory.sort_order, ContactCategory.id)
    if not include_retired:
        query = query.where(ContactCategory.retired_at.is_(None))
    return list(db.session.scalars(query))


def faq_for(category: ContactCategory | None) -> list[faq.Question]:
    """The portal FAQ questions and answers a category covers, in the customer's own wording."""
    if category is None:
        return []
    known = faq.questions()
    return [known[q.number] for q in category.questions if q.number in known]


def _category(code: str) -> ContactCategory:
    code = normalise.nfkc(code)
    # Its FAQ questions only when a page asks for them, not on every recording.
    category = db.session.scalar(select(ContactCategory).options(lazyload(ContactCategory.questions))
                                 .where(ContactCategory.code == code)) if code else None
    if category is None:
        raise DomainError("応対の分類を選んでください。", field="category")
    if category.retired_at is not None:
        raise DomainError(f"分類「{category.name}」は使われなくなりました。別の分類を選んでください。", field="category")
    return category


# ---------------------------------------------------------------- recording


def _enum(enum_cls, value: str, label: str, field_name: str):
    try:
        return enum_cls(normalise.nfkc(value))
    except ValueError:
        raise DomainError(f"{label}を選んでください。", field=field_name) from None


def _caller_phone(raw: str) -> str | None:
    if not normalise.nfkc(raw):
        return None
    digits = normalise.phone_digits(raw)
    if not 10 <= len(digits) <= 11 or not digits.startswith("0"):
        raise DomainError("電話番号は0から始まる10桁または11桁で入力してください（例：06-6458-1132）。",
                          field="caller_phone")
    return digits


def _outage_notice(raw: str) -> int | None:
    raw = normalise.nfkc(raw)
    if not raw:
        return None
    notice = db.session.get(OutageNotice, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if notice is None:
        raise DomainError("指定された断水等のお知らせが見つかりません。お知らせを選び直してください。", field="outage")
    return notice.id


def follow_up_due(days: int, today: date | None = None) -> date:
    """The due date of a follow-up promised in `days` business days (R11's calendar, R22)."""
    return add_business_days(today or clock.today(), days)


def _follow_up_days(raw: str) -> int:
    raw = normalise.nfkc(raw) or str(DEFAULT_FOLLOW_UP_DAYS)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FOLLOW_UP_DAYS:
        raise DomainError(f"対応期限は1〜{MAX_FOLLOW_UP_DAYS}営業日後で入力してください。", field="follow_up_days")
    return int(raw)


def _assignee(actor: Staff, raw: str) -> Staff | None:
    raw = normalise.nfkc(raw) or DESK_ASSIGNEE
    if raw == DESK_ASSIGNEE:
        return None
    if raw == "me":
        return actor
    member = db.session.get(Staff, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if member is None or not member.active or not member.has_role(*CUSTOMER_DESK):
        raise DomainError("対応待ちの担当者は、オペレーターかスーパーバイザーか「窓口」から選んでください。",
                          field="follow_up_assignee")
    return member


def desk_staff() -> list[Staff]:
    """Active operators and supervisors, by name: who a follow-up may be assigned to."""
    members = db.session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name, Staff.id)).all()
    return [m for m in members if m.has_role(*CUSTOMER_DESK)]


def _new_contact(actor: Staff, data: ContactInput, *, contract: Contract | None, account: PortalAccount | None,
                 corrects: Contact | None = None) -> Contact:
    """Validate the input and add the contact (and its follow-up): nothing is written when any field is refused."""
    channel = _enum(ContactChannel, data.channel, "応対の方法（電話・窓口・メール・文書）", "channel")
    direction = _enum(ContactDirection, data.direction, "受信・発信", "direction")
    relation = _enum(CallerRelation, data.caller_relation, "お客さまとの関係", "caller_relation")
    category = _category(data.category)
    memo = optional_text(data.memo, column=Contact.memo, label="メモ")
    outcome = optional_text(data.outcome, column=Contact.outcome, label="結果")
    phone = _caller_phone(data.caller_phone)
    notice_id = _outage_notice(data.outage_notice_id)
    what = optional_text(data.follow_up_what, column=FollowUp.what, label="対応待ちの内容")
    if what is not None:
        days = _follow_up_days(data.follow_up_days)
        assignee = _assignee(actor, data.follow_up_assignee)
    contact = Contact(
        at=clock.now(), staff_id=actor.id, contract_id=contract.id if contract else None,
        account_id=account.id if account else None, channel=channel, direction=direction, category_id=category.id,
        caller_relation=relation, caller_phone=phone, memo=memo, outcome=outcome, outage_notice_id=notice_id,
        corrects_id=corrects.id if corrects else None,
    )
    db.session.add(contact)
    db.session.flush()
    customer_number = contract.customer_number if contract else None
    detail = {"category": category.code, "channel": channel.value, "outage_notice_id": notice_id}
    if corrects is not None:
        record(actor, "contact.correct", target=contact, customer_number=customer_number,
               detail={**detail, "corrects": corrects.id})
        # The corrected contact no longer counts on its day: the supervisors' figures count that day again.
        db.session.execute(delete(ContactDayCount).where(ContactDayCount.day == corrects.at.astimezone(clock.TOKYO).date()))
    else:
        record(actor, "contact.record", target=contact, customer_number=customer_number, detail=detail)
    if what is not None:
        follow_up = FollowUp(contact_id=contact.id, what=what, due_date=follow_up_due(days),
                             assignee_id=assignee.id if assignee else None, created_by_id=actor.id,
                             taken_at=clock.now() if assignee else None)
        db.session.add(follow_up)
        db.session.flush()
        record(actor, "follow_up.open", target=follow_up, customer_number=customer_number,
               detail={"due_date": follow_up.due_date.isoformat(), "assignee": assignee.name if assignee else None})
    return contact


@requires(CUSTOMER_DESK)
def record_contact(actor: Staff, data: ContactInput, *, contract: Contract | None = None,
                   account: PortalAccount | None = None) -> Contact:
    """Record one contact on a contract, an account or (caller not yet identified) on nobody."""
    if contract is not None and account is not None:
        raise DomainError("応対は契約かマイページ利用者のどちらか一方に記録してください。")
    return _new_contact(actor, data, contract=contract, account=account)


def _latest_correction(contact_id: int) -> int | None:
    return db.session.scalar(select(Contact.id).where(Contact.corrects_id == contact_id).limit(1))


@requires(CUSTOMER_DESK)
def correct_contact(actor: Staff, contact_id: int, data: ContactInput) -> Contact:
    """Record a correction: a new contact on the same customer that points to the one it corrects (R21)."""
    old = db.session.get(Contact, contact_id)
    if old is None:
        raise DomainError("訂正する応対記録が見つかりません。")
    if _latest_correction(old.id) is not None:
        raise DomainError("この応対記録はすでに訂正されています。最新の記録を開いて訂正してください。")
    return _new_contact(actor, data, contract=old.contract, account=old.account, corrects=old)


@requires(CUSTOMER_DESK)
def link_contact(actor: Staff, contact_id: int, customer_number: str) -> Contact:
    """Link a contact taken before the caller was identified to the contract of a customer number
    (the only change a contact allows besides the retention job's)."""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise DomainError("応対記録が見つかりません。")
    if contact.contract_id is not None or contact.account_id is not None:
        raise DomainError("この応対記録はすでにお客さまに紐付いています。")
    number = normalise.customer_number(customer_number)
    contract = db.session.scalar(select(Contract).where(Contract.customer_number == number)) if number else None
    if contract is None:
        raise DomainError("お客さま番号が見つかりません。英字1文字と数字9桁（例：K012345678）で入力してください。",
                          field="customer_number")
    # Conditional, so two operators linking the same contact at once cannot both succeed.
    done = db.session.execute(
        update(Contact).where(Contact.id == contact.id, Contact.contract_id.is_(None), Contact.account_id.is_(None))
        .values(contract_id=contract.id).execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise DomainError("この応対記録はすでにお客さまに紐付いています。")
    db.session.refresh(contact)
    record(actor, "contact.link", target=contact, customer_number=contract.customer_number)
    return contact


# ---------------------------------------------------------------- reading (audited: memos are personal data)


def _rows(contacts: list[Contact]) -> list[ContactRow]:
    ids = [c.id for c in contacts]
    if not ids:
        return []
    corrections: dict[int, list[int]] = {}
    for new_id, old_id in db.session.execute(select(Contact.id, Contact.corrects_id).where(Contact.corrects_id.in_(ids))):
        corrections.setdefault(old_id, []).append(new_id)
    promises: dict[int, list[FollowUp]] = {}
    closing: dict[int, FollowUp] = {}
    follow_ups = db.session.scalars(
        select(FollowUp).options(with_staff_name(FollowUp.assignee))
        .where(or_(FollowUp.contact_id.in_(ids), FollowUp.closing_contact_id.in_(ids)))
    ).all()
    for f in follow_ups:
        if f.contact_id in ids:
            promises.setdefault(f.contact_id, []).append(f)
        if f.closing_contact_id in ids:
            closing[f.closing_contact_id] = f
    return [ContactRow(c, c.staff.name, c.category.name, corrections.get(c.id, []), promises.get(c.id, []),
                       closing.get(c.id)) for c in contacts]


def newest(on_account: bool, on_contracts: bool, older: Callable, limit: int) -> Select | None:
    """A customer's newest contacts (on the account, or on any of the contracts) as a statement of (id, at),
    newest first, those `older(at, id)` lets through, at most `limit` (None: nobody to look for). The
    statement takes the account's id and the contracts' ids as the parameters ACCOUNT_ID and CONTRACT_IDS
    (the timeline builds it once and runs it for every customer).

    Each key gets its own newest-first index walk, limited, and the walks are merged: an OR over the
    account and a management company's 1,000 numbers, ordered by date, is otherwise planned as a walk of
    every contact in the city by date (342 ms for 250 numbers, 20 s for an OR with a subquery)."""
    columns = (Contact.id, Contact.at)
    walks = []
    if on_account:
        walks.append(walk(columns, Contact.at, Contact.id, Contact.account_id == bindparam(ACCOUNT_ID),
                          older(Contact.at, Contact.id), limit=limit))
    if on_contracts:
        walks.append(walk_each(Contact.contract_id, list_param(CONTRACT_IDS), columns, Contact.at, Contact.id,
                               older(Contact.at, Contact.id), limit=limit))
    return newest_of(walks, limit) if walks else None


@lru_cache(maxsize=64)
def _newest_before(on_account: bool, on_contracts: bool, paged: bool, limit: int, _dialect: str) -> Select | None:
    """`newest` for the contacts panel, built once per shape: the page's key is two more parameters,
    "before_at" and "before_id" (none on the first page)."""
    def older(at_column, id_column):
        if not paged:
            return true()
        at = bindparam("before_at")
        return or_(at_column < at, and_(at_column == at, id_column < bindparam("before_id")))

    return newest(on_account, on_contracts, older, limit)


def newest_ids(account_id: int | None, contract_ids: Sequence[int], before: tuple[datetime, int] | None,
               limit: int) -> list[int]:
    """The ids of the newest contacts on this account or these contracts older than `before` (the key
    (at, id) of the previous page's last contact; None: the first page), newest first."""
    statement = _newest_before(account_id is not None, bool(contract_ids), before is not None, limit, dialect())
    if statement is None:
        return []
    params = {ACCOUNT_ID: account_id, CONTRACT_IDS: list(contract_ids),
              "before_at": before[0] if before else None, "before_id": before[1] if before else None}
    return [row.id for row in db.session.execute(statement, params)]


def _page_key(contact: Contact) -> str:
    return f"{contact.at.astimezone(clock.UTC).strftime('%Y%m%d%H%M%S%f')}-{contact.id}"


def _parse_page_key(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    stamp, _, ident = raw.partition("-")
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=clock.UTC), int(ident)
    except ValueError:
        return None


@requires(CUSTOMER_DESK)
def for_customer(actor: Staff, *, contract: Contract | None = None, account: PortalAccount | None = None,
                 before: str | None = None, limit: int = PAGE_SIZE) -> ContactPage:
    """A customer's contacts, newest first, one keyset page at a time (before: the previous page's
    next_before), with staff names; an account's page includes the contracts it holds. Audited."""
    if (contract is None) == (account is None):
        raise DomainError("契約かマイページ利用者のどちらか一方を指定してください。")
    key = _parse_page_key(before)
    if contract is not None:
        ids = newest_ids(None, [contract.id], key, limit + 1)
    else:  # the numbers the account holds or held
        linked = db.session.scalars(select(AccountLink.contract_id).where(AccountLink.account_id == account.id))
        ids = newest_ids(account.id, sorted(set(linked)), key, limit + 1)
    contacts = list(db.session.scalars(
        select(Contact).options(*_NAMES)
        .where(Contact.id.in_(ids)).order_by(Contact.at.desc(), Contact.id.desc()))) if ids else []
    more = len(contacts) > limit
    contacts = contacts[:limit]
    if contacts:
        record(actor, "contact.list", target_type="contract" if contract else "portal_account",
               target_id=(contract or account).id, customer_number=contract.customer_number if contract else None,
               detail={"contacts": [c.id for c in contacts]})
    return ContactPage(_rows(contacts), _page_key(contacts[-1]) if more else None)


@requires(CUSTOMER_DESK)
def unidentified(actor: Staff, *, limit: int = 100) -> list[ContactRow]:
    """Contacts taken before the caller was identified and not linked yet, newest first. Audited."""
    contacts = list(db.session.scalars(
        select(Contact).options(*_NAMES)
        .where(Contact.contract_id.is_(None), Contact.account_id.is_(None))
        .order_by(Contact.at.desc(), Contact.id.desc()).limit(limit)
    ))
    if contacts:
        record(actor, "contact.list", detail={"unidentified": True, "contacts": [c.id for c in contacts]})
    return _rows(contacts)


@dataclass
class ContactDetail:
    """One contact with the chain of corrections around it."""

    row: ContactRow
    corrects: Contact | None
    corrections: list[ContactRow]


@requires(CUSTOMER_DESK)
def view_contact(actor: Staff, contact_id: int) -> ContactDetail:
    """One contact, its memo, what it corrects and what corrects it; audited."""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise DomainError("応対記録が見つかりません。")
    (row,) = _rows([contact])
    later = list(db.session.scalars(select(Contact).where(Contact.corrects_id == contact.id).order_by(Contact.id)))
    record(actor, "contact.view", target=contact,
           customer_number=contact.contract.customer_number if contact.contract else None)
    return ContactDetail(row, contact.corrects, _rows(later))


@requires(CUSTOMER_DESK)
def view_form(actor: Staff, *, contract: Contract | None = None, account: PortalAccount | None = None) -> None:
    """The contact form shows the customer it records on: audited as a view of that customer."""
    if contract is not None:
        record(actor, "customer.view", target=contract, customer_number=contract.customer_number,
               detail={"form": "contact"})
    elif account is not None:
        record(actor, "customer.view", target=account, detail={"form": "contact"})


def customer_label(contact: Contact) -> str:
    """お客さま番号 K012345678 / マイページ利用者 #12 / 未特定."""
    if contact.contract is not None:
        return contact.contract.customer_number
    if contact.account_id is not None:
        return f"マイページ利用者 #{contact.account_id}"
    return "未特定"


# ---------------------------------------------------------------- retention (R21)


def retention_cutoff(today: date, years: int) -> datetime:
    """Contacts before this instant (Japan midnight, `years` years before today) lose their memo."""
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return datetime.combine(day, time(0), tzinfo=clock.TOKYO)


@requires(ADMINS, system=True)
def remove_expired_memos(actor: Staff | None, *, today: date | None = None, batch: int = MEMO_REMOVAL_BATCH) -> int:
    """Remove the memo of every contact older than CONTACT_MEMO_RETENTION_YEARS; the rows, their
    category, time and staff stay (so the counts do). Returns how many memos were removed.

    Safe to run twice: a removed memo is NULL and is not selected again."""
    years = current_app.config["CONTACT_MEMO_RETENTION_YEARS"]
    cutoff = retention_cutoff(today or clock.today(), years)
    removed = 0
    while True:
        ids = list(db.session.scalars(
            select(Contact.id).where(Contact.at < cutoff, Contact.memo.is_not(None)).order_by(Contact.id).limit(batch)))
        if not ids:
            break
        removed += db.session.execute(
            update(Contact).where(Contact.id.in_(ids)).values(memo=None, memo_removed_at=clock.now())
            .execution_options(synchronize_session=False)).rowcount
        db.session.flush()
        if len(ids) < batch:
            break
    if removed:
        db.session.expire_all()
    record(actor, "contact.memo_removed", detail={"removed": removed, "before": cutoff.isoformat(), "years": years})
    return removed

