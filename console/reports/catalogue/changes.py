"""名義変更・管理会社の変更: name changes and handovers with who made and who checked them."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import (
    ChangeStatus,
    Contract,
    Handover,
    HandoverItem,
    HolderKind,
    NameChange,
    Staff,
)
from ...wards import ward_name
from ..excel import Col, SummarySheet
from .base import (
    DECIDED_AT,
    RECEIVED_AT,
    REQUEST_COLUMNS,
    STATUS,
    QueryReport,
    days_between,
    local,
    stream,
)


class ChangesReport(QueryReport):
    """Name changes of the period, and handovers with how far each has got through its three steps."""

    key = "changes"
    title = "名義変更・管理会社の変更"
    description = "期間中に受け付けた名義変更（承認までの日数）と、管理会社の変更ごとの手順の進み具合。"
    sheet_title = "名義変更"
    personal_data = True
    columns = [
        *REQUEST_COLUMNS,
        Col("新しい契約者の区分", width=10),
        Col("変更日", "date"),
        STATUS,
        Col("受付職員", width=24),
        Col("決定職員", width=24),
        DECIDED_AT,
        Col("処理日数", "decimal"),
        Col("管理会社の変更番号", "int"),
    ]
    STATUS = {
        ChangeStatus.PENDING: "承認待ち",
        ChangeStatus.APPROVED: "承認済",
        ChangeStatus.RETURNED: "差戻し",
    }

    def statement(self):
        maker, checker = aliased(Staff), aliased(Staff)
        return self.in_period(
            select(
                NameChange.id,
                NameChange.requested_at,
                Contract.customer_number,
                Contract.ward_code,
                NameChange.new_holder_kind,
                NameChange.effective_date,
                NameChange.status,
                maker.email,
                checker.email,
                NameChange.decided_at,
                NameChange.handover_id,
            )
            .join(Contract, Contract.id == NameChange.contract_id)
            .join(maker, maker.id == NameChange.requested_by_id)
            .outerjoin(checker, checker.id == NameChange.decided_by_id),
            NameChange.requested_at, NameChange.id,
        )

    def rows(self) -> Iterator[tuple]:
        for (
            change_id,
            requested,
            number,
            ward,
            kind,
            effective,
            status,
            maker,
            checker,
            decided,
            handover_id,
        ) in stream(self.statement()):
            requested, decided = local(requested), local(decided)
            days = round((decided - requested).total_seconds() / 86400, 1) if decided else None
            yield (
                change_id,
                requested,
                number,
                ward_name(ward),
                HolderKind.label_of(kind),
                effective,
                self.STATUS.get(status, status),
                maker,
                checker,
                decided,
                days,
                handover_id,
            )

    def summaries(self) -> list[SummarySheet]:
        start, end = self.bounds()
        approved = func.sum(case((NameChange.status == ChangeStatus.APPROVED, 1), else_=0))
        released = func.sum(case((HandoverItem.released_at.is_not(None), 1), else_=0))
        linked = func.sum(case((HandoverItem.linked_at.is_not(None), 1), else_=0))
        handovers = db.session.execute(
            select(
                Handover.id,
                Handover.created_at,
                Handover.old_company_name,
                Handover.new_company_name,
                Handover.target_date,
                Handover.status,
                func.count(HandoverItem.id),
                approved,
                released,
                linked,
                Handover.closed_at,
            )
            .outerjoin(HandoverItem, HandoverItem.handover_id == Handover.id)
            .outerjoin(NameChange, NameChange.id == HandoverItem.name_change_id)
            .where(
                (Handover.created_at < end) & ((Handover.created_at >= start) | (Handover.status == "open"))
            )
            .group_by(Handover.id)
            .order_by(Handover.created_at)
        ).all()
        labels = {"open": "進行中", "done": "完了", "cancelled": "取消"}
        now = self.made_at
        return [
            SummarySheet(
                "管理会社の変更",
                [
                    Col("番号", "int"),
                    RECEIVED_AT,
                    Col("旧管理会社", width=24),
                    Col("新管理会社", width=24),
                    Col("目標日", "date"),
                    Col("状態", width=8),
                    Col("お客さま番号数", "int"),
                    Col("①名義変更承認済", "int"),
                    Col("②旧登録解除済", "int"),
                    Col("③新登録済", "int"),
                    Col("完了日時", "datetime"),
                    Col("経過日数", "int"),
                ],
                [
                    (
                        hid,
                        local(created),
                        old,
                        new,
                        target,
                        labels.get(status, status),
                        n,
                        a or 0,
                        r or 0,
                        li or 0,
                        local(closed),
                        days_between(local(created), local(closed) or now),
                    )
                    for hid, created, old, new, target, status, n, a, r, li, closed in handovers
                ],
            ),
        ]
