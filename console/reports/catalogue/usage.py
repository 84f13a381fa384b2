"""使用水量・料金: usage and charges by ward and month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import case, func, select

from ...models import (
    Bill,
    Contract,
    PaymentStatus,
)
from ...wards import WARDS, ward_name
from ..excel import Chart, Col, SummarySheet
from ..params import Param, month_first
from .base import WARD, Report, stream


class UsageReport(Report):
    """Usage and charges of the bills of each billing month, by ward."""

    key = "usage"
    title = "使用水量・料金（区別・月別）"
    description = "検針・請求データから、区ごと・月ごとの件数、使用水量、料金、未払件数（月別グラフ付き）。"
    sheet_title = "区別・月別"
    params = [Param("month_from", "開始月", "month"), Param("month_to", "終了月", "month")]
    columns = [
        Col("年月", "month"),
        WARD,
        Col("請求件数", "int"),
        Col("使用水量（m³）", "int"),
        Col("水道料金", "yen"),
        Col("下水道料金", "yen"),
        Col("合計", "yen"),
        Col("未払件数", "int"),
    ]

    @classmethod
    def monthly_params(cls, first: date, last: date) -> dict:
        return {"month_from": first.strftime("%Y-%m"), "month_to": first.strftime("%Y-%m")}

    def period(self) -> str:
        return f"{self.values['month_from']}～{self.values['month_to']}（請求月）"

    def _statement(self):
        unpaid = func.sum(case((Bill.payment_status == PaymentStatus.UNPAID, 1), else_=0))
        return (
            select(
                Bill.period,
                Contract.ward_code,
                func.count(),
                func.sum(Bill.usage_m3),
                func.sum(Bill.water_charge),
                func.sum(Bill.sewer_charge),
                unpaid,
            )
            .join(Contract, Contract.id == Bill.contract_id)
            .where(
                Bill.period >= month_first(self.values["month_from"]),
                Bill.period <= month_first(self.values["month_to"]),
            )
            .group_by(Bill.period, Contract.ward_code)
            .order_by(Bill.period, Contract.ward_code)
        )

    def rows(self) -> Iterator[tuple]:
        self.monthly: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        ward_order = {code: i for i, code in enumerate(WARDS)}
        buffer: list[tuple] = []
        current = None

        def in_city_order():
            return (row[:-1] for row in sorted(buffer, key=lambda row: ward_order.get(row[-1], 99)))

        # One month has one row per ward: hold a month's rows to list the wards in the city's order.
        for period, ward, n, usage, water, sewer, unpaid in stream(self._statement()):
            if isinstance(period, datetime):
                period = period.date()
            if period != current and buffer:
                yield from in_city_order()
                buffer = []
            current = period
            usage, water, sewer = int(usage or 0), int(water or 0), int(sewer or 0)
            month = self.monthly[period]
            month[0] += n
            month[1] += usage
            month[2] += water + sewer
            month[3] += unpaid or 0
            buffer.append(
                (period, ward_name(ward), n, usage, water, sewer, water + sewer, int(unpaid or 0), ward)
            )
        yield from in_city_order()

    def summaries(self) -> list[SummarySheet]:
        rows = [(period, *values) for period, values in sorted(self.monthly.items())]
        return [
            SummarySheet(
                "月別合計",
                [
                    Col("年月", "month"),
                    Col("請求件数", "int"),
                    Col("使用水量（m³）", "int"),
                    Col("料金合計", "yen"),
                    Col("未払件数", "int"),
                ],
                rows,
                Chart("月別の使用水量", kind="line", series_columns=(3,), y_title="m³"),
            ),
        ]
