"""The print batch's Excel list for the mailing room: one row per envelope, and one per notice."""

from __future__ import annotations

from pathlib import Path

from ..formats import TOKYO
from ..models import (
    PrintBatch,
    ReissueRequest,
    ReissueStatus,
)
from ..reports.excel import Col, SummarySheet, write_report
from .reissued_notices import addressee_of, destination_of, issued_notices, months_text

# ---------------------------------------------------------------- the Excel list

LIST_COLUMNS = [
    Col("No.", "int", 6), Col("受付番号", "int", 10), Col("お客さま番号", width=14), Col("宛名", width=28),
    Col("送付先", width=48), Col("送付先の種別", width=26), Col("再発行する月", width=40), Col("枚数", "int", 6),
    Col("受付日", "date"), Col("状態", width=10),
]
DETAIL_COLUMNS = [
    Col("No.", "int", 6), Col("受付番号", "int", 10), Col("お客さま番号", width=14), Col("請求月", "month"),
    Col("契約者（当時）", width=28), Col("使用水量（m³）", "int", 14), Col("合計金額", "yen"),
]


def write_batch_list(batch: PrintBatch, requests: list[ReissueRequest], path: Path) -> None:
    """The mailing room's list (reports' writer: safe text cells, real dates): one row per envelope,
    and a second sheet with one row per notice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notices = sum(len(r.items) for r in requests)
    made = batch.created_at.astimezone(TOKYO)
    heading = (f"お知らせ票 再発行 発送リスト　印刷バッチ {batch.batch_key}　{len(requests)}件・お知らせ票 {notices}枚"
               f"　作成日時: {made:%Y-%m-%d %H:%M}")
    envelopes = []
    for number, request in enumerate(requests, start=1):
        kind, address = destination_of(request)
        envelopes.append((
            number, request.id, request.contract.customer_number, addressee_of(request), address, kind,
            months_text(i.period for i in request.items), len(request.items),
            request.requested_at.astimezone(TOKYO).date(), ReissueStatus(request.status).label,
        ))

    def details() -> list[SummarySheet]:
        rows = []
        for request in requests:
            for notice in issued_notices(request):
                rows.append((len(rows) + 1, request.id, notice.customer_number, notice.period, notice.holder_name,
                             notice.usage_m3, notice.total))
        return [SummarySheet("明細", DETAIL_COLUMNS, rows)]

    write_report(path, sheet_title="発送リスト", heading=heading, columns=LIST_COLUMNS, rows=envelopes,
                 summaries=details)
