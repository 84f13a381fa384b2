"""Name changes of the contract holder with a second pair of eyes (R12, Q29, Q30).

An operator records the request; a different staff member with the supervisor role approves or
returns it. Deciding is one conditional UPDATE, so two people deciding at once get one outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from .. import clock, normalise
from ..extensions import db
from ..models import (
    Bill,
    ChangeStatus,
    Contract,
    Handover,
    HolderHistory,
    HolderKind,
    NameChange,
    PaymentStatus,
    Role,
    Staff,
)
from ..wards import ward_name
from . import DomainError
from .audit import record
from .inputs import optional_text, require_text
from .permissions import CUSTOMER_DESK, SUPERVISORS, requires


@dataclass
class CarryOver:
    """What passes to the new holder, so the operator can say so on the phone."""

    unpaid_count: int
    unpaid_total: int
    payment_method: str
    mailing_address: str | None


def carry_over(contract: Contract) -> CarryOver:
    """Unpaid bills, payment method and mailing address that the new holder takes over."""
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Bill.water_charge + Bill.sewer_charge), 0)).where(
            Bill.contract_id == contract.id, Bill.payment_status == PaymentStatus.UNPAID
        )
    ).one()
    return CarryOver(count, int(total), contract.payment_method, contract.mailing_address)


def _current_holder(contract: Contract) -> HolderHistory | None:
    return db.session.scalar(
        select(HolderHistory)
        .where(HolderHistory.contract_id == contract.id, HolderHistory.effective_to.is_(None))
        .order_by(HolderHistory.effective_from.desc())
        .limit(1)
    )


@requires(CUSTOMER_DESK)
def request_name_change(
    actor: Staff,
    contract: Contract,
    *,
    new_holder_name: str,
    new_holder_kana: str,
    new_holder_kind: str,
    effective_date: date,
    identity_check: str,
    documents_checked: str | None = None,
    note: str | None = None,
    handover_id: int | None = None,
) -> NameChange:
    """Record a name change for approval; nothing about the holder changes yet."""
    name = require_text(new_holder_name, column=NameChange.new_holder_name, label="新しい契約者名")
    kana = require_text(new_holder_kana, column=NameChange.new_holder_kana, label="新しい契約者名（カナ）", kana=True)
    try:
        kind = HolderKind(new_holder_kind)
    except ValueError:
        raise DomainError("個人・法人の区分を選んでください。", field="new_holder_kind") from None
    identity_check = require_text(identity_check, column=NameChange.identity_check, label="本人確認・書類確認の方法")
    documents_checked = optional_text(documents_checked, column=NameChange.documents_checked, label="確認した書類")
    note = optional_text(note, column=NameChange.note, label="備考")
    if effective_date is None:
        raise DomainError("名義変更日を入力してください。", field="effective_date")
    if contract.stop_date is not None and effective_date > contract.stop_date:
        raise DomainError("使用中止日より後の日付では名義変更できません。", field="effective_date")
    current = _current_holder(contract)
    if current is not None and effective_date <= current.effective_from:
        raise DomainError(
            f"名義変更日は現在の契約者の開始日（{current.effective_from:%Y-%m-%d}）より後にしてください。",
            field="effective_date",
        )
    pending = db.session.scalar(
        select(NameChange.id).where(NameChange.contract_id == contract.id, NameChange.status == ChangeStatus.PENDING)
    )
    if pending is not None:
        raise DomainError("この契約には承認待ちの名義変更があります。先にそちらを承認または差戻ししてください。")
    # Compared as written: 高橋 → 髙橋 corrects the register's spelling, though both have one lookup key.
    if normalise.spelling_key(name) == normalise.spelling_key(contract.holder_name) and kind == contract.holder_kind:
        raise DomainError("新しい契約者名が現在の契約者名と同じです。")
    change = NameChange(
        contract_id=contract.id,
        new_holder_name=name,
        new_holder_kana=kana,
        new_holder_kind=kind,
        effective_date=effective_date,
        identity_check=identity_check,
        documents_checked=documents_checked,
        note=note,
        requested_by_id=actor.id,
        handover_id=handover_id,
    )
    db.session.add(change)
    db.session.flush()
    record(
        actor, "name_change.request", target=change, customer_number=contract.customer_number,
        detail={"from": contract.holder_name, "to": name, "effective_date": effective_date.isoformat()},
    )
    return change


def _decide(actor: Staff, change_id: int, status: ChangeStatus, note: str | None) -> NameChange:
    change = db.session.get(NameChange, change_id)
    if change is None:
        raise DomainError("該当する名義変更がありません。")
    if change.requested_by_id == actor.id:
        raise DomainError("自分が受け付けた名義変更は、自分で承認・差戻しできません。別の担当者に依頼してください。")
    # One statement decides: a second decision (another tab, another person) updates nothing.
    result = db.session.execute(
        update(NameChange)
        .where(
            NameChange.id == change_id,
            NameChange.status == ChangeStatus.PENDING,
            NameChange.requested_by_id != actor.id,
        )
        .values(status=status, decided_by_id=actor.id, decided_at=clock.now(), decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("この名義変更はすでに処理されています。画面を更新して確認してください。")
    db.session.refresh(change)
    return change


def may_decide(actor: Staff, change: NameChange) -> bool:
    """Maker-checker: a supervisor other than the one who recorded it may approve or return a pending change."""
    return (actor.has_role(Role.SUPERVISOR) and change.requested_by_id != actor.id
            and change.status == ChangeStatus.PENDING)


def _refresh_handover(change: NameChange) -> None:
    # A change that is step ① of a handover may complete the case (R13). Imported here because the
    # handover service opens its name changes through this module.
    if change.handover_id is not None:
        from .handovers import refresh_status

        refresh_status(db.session.get(Handover, change.handover_id))


@requires(SUPERVISORS, message="名義変更の承認・差戻しはスーパーバイザーが行います。")
def approve_name_change(actor: Staff, change_id: int, note: str | None = None) -> NameChange:
    """Approve: the holder history gets a new entry from the effective date; nothing old is overwritten."""
    note = optional_text(note, column=NameChange.decision_note, label="承認のメモ", field="note")
    change = _decide(actor, change_id, ChangeStatus.APPROVED, note)
    contract = db.session.get(Contract, change.contract_id, with_for_update=True)
    current = _current_holder(contract)
    if current is not None:
        if change.effective_date <= current.effective_from:
            raise DomainError("名義変更日が現在の契約者の開始日以前になっています。差戻ししてください。")
        current.effective_to = change.effective_date - timedelta(days=1)
    db.session.add(
        HolderHistory(
            contract_id=contract.id,
            holder_name=change.new_holder_name,
            holder_kana=change.new_holder_kana,
            holder_kind=change.new_holder_kind,
            effective_from=change.effective_date,
            name_change_id=change.id,
        )
    )
    previous = contract.holder_name
    contract.holder_name = change.new_holder_name
    contract.holder_kana = change.new_holder_kana
    contract.holder_kind = change.new_holder_kind
    db.session.flush()
    record(
        actor, "name_change.approve", target=change, customer_number=contract.customer_number, reason=change.decision_note,
        detail={"from": previous, "to": change.new_holder_name, "requested_by": change.requested_by_id},
    )
    _refresh_handover(change)
    return change


@requires(SUPERVISORS, message="名義変更の承認・差戻しはスーパーバイザーが行います。")
def return_name_change(actor: Staff, change_id: int, note: str) -> NameChange:
    """Send back to the operator with a reason; the holder stays as it is."""
    note = require_text(note, column=NameChange.decision_note, label="差戻しの理由", field="note")
    change = _decide(actor, change_id, ChangeStatus.RETURNED, note)
    record(actor, "name_change.return", target=change, customer_number=change.contract.customer_number, reason=note)
    _refresh_handover(change)
    return change


def change_group_key(change: NameChange) -> str | None:
    """Which building a change belongs to: its handover, else the building of its usage location."""
    if change.handover_id is not None:
        return f"handover:{change.handover_id}"
    contract = change.contract
    if contract.building:
        return (f"building:{contract.ward_code}:{normalise.address_key(contract.town + contract.address_line)}:"
                f"{normalise.name_key(contract.building)}")
    return None


@dataclass
class ChangeGroup:
    """Name changes of one building (or one handover), decided together on the list."""

    key: str | None
    title: str
    changes: list[NameChange]

    @property
    def pending(self) -> list[NameChange]:
        """The group's changes still waiting for a decision."""
        return [c for c in self.changes if c.status == ChangeStatus.PENDING]


