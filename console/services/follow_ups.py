"""Follow-ups (対応待ち, issue 14, DESIGN.md R22): promises made on a contact, due in business days, held by
one member of staff or by the desk. "Take next" hands the oldest one nobody holds to exactly one operator,
however many ask at once; closing one records what was done as a new contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import selectinload

from .. import clock, normalise
from ..extensions import db
from ..models import Contact, Contract, FollowUp, FollowUpStatus, Role, Staff
from . import DomainError
from .audit import record
from .contacts import ContactInput, _assignee, _new_contact
from .permissions import CUSTOMER_DESK, SUPERVISORS, requires

HOME_ROWS = 20


@dataclass
class FollowUpLists:
    """What home and the follow-up page show: mine, the desk's and (for supervisors) everyone else's."""

    mine: list[FollowUp]
    desk: list[FollowUp]
    others: list[FollowUp]
    counts: dict[str, int]
    today: date

    def overdue(self, follow_up: FollowUp) -> bool:
        """Past its due date (R22)."""
        return follow_up.due_date < self.today


def _open_query(today: date):
    # By due date, so the overdue ones come first, then the oldest promise: the order of the partial
    # indexes, so a page reads its rows and no more. The contacts and customers of the page are loaded
    # by id afterwards (a join here would let the planner join every contact before the LIMIT).
    return (select(FollowUp)
            .options(selectinload(FollowUp.contact).selectinload(Contact.contract), selectinload(FollowUp.assignee))
            .where(FollowUp.status == FollowUpStatus.OPEN)
            .order_by(FollowUp.due_date, FollowUp.created_at, FollowUp.id))


def _count(condition) -> int:
    return db.session.scalar(select(func.count()).select_from(FollowUp)
                             .where(FollowUp.status == FollowUpStatus.OPEN, condition))


@requires(CUSTOMER_DESK)
def open_lists(actor: Staff, *, limit: int = HOME_ROWS, others: bool = False) -> FollowUpLists:
    """My open follow-ups and the desk's (overdue first); with others, a supervisor's view of everyone's.
    Audited when any is shown: what was promised is about a customer."""
    today = clock.today()
    mine = list(db.session.scalars(_open_query(today).where(FollowUp.assignee_id == actor.id).limit(limit)))
    desk = list(db.session.scalars(_open_query(today).where(FollowUp.assignee_id.is_(None)).limit(limit)))
    rest: list[FollowUp] = []
    if others and actor.has_role(Role.SUPERVISOR):
        rest = list(db.session.scalars(_open_query(today).where(
            FollowUp.assignee_id.is_not(None), FollowUp.assignee_id != actor.id).limit(limit)))
    counts = {}
    for key, shown_rows, holder in (("mine", mine, FollowUp.assignee_id == actor.id),
                                    ("desk", desk, FollowUp.assignee_id.is_(None))):
        if len(shown_rows) < limit:  # the whole list is on the page: no need to ask the database
            counts[key] = len(shown_rows)
            counts[f"{key}_overdue"] = sum(1 for f in shown_rows if f.due_date < today)
        else:
            counts[key] = _count(holder)
            counts[f"{key}_overdue"] = _count(holder & (FollowUp.due_date < today))
    shown = mine + desk + rest
    if shown:
        record(actor, "follow_up.list", detail={"follow_ups": [f.id for f in shown]})
    return FollowUpLists(mine, desk, rest, counts, today)


@requires(CUSTOMER_DESK)
def view_follow_up(actor: Staff, follow_up_id: int) -> FollowUp:
    """One follow-up with the contact that promised it; audited."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise DomainError("対応待ちが見つかりません。")
    contract = follow_up.contact.contract
    record(actor, "follow_up.view", target=follow_up, customer_number=contract.customer_number if contract else None)
    return follow_up


