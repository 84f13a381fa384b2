"""Management-company handovers (R13, R5, Q30): a building's customer numbers move from one company
to the next in three steps — (1) name change to the new company, approved by a second person;
(2) the old company's account lets go (withdraws, or staff unlink with a reason and it is told by
mail); (3) the new company registers or has the numbers added to its account."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock, normalise
from ..extensions import db
from ..models import (
    AccountLink,
    AuditEvent,
    ChangeStatus,
    Contract,
    Handover,
    HandoverItem,
    HandoverStatus,
    HolderKind,
    LinkSource,
    NameChange,
    Notification,
    NotificationKind,
    PortalAccount,
    Staff,
)
from . import DomainError
from .audit import record
from .customer import mask_email
from .holders import request_name_change
from .inputs import optional_text, require_text, within_column
from .links import link_contract, unlink
from .mail import record_mail
from .permissions import CUSTOMER_DESK, requires

# A company's legal form is written in many ways (株式会社, (株), ㈱ after NFKC): ignored when names are compared.
_LEGAL_FORM_RE = re.compile(r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|\((株|有|同|資|名)\)")

STEP_NAME_CHANGE, STEP_RELEASE, STEP_LINK, STEP_DONE = 1, 2, 3, 4
STEP_LABELS = {
    STEP_NAME_CHANGE: "① 名義変更の承認待ち",
    STEP_RELEASE: "② 旧管理会社の登録解除待ち",
    STEP_LINK: "③ 新管理会社の登録待ち",
    STEP_DONE: "完了",
}


@dataclass
class ItemState:
    """Where one customer number of a handover stands, computed from the rows themselves."""

    item: HandoverItem
    name_change: NameChange | None
    old_link: AccountLink | None
    current_link: AccountLink | None

    @property
    def step(self) -> int:
        if self.name_change is None or self.name_change.status != ChangeStatus.APPROVED:
            return STEP_NAME_CHANGE
        if self.old_link is not None:
            return STEP_RELEASE
        if self.current_link is None:
            return STEP_LINK
        return STEP_DONE

    @property
    def blocker(self) -> str:
        """What the operator must do next for this number, in Japanese."""
        if self.step == STEP_NAME_CHANGE:
            if self.name_change is not None and self.name_change.status == ChangeStatus.RETURNED:
                return "名義変更が差し戻されました。内容を確認して再申請してください。"
            return "スーパーバイザーによる名義変更の承認を待っています。"
        if self.step == STEP_RELEASE:
            return f"旧管理会社のマイページ利用者（#{self.old_link.account_id}）に登録されたままです。"
        if self.step == STEP_LINK:
            return "新管理会社のマイページ登録（またはお客さま番号の追加）を待っています。"
        return ""


def _require_open(handover: Handover) -> None:
    """A finished case (done or cancelled) takes no more actions."""
    if handover.status != HandoverStatus.OPEN:
        raise DomainError(
            f"この管理会社の変更は「{HandoverStatus(handover.status).label}」です。これ以上の操作はできません。"
        )


def company_key(name: str | None) -> str:
    """A company name for comparison: name_key without its legal form (株式会社 新管理 = 新管理(株))."""
    return normalise.name_key(_LEGAL_FORM_RE.sub("", normalise.nfkc(name)))


def names_match(account: PortalAccount, handover: Handover) -> bool:
    """Whether the account's registered name is the incoming company's (kanji or kana, legal form aside)."""
    wanted = {company_key(handover.new_company_name), company_key(handover.new_company_kana)} - {""}
    given = {company_key(account.name), company_key(account.name_kana)} - {""}
    return bool(wanted & given)


@dataclass
class NewAccountCheck:
    """Step ③'s first half: whose account the typed number is, before anything is linked to it."""

    account: PortalAccount
    name_matches: bool
    waiting: int

    @property
    def masked_email(self) -> str:
        """The account's address as every page shows it: masked."""
        return mask_email(self.account.email)


def _customer_numbers(raw: str) -> list[str]:
    numbers, bad = [], []
    for token in normalise.nfkc(raw).replace("、", ",").replace(",", " ").split():
        number = normalise.customer_number(token)
        (numbers if number else bad).append(number or token)
    if bad:
        raise DomainError(f"お客さま番号の形式が正しくありません：{'、'.join(bad[:5])}", field="customer_numbers")
    if not numbers:
        raise DomainError("お客さま番号を1件以上入力してください。", field="customer_numbers")
    return list(dict.fromkeys(numbers))