def group_name_changes(changes: list[NameChange]) -> list[ChangeGroup]:
    """The list's rows by building, in the order of each building's oldest request; a lone change is its own group."""
    groups: dict[object, ChangeGroup] = {}
    handovers = {h.id: h for h in db.session.scalars(
        select(Handover).where(Handover.id.in_({c.handover_id for c in changes if c.handover_id is not None}))
    )}
    for change in changes:
        key = change_group_key(change)
        if key is None:
            groups[("single", change.id)] = ChangeGroup(None, "", [change])
            continue
        if key not in groups:
            contract = change.contract
            if change.handover_id is not None:
                handover = handovers[change.handover_id]
                title = f"管理会社の変更 #{handover.id}：{handover.old_company_name} → {handover.new_company_name}"
            else:
                title = f"{ward_name(contract.ward_code)}{contract.town} {contract.building}"
            groups[key] = ChangeGroup(key, title, [])
        groups[key].changes.append(change)
    return list(groups.values())


@requires(SUPERVISORS, message="名義変更の承認・差戻しはスーパーバイザーが行います。")
def approve_name_changes(actor: Staff, change_ids: list[int], note: str | None = None) -> list[NameChange]:
    """Approve one building's pending changes as one decision: all of them, or none.

    Each is approved by approve_name_change (maker-checker and one audit entry per request) inside one
    savepoint; the first that cannot be approved undoes the others and is named in the refusal."""
    ids = list(dict.fromkeys(change_ids))
    if not ids:
        raise DomainError("一括で承認する名義変更がありません。画面を更新してやり直してください。")
    optional_text(note, column=NameChange.decision_note, label="承認のメモ", field="note")
    found = {c.id: c for c in db.session.scalars(
        select(NameChange).where(NameChange.id.in_(ids)).options(selectinload(NameChange.contract))
    )}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(f"名義変更 #{missing[0]} が見つかりません。画面を更新してやり直してください。")
    keys = {change_group_key(found[i]) for i in ids}
    if len(ids) > 1 and (len(keys) != 1 or None in keys):
        raise DomainError("一括で承認できるのは、同じ建物（または同じ管理会社の変更）の名義変更だけです。1件も承認していません。")
    approved: list[NameChange] = []
    current = None
    try:
        with db.session.begin_nested():
            for change_id in ids:
                current = found[change_id]
                approved.append(approve_name_change(actor, change_id, note))
    except DomainError as exc:
        raise DomainError(
            f"名義変更 #{current.id}（お客さま番号 {current.contract.customer_number}）を承認できないため、"
            f"{len(ids)}件とも承認していません：{exc.message}"
        ) from exc
    return approved


@requires(CUSTOMER_DESK)
def list_name_changes(actor: Staff, status: str, *, limit: int = 500) -> list[NameChange]:
    """Name changes of one status, oldest first, with their contracts; the list shows holders, so it is audited."""
    query = select(NameChange).options(selectinload(NameChange.contract), selectinload(NameChange.requested_by)).order_by(
        NameChange.requested_at)
    if status in {s.value for s in ChangeStatus}:
        query = query.where(NameChange.status == status)
    changes = db.session.scalars(query.limit(limit)).all()
    record(actor, "name_change.list", detail={"status": status, "rows": len(changes)})
    return changes


@requires(CUSTOMER_DESK)
def view_name_change(actor: Staff, change: NameChange) -> CarryOver:
    """The detail page's context (what carries over); it shows both holders' names, so it is audited."""
    carry = carry_over(change.contract)
    record(actor, "name_change.view", target=change, customer_number=change.contract.customer_number)
    return carry
