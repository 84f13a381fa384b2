"""Reissue requests for usage notices of 2023-12 and earlier (R15, Q35, Q36, Q38); audited."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from .. import normalise
from ..documents.reissued_notices import months_text
from ..extensions import db
from ..formats import parse_month, wareki_month
from ..models import (
    AccountLink,
    Bill,
    Contract,
    ReissueItem,
    ReissueRequest,
    ReissueStatus,
    SendTo,
    Staff,
)
from . import DomainError
from .audit import record
from .calendar import LAST_CENTRE_REISSUE_PERIOD, add_months, month_start
from .inputs import optional_text, require_text
from .permissions import CUSTOMER_DESK, requires

# Q35/Q38: where the customer prints notices from 2024-01 on.
PORTAL_PDF_GUIDANCE = "マイページの「実績」>「過去の利用履歴」>「PDF出力」"


CALLER_RELATIONS = {
    "holder": "契約者ご本人",
    "family": "ご家族",
    "company_staff": "法人・管理会社のご担当者",
    "agent": "代理人",
    "other": "その他",
}
OPEN_STATUSES = (ReissueStatus.REQUESTED, ReissueStatus.IN_BATCH)


# A range such as 令和5年4月〜令和5年9月 expands to at most this many months.
MAX_RANGE_MONTHS = 60


# ---------------------------------------------------------------- months typed by staff

_TOKEN_SPLIT_RE = re.compile(r"[,、;\s]+")
_RANGE_SPLIT_RE = re.compile(r"[~〜]")


def parse_months(text: str | None) -> list[date]:
    """Months typed by staff (令和5年4月、R5.6、2023-07、令和5年9月〜令和5年11月), first days, sorted, unique."""
    months: set[date] = set()
    unreadable = []
    for token in _TOKEN_SPLIT_RE.split(normalise.nfkc(text)):
        if not token:
            continue
        ends = [parse_month(part) for part in _RANGE_SPLIT_RE.split(token)]
        if not ends or None in ends or len(ends) > 2:
            unreadable.append(token)
            continue
        first, last = ends[0], ends[-1]
        if last < first or (last.year - first.year) * 12 + last.month - first.month >= MAX_RANGE_MONTHS:
            unreadable.append(token)
            continue
        while first <= last:
            months.add(first)
            first = add_months(first, 1)
    if unreadable:
        raise DomainError(
            f"請求月を読み取れません：{'、'.join(unreadable)}（例：令和5年12月、R5.12、2023-12、令和5年4月〜令和5年6月）",
            field="months",
        )
    return sorted(months)


# ---------------------------------------------------------------- requests

def open_request_months(contract: Contract) -> dict[date, ReissueRequest]:
    """Months of this contract already in an open (requested or in print batch) request."""
    rows = db.session.execute(
        select(ReissueItem.period, ReissueRequest)
        .join(ReissueRequest, ReissueItem.request_id == ReissueRequest.id)
        .where(ReissueRequest.contract_id == contract.id, ReissueRequest.status.in_(OPEN_STATUSES))
    )
    return {period: request for period, request in rows}


def reissuable_bills(contract: Contract) -> list[Bill]:
    """The contract's bills the centre may reissue (up to 2023-12), newest first."""
    return list(
        db.session.scalars(
            select(Bill)
            .where(Bill.contract_id == contract.id, Bill.period <= LAST_CENTRE_REISSUE_PERIOD)
            .order_by(Bill.period.desc())
        )
    )


def _portal_guidance(contract: Contract) -> str:
    linked = db.session.scalar(
        select(AccountLink.id).where(AccountLink.contract_id == contract.id, AccountLink.ended_at.is_(None)).limit(1)
    )
    guidance = f"令和6年1月分以降のお知らせ票は、{PORTAL_PDF_GUIDANCE}からお客さまご自身で印刷していただけます。"
    if linked is None:
        guidance += "（このお客さま番号はマイページに登録されていません。マイページへの登録をご案内ください。）"
    return guidance