@requires(CUSTOMER_DESK)
def take_next(actor: Staff) -> FollowUp:
    """Give the actor the oldest open follow-up nobody holds. Two operators asking at once get two
    different ones (or one gets a refusal): PostgreSQL skips a row another transaction has locked
    (FOR UPDATE SKIP LOCKED); the embedded SQLite serialises writers with BEGIN IMMEDIATE."""
    # One statement finds, locks (the follow-up's row only) and names the customer of the promise.
    found = db.session.execute(
        select(FollowUp, Contract.customer_number)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .outerjoin(Contract, Contract.id == Contact.contract_id)
        .where(FollowUp.status == FollowUpStatus.OPEN, FollowUp.assignee_id.is_(None))
        .order_by(FollowUp.created_at, FollowUp.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=FollowUp)
    ).first()
    if found is None:
        raise DomainError("窓口の対応待ちはありません（ほかの職員がすべて引き受けました）。")
    follow_up, customer_number = found
    follow_up.assignee_id = actor.id
    follow_up.taken_at = clock.now()
    db.session.flush()
    record(actor, "follow_up.take", target=follow_up, customer_number=customer_number)
    return follow_up


@requires(SUPERVISORS)
def reassign(actor: Staff, follow_up_id: int, assignee: str) -> FollowUp:
    """Give an open follow-up to another member of the desk, or back to the desk ("desk")."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.status != FollowUpStatus.OPEN:
        raise DomainError("この対応待ちはすでに完了しています。担当は変更できません。")
    member = _assignee(actor, assignee)
    before = follow_up.assignee.name if follow_up.assignee else "窓口"
    follow_up.assignee_id = member.id if member else None
    follow_up.taken_at = clock.now() if member else None
    db.session.flush()
    db.session.refresh(follow_up)
    contract = follow_up.contact.contract
    record(actor, "follow_up.reassign", target=follow_up,
           customer_number=contract.customer_number if contract else None,
           detail={"from": before, "to": member.name if member else "窓口"})
    return follow_up


@requires(CUSTOMER_DESK)
def close_follow_up(actor: Staff, follow_up_id: int, data: ContactInput) -> Contact:
    """Close an open follow-up the actor holds (or the desk holds; a supervisor may close any): what was
    done is recorded as a new contact on the same customer, in the promise's category unless another is given."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise DomainError("対応待ちが見つかりません。")
    supervisor = actor.has_role(Role.SUPERVISOR)
    if follow_up.status != FollowUpStatus.OPEN:
        raise DomainError("この対応待ちはすでに完了しています。")
    if follow_up.assignee_id not in (None, actor.id) and not supervisor:
        raise DomainError(f"この対応待ちは{follow_up.assignee.name}さんの担当です。"
                          "担当の変更はスーパーバイザーに依頼してください。")
    if data.follow_up_what:
        raise DomainError("完了の記録に新しい対応待ちは付けられません。新しい応対として記録してください。")
    if not normalise.nfkc(data.outcome):
        raise DomainError("対応の結果を入力してください（例：折り返し電話で説明済み）。", field="outcome")
    if not data.category:
        data.category = follow_up.contact.category.code
    promise = follow_up.contact
    contact = _new_contact(actor, data, contract=promise.contract, account=promise.account)
    # Conditional: a follow-up closed (or taken by someone else) meanwhile is refused, not closed twice.
    holder = (FollowUp.assignee_id.is_(None) | (FollowUp.assignee_id == actor.id)) if not supervisor else true()
    done = db.session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.status == FollowUpStatus.OPEN, holder)
        .values(status=FollowUpStatus.CLOSED, closed_at=clock.now(), closed_by_id=actor.id,
                closing_contact_id=contact.id, assignee_id=func.coalesce(FollowUp.assignee_id, actor.id))
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise DomainError("この対応待ちは、ほかの職員が先に完了したか引き受けました。画面を更新してください。")
    db.session.refresh(follow_up)
    record(actor, "follow_up.close", target=follow_up,
           customer_number=promise.contract.customer_number if promise.contract else None,
           detail={"contact": contact.id})
    return contact