@requires(CUSTOMER_DESK)
def open_handover(
    actor: Staff,
    *,
    old_company_name: str,
    new_company_name: str,
    new_company_kana: str,
    customer_numbers: str,
    target_date: date,
    identity_check: str,
    old_account_id: int | None = None,
    note: str | None = None,
) -> Handover:
    """Open a case for many customer numbers at once; each gets its name change request (step 1)."""
    old_company_name = require_text(old_company_name, column=Handover.old_company_name, label="旧管理会社名")
    new_company_name = require_text(new_company_name, column=Handover.new_company_name, label="新管理会社名")
    new_company_kana = optional_text(new_company_kana, column=Handover.new_company_kana, label="新管理会社名（カナ）",
                                     kana=True)
    note = optional_text(note, column=Handover.note, label="備考")
    if target_date is None:
        raise DomainError("変更予定日を入力してください。", field="target_date")
    numbers = _customer_numbers(customer_numbers)
    contracts = {c.customer_number: c for c in db.session.scalars(
        select(Contract).where(Contract.customer_number.in_(numbers))
    )}
    missing = [n for n in numbers if n not in contracts]
    if missing:
        raise DomainError(f"見つからないお客さま番号があります：{'、'.join(missing[:10])}", field="customer_numbers")
    old_account = db.session.get(PortalAccount, old_account_id) if old_account_id else None
    if old_account_id and old_account is None:
        raise DomainError("旧管理会社のマイページ利用者が見つかりません。", field="old_account_id")
    handover = Handover(
        old_company_name=old_company_name,
        old_account_id=old_account_id,
        new_company_name=new_company_name,
        new_company_kana=new_company_kana or "",
        target_date=target_date,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(handover)
    db.session.flush()
    for number in numbers:
        contract = contracts[number]
        change = request_name_change(
            actor, contract, new_holder_name=handover.new_company_name, new_holder_kana=handover.new_company_kana,
            new_holder_kind=HolderKind.COMPANY, effective_date=target_date, identity_check=identity_check,
            note=f"管理会社変更 #{handover.id}", handover_id=handover.id,
        )
        db.session.add(HandoverItem(handover_id=handover.id, contract_id=contract.id, name_change_id=change.id))
    db.session.flush()
    record(actor, "handover.open", target=handover,
           detail={"customer_numbers": numbers, "old": handover.old_company_name, "new": handover.new_company_name})
    return handover


def item_states(handover: Handover) -> list[ItemState]:
    """Each number's step, in a fixed number of queries."""
    items = list(db.session.scalars(
        select(HandoverItem).where(HandoverItem.handover_id == handover.id).options(selectinload(HandoverItem.contract))
    ))
    contract_ids = [i.contract_id for i in items]
    changes = {c.id: c for c in db.session.scalars(
        select(NameChange).where(NameChange.handover_id == handover.id)
    )}
    active = {lk.contract_id: lk for lk in db.session.scalars(
        select(AccountLink).where(AccountLink.contract_id.in_(contract_ids), AccountLink.ended_at.is_(None))
    )}
    states = []
    for item in items:
        link = active.get(item.contract_id)
        # The old company's link: its account's, or any link that existed before the case was opened.
        old = None
        if link is not None and (link.account_id == handover.old_account_id or link.linked_at < handover.created_at):
            old = link
        states.append(ItemState(item, changes.get(item.name_change_id), old, link if old is None else None))
    return states


def case_step(states: list[ItemState]) -> int:
    """A case is at the step of its least advanced number."""
    return min((s.step for s in states), default=STEP_DONE)


@requires(CUSTOMER_DESK)
def release_old_links(actor: Staff, handover: Handover, reason: str) -> tuple[int, list[int]]:
    """Step 2 by staff: unlink the old company's numbers (name change approved) and tell it by mail.

    Returns how many numbers were released and the notifications to send once committed.
    """
    _require_open(handover)
    reason = within_column(normalise.nfkc(reason), column=AuditEvent.reason, label="理由", field="reason")
    if not reason:
        raise DomainError("登録解除の理由を入力してください。", field="reason")
    states = [s for s in item_states(handover) if s.step == STEP_RELEASE]
    if not states:
        raise DomainError("登録解除できるお客さま番号がありません（名義変更の承認が先です）。")
    by_account: dict[int, list[str]] = {}
    for state in states:
        unlink(actor, state.old_link, reason)
        state.item.released_at = clock.now()
        by_account.setdefault(state.old_link.account_id, []).append(state.item.contract.customer_number)
    notifications = [
        _mail_release(actor, handover, db.session.get(PortalAccount, account_id), numbers).id
        for account_id, numbers in by_account.items()
    ]
    record(actor, "handover.release", target=handover, reason=reason,
           detail={"customer_numbers": [n for ns in by_account.values() for n in ns]})
    return len(states), notifications


def _mail_release(actor: Staff, handover: Handover, account: PortalAccount, numbers: list[str]) -> Notification:
    return record_mail(
        NotificationKind.LINK_RELEASED, [(account.id, account.email)], "link_released",
        {"name": account.name or handover.old_company_name, "old_company": handover.old_company_name,
         "new_company": handover.new_company_name, "customer_numbers": numbers},
        dedupe_key=f"handover-release:{handover.id}:{account.id}:{uuid.uuid4().hex[:8]}", actor=actor,
        customer_number=numbers[0],
    )


def _usable_account(account: PortalAccount | None, typed: int | None) -> PortalAccount:
    if account is None:
        shown = f" {typed}" if typed is not None else ""
        raise DomainError(f"マイページ利用者番号{shown}は見つかりません。新管理会社の利用者番号を確かめて入力してください。",
                          field="account_id")
    if account.withdrawn_at is not None or account.voided_at is not None:
        raise DomainError(f"マイページ利用者 #{account.id} は退会済み・取消済みのため登録できません。", field="account_id")
    return account


@requires(CUSTOMER_DESK)
def check_new_account(actor: Staff, handover: Handover, account_id: int | None) -> NewAccountCheck:
    """Step 3, first half: the typed account's holder name, compared with the incoming company's.

    It shows a portal account's name to the operator, so it is audited against that account."""
    _require_open(handover)
    account = _usable_account(db.session.get(PortalAccount, account_id) if account_id is not None else None,
                              account_id)
    waiting = sum(1 for s in item_states(handover) if s.step == STEP_LINK)
    check = NewAccountCheck(account, names_match(account, handover), waiting)
    record(actor, "handover.check_account", target=account,
           detail={"handover_id": handover.id, "name_matches": check.name_matches})
    return check


@requires(CUSTOMER_DESK)
def link_new_account(actor: Staff, handover: Handover, new_account: PortalAccount, *,
                     name_confirmed: bool = False) -> tuple[int, str | None]:
    """Step 3 by staff: add the released numbers to the new company's account (refused while old links remain).

    When the account's name is not the incoming company's, the operator must have confirmed that this is
    the right account (name_confirmed): a mistyped number would hand a building to a stranger."""
    _require_open(handover)
    new_account = _usable_account(new_account, None)
    matches = names_match(new_account, handover)
    if not matches and not name_confirmed:
        raise DomainError(
            f"マイページ利用者 #{new_account.id} の名義「{new_account.name or '（登録なし）'}」は、新管理会社"
            f"「{handover.new_company_name}」と異なります。この利用者で間違いないことを確かめ、"
            "「名義が異なることを確認しました」にチェックしてから登録してください。",
            field="confirm_name",
        )
    states = item_states(handover)
    blocked = [s for s in states if s.step in (STEP_NAME_CHANGE, STEP_RELEASE)]
    if blocked:
        raise DomainError(
            f"{len(blocked)}件のお客さま番号が、名義変更の承認待ちか旧管理会社に登録されたままのため、"
            "新管理会社に登録できません。"
        )
    warning = None
    linked = 0
    for state in states:
        if state.step != STEP_LINK:
            continue
        _link, warning = link_contract(actor, new_account, state.item.contract, source=LinkSource.STAFF,
                                       reason=f"管理会社変更 #{handover.id}")
        state.item.linked_at = clock.now()
        linked += 1
    if not linked:
        raise DomainError("新管理会社に登録できるお客さま番号がありません。")
    handover.new_account_id = new_account.id
    db.session.flush()
    record(actor, "handover.link_new", target=handover,
           detail={"account_id": new_account.id, "linked": linked, "account_name": new_account.name,
                   "name_matches": matches, "name_confirmed": bool(name_confirmed)})
    refresh_status(handover)
    return linked, warning


def refresh_status(handover: Handover) -> None:
    """Close the case once every number has reached the new company (also after a portal registration)."""
    if handover.status == HandoverStatus.OPEN and case_step(item_states(handover)) == STEP_DONE:
        handover.status = HandoverStatus.DONE
        handover.closed_at = clock.now()
        db.session.flush()