@requires(CUSTOMER_DESK, message="お知らせ票の再発行はオペレーターまたはスーパーバイザーが受け付けます。")
def request_reissue(
    actor: Staff,
    contract: Contract,
    *,
    months: list[date],
    send_to: str,
    caller_relation: str,
    other_address: str | None = None,
    other_address_reason: str | None = None,
) -> ReissueRequest:
    """Record a reissue request (R15): months up to 2023-12 that have a bill and no open request."""
    wanted = sorted({month_start(m) for m in months})
    if not wanted:
        raise DomainError("再発行する請求月を選ぶか入力してください。", field="months")
    recent = [m for m in wanted if m > LAST_CENTRE_REISSUE_PERIOD]
    if recent:
        raise DomainError(
            f"{months_text(recent)}分はお客さまセンターでは再発行できません（再発行は令和5年12月分以前が対象です）。"
            + _portal_guidance(contract),
            field="months",
        )
    if caller_relation not in CALLER_RELATIONS:
        raise DomainError("お電話の相手と契約との関係を選んでください。", field="caller_relation")
    try:
        destination = SendTo(send_to)
    except ValueError:
        raise DomainError("送付先を選んでください。", field="send_to") from None
    address = optional_text(other_address, column=ReissueRequest.other_address, label="指定の送付先の住所")
    reason = optional_text(other_address_reason, column=ReissueRequest.other_address_reason,
                           label="契約の送付先以外に送る理由")
    if destination == SendTo.OTHER:
        if not address:
            raise DomainError("指定の送付先の住所を入力してください。", field="other_address")
        if not reason:
            raise DomainError("契約の送付先以外に送る理由を入力してください。", field="other_address_reason")
    else:
        address = reason = None

    # Two operators recording the same month at once: the contract row lock makes one wait for the other.
    db.session.get(Contract, contract.id, with_for_update=True)
    bills = {
        b.period: b
        for b in db.session.scalars(select(Bill).where(Bill.contract_id == contract.id, Bill.period.in_(wanted)))
    }
    missing = [m for m in wanted if m not in bills]
    if missing:
        raise DomainError(
            f"{months_text(missing)}分の請求はありません。検針・請求の記録がある月だけ再発行できます。", field="months"
        )
    taken = open_request_months(contract)
    duplicates = [m for m in wanted if m in taken]
    if duplicates:
        details = "、".join(
            f"{wareki_month(m)}分（受付番号 {taken[m].id}・{ReissueStatus(taken[m].status).label}）" for m in duplicates
        )
        raise DomainError(f"受付済みの再発行があります：{details}。同じ月を重ねて受け付けることはできません。",
                          field="months")

    request = ReissueRequest(
        contract_id=contract.id,
        send_to=destination,
        other_address=address,
        other_address_reason=reason,
        caller_relation=CALLER_RELATIONS[caller_relation],
        requested_by_id=actor.id,
        items=[ReissueItem(bill_id=bills[m].id, period=m) for m in wanted],
    )
    db.session.add(request)
    db.session.flush()
    record(
        actor, "reissue.request", target=request, customer_number=contract.customer_number, reason=reason,
        detail={"months": [m.isoformat() for m in wanted], "send_to": destination.value,
                "caller_relation": caller_relation},
    )
    return request


@requires(CUSTOMER_DESK, message="再発行の取消はオペレーターまたはスーパーバイザーが行います。")
def cancel_reissue(actor: Staff, request_id: int, reason: str) -> ReissueRequest:
    """Cancel a request that has not been mailed, with a reason (also out of a print batch)."""
    reason = require_text(reason, column=ReissueRequest.cancel_reason, label="取消の理由", field="reason")
    request = db.session.get(ReissueRequest, request_id)
    if request is None:
        raise DomainError("該当する再発行の受付がありません。")
    previous = request.status
    # One statement decides: a cancel racing a "mailed" (or a second cancel) changes nothing.
    result = db.session.execute(
        update(ReissueRequest)
        .where(ReissueRequest.id == request_id, ReissueRequest.status.in_(OPEN_STATUSES))
        .values(status=ReissueStatus.CANCELLED, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("この再発行はすでに発送済みか取消済みのため、取り消せません。画面を更新して確認してください。")
    db.session.refresh(request)
    record(
        actor, "reissue.cancel", target=request, customer_number=request.contract.customer_number, reason=reason,
        detail={"from": previous.value, "batch": request.batch.batch_key if request.batch else None},
    )
    return request


@requires(CUSTOMER_DESK)
def list_requests(actor: Staff, status: str, *, limit: int = 500) -> tuple[list[ReissueRequest], dict[str, int]]:
    """Requests of one status (newest first once mailed or cancelled) and the count per status; audited."""
    newest_first = status in (ReissueStatus.MAILED, ReissueStatus.CANCELLED)
    requests = db.session.scalars(
        select(ReissueRequest)
        .where(ReissueRequest.status == status)
        .options(selectinload(ReissueRequest.items), selectinload(ReissueRequest.contract),
                 selectinload(ReissueRequest.batch), selectinload(ReissueRequest.requested_by))
        .order_by(ReissueRequest.requested_at.desc() if newest_first else ReissueRequest.requested_at)
        .limit(limit)
    ).all()
    counts = dict(db.session.execute(
        select(ReissueRequest.status, func.count()).group_by(ReissueRequest.status)
    ).all())
    record(actor, "reissue.list", detail={"status": status, "rows": len(requests)})
    return requests, counts


@requires(CUSTOMER_DESK)
def view_reissue(actor: Staff, reissue: ReissueRequest) -> None:
    """Opening a request shows its caller, destination address and months: personal data, so audited."""
    record(actor, "reissue.view", target=reissue, customer_number=reissue.contract.customer_number)
