"""検針・請求明細: every bill of the billing months, one row per bill."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from ...models import (
    Bill,
    Contract,
    PaymentMethod,
    PaymentStatus,
)
from ...wards import WARDS, ward_name
from ..excel import Col
from ..params import Param, month_first
from .base import CUSTOMER_NUMBER, WARD, QueryReport, stream


class BillsReport(QueryReport):
    """Every bill of the billing months (optionally one ward): the large, row-per-bill report."""

    key = "bills"
    title = "検針・請求明細"
    description = (
        "請求月（と区）を指定して、検針・請求の1件ごとの明細（お客さま番号付き、大量になることがあります）。"
    )
    sheet_title = "請求明細"
    personal_data = True
    monthly = False
    params = [
        Param("month_from", "開始月", "month"),
        Param("month_to", "終了月", "month"),
        Param("ward", "区（コードまたは名前、空欄は全区）", "ward", required=False),
    ]
    columns = [
        CUSTOMER_NUMBER,
        WARD,
        Col("町丁目", width=16),
        Col("請求月", "month"),
        Col("検針日", "date"),
        Col("使用水量（m³）", "int"),
        Col("水道料金", "yen"),
        Col("下水道料金", "yen"),
        Col("合計", "yen"),
        Col("納期限", "date"),
        Col("支払方法", width=14),
        Col("支払状況", width=9),
    ]

    def period(self) -> str:
        ward = self.values.get("ward")
        return f"{self.values['month_from']}～{self.values['month_to']}（請求月）" + (
            f" {ward_name(ward)}" if ward else ""
        )

    def statement(self):
        """The select behind the rows (bench/report_excel.py reuses it)."""
        statement = (
            select(
                Contract.customer_number,
                Contract.ward_code,
                Contract.town,
                Bill.period,
                Bill.reading_date,
                Bill.usage_m3,
                Bill.water_charge,
                Bill.sewer_charge,
                Bill.due_date,
                Bill.payment_method,
                Bill.payment_status,
            )
            .join(Contract, Contract.id == Bill.contract_id)
            .where(
                Bill.period >= month_first(self.values["month_from"]),
                Bill.period <= month_first(self.values["month_to"]),
            )
        )
        if self.values.get("ward"):
            statement = statement.where(Contract.ward_code == self.values["ward"])
        return statement.order_by(Bill.period, Bill.id)

    def rows(self) -> Iterator[tuple]:
        return self.map_rows(stream(self.statement()))

    @staticmethod
    def map_rows(rows) -> Iterator[tuple]:
        """Database rows → sheet rows (labels for codes, a total column)."""
        wards = WARDS
        for number, ward, town, period, reading, usage, water, sewer, due, method, status in rows:
            yield (
                number,
                wards.get(ward, ward),
                town,
                period,
                reading,
                usage,
                water,
                sewer,
                water + sewer,
                due,
                PaymentMethod.label_of(method),
                PaymentStatus.label_of(status),
            )
