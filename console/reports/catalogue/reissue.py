"""お知らせ票の再発行: reissue requests of the period with their print batch, and the batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import case, func, select

from ...extensions import db
from ...models import (
    Contract,
    PrintBatch,
    ReissueItem,
    ReissueRequest,
    ReissueStatus,
)
from ...wards import ward_name
from ..excel import Col, SummarySheet
from .base import REQUEST_COLUMNS, STATUS, QueryReport, local, stream


class ReissueReport(QueryReport):
    """Reissue requests of the period with their print batch, and the batches."""

    key = "reissue"
    title = "お知らせ票の再発行"
    description = "期間中に受け付けた再発行の依頼（お客さま番号付き）と印刷バッチごとの件数。"
    sheet_title = "再発行依頼"
    personal_data = True
    columns = [
        *REQUEST_COLUMNS,
        Col("対象月数", "int"),
        Col("最初の対象月", "month"),
        Col("最後の対象月", "month"),
        Col("送付先", width=12),
        Col("依頼者の続柄", width=14),
        STATUS,
        Col("印刷バッチ", width=14),
        Col("発送日時", "datetime"),
        Col("取消理由", width=30),
    ]

    def statement(self):
        items = (
            select(
                ReissueItem.request_id,
                func.count().label("n"),
                func.min(ReissueItem.period).label("first"),
                func.max(ReissueItem.period).label("last"),
            )
            .group_by(ReissueItem.request_id)
            .subquery()
        )
        return self.in_period(
            select(
                ReissueRequest.id,
                ReissueRequest.requested_at,
                Contract.customer_number,
                Contract.ward_code,
                items.c.n,
                items.c.first,
                items.c.last,
                ReissueRequest.send_to,
                ReissueRequest.caller_relation,
                ReissueRequest.status,
                PrintBatch.batch_key,
                ReissueRequest.mailed_at,
                ReissueRequest.cancel_reason,
            )
            .join(Contract, Contract.id == ReissueRequest.contract_id)
            .outerjoin(items, items.c.request_id == ReissueRequest.id)
            .outerjoin(PrintBatch, PrintBatch.id == ReissueRequest.batch_id),
            ReissueRequest.requested_at, ReissueRequest.id,
        )

    def rows(self) -> Iterator[tuple]:
        self.by_status: Counter = Counter()
        for (
            req_id,
            requested,
            number,
            ward,
            n,
            first,
            last,
            send_to,
            relation,
            status,
            batch,
            mailed,
            reason,
        ) in stream(self.statement()):
            self.by_status[status] += 1
            yield (
                req_id,
                local(requested),
                number,
                ward_name(ward),
                n or 0,
                first,
                last,
                "郵送先住所" if send_to == "mailing_address" else "別の送付先",
                relation,
                ReissueStatus.label_of(status),
                batch,
                local(mailed),
                reason,
            )

    def summaries(self) -> list[SummarySheet]:
        start, end = self.bounds()
        mailed = func.sum(case((ReissueRequest.status == ReissueStatus.MAILED, 1), else_=0))
        batches = db.session.execute(
            select(
                PrintBatch.batch_key,
                PrintBatch.created_at,
                PrintBatch.built_at,
                func.count(ReissueRequest.id),
                mailed,
            )
            .outerjoin(ReissueRequest, ReissueRequest.batch_id == PrintBatch.id)
            .where(PrintBatch.created_at >= start, PrintBatch.created_at < end)
            .group_by(PrintBatch.id, PrintBatch.batch_key, PrintBatch.created_at, PrintBatch.built_at)
            .order_by(PrintBatch.created_at)
        ).all()
        return [
            SummarySheet(
                "印刷バッチ",
                [
                    Col("印刷バッチ", width=16),
                    Col("作成日時", "datetime"),
                    Col("印刷日時", "datetime"),
                    Col("依頼件数", "int"),
                    Col("発送済", "int"),
                ],
                [(key, local(created), local(built), n, m or 0) for key, created, built, n, m in batches],
            ),
            SummarySheet(
                "状態別件数",
                [Col("状態", width=10), Col("件数", "int")],
                [(label, self.by_status.get(status, 0)) for status, label in ReissueStatus.labels().items()],
            ),
        ]
