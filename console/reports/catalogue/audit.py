"""監査ログ: the audit log of the period."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from ...models import (
    AuditAction,
    AuditEvent,
    AuditTarget,
    Staff,
)
from ..excel import Col
from ..params import Param
from .base import AT, CUSTOMER_NUMBER, PERIOD, REASON, STAFF, QueryReport, local, stream


class AuditReport(QueryReport):
    """The audit log for a period, optionally one staff member's or one customer number's."""

    key = "audit"
    title = "監査ログ"
    description = "期間（と職員、お客さま番号）を指定して監査ログを出力します（個人情報を含みます）。"
    sheet_title = "監査ログ"
    personal_data = True
    monthly = False
    params = PERIOD + [
        Param("staff", "職員のメールアドレス", "staff", required=False),
        Param("customer_number", "お客さま番号", "customer_number", required=False),
    ]
    columns = [
        AT,
        Col("職員名", width=16),
        STAFF,
        Col("操作", width=24),
        Col("対象種別", width=16),
        Col("対象ID", width=10),
        CUSTOMER_NUMBER,
        REASON,
        Col("詳細", width=40),
        Col("リクエストID", width=34),
        Col("接続元", width=16),
    ]

    def period(self) -> str:
        text = super().period()
        if self.values.get("staff"):
            text += f" 職員: {self.values['staff']}"
        if self.values.get("customer_number"):
            text += f" お客さま番号: {self.values['customer_number']}"
        return text

    def statement(self):
        statement = select(
            AuditEvent.at,
            Staff.name,
            AuditEvent.staff_email,
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.customer_number,
            AuditEvent.reason,
            AuditEvent.detail,
            AuditEvent.request_id,
            AuditEvent.client_addr,
        ).outerjoin(Staff, Staff.id == AuditEvent.staff_id)  # staff by name, as every page shows them
        if self.values.get("staff"):
            statement = statement.where(func.lower(AuditEvent.staff_email) == self.values["staff"])
        if self.values.get("customer_number"):
            statement = statement.where(AuditEvent.customer_number == self.values["customer_number"])
        return self.in_period(statement, AuditEvent.at, AuditEvent.id)

    def rows(self) -> Iterator[tuple]:
        import json

        for at, staff_name, email, action, ttype, tid, number, reason, detail, request_id, addr in stream(
            self.statement()
        ):
            detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
            yield (
                local(at),
                staff_name or ("システム" if email is None else None),
                email,
                AuditAction.label_of(action),
                AuditTarget.label_of(ttype),
                tid,
                number,
                reason,
                detail_text,
                request_id,
                addr,
            )
