"""マイページ利用者のロック解除・パスワード再設定: staff actions on portal accounts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    AuditAction,
    AuditEvent,
    PortalAccount,
)
from ..excel import Col, SummarySheet
from .base import AT, REASON, STAFF, QueryReport, days_between, local, stream

ACCOUNT_ACTIONS = (AuditAction.ACCOUNT_UNLOCK, AuditAction.ACCOUNT_PASSWORD_RESET_MAIL)


class AccountsReport(QueryReport):
    """Unlocks and password-reset mails done by staff, and the accounts locked now."""

    key = "accounts"
    title = "ロック・ロック解除・パスワード再設定"
    description = (
        "職員が行ったロック解除とパスワード再設定メール、期間中にロックされた件数と現在ロック中の利用者。"
    )
    sheet_title = "対応一覧"
    columns = [
        AT,
        Col("操作", width=22),
        STAFF,
        Col("利用者番号", "int"),
        REASON,
    ]

    def statement(self):
        return self.in_period(
            select(
                AuditEvent.at,
                AuditEvent.action,
                AuditEvent.staff_email,
                AuditEvent.target_id,
                AuditEvent.reason,
            )
            .where(AuditEvent.action.in_(ACCOUNT_ACTIONS)),
            AuditEvent.at, AuditEvent.id,
        )

    def rows(self) -> Iterator[tuple]:
        self.by_action: Counter = Counter()
        for at, action, staff, target, reason in stream(self.statement()):
            self.by_action[action] += 1
            yield (
                local(at),
                AuditAction.label_of(action),
                staff,
                int(target) if target and target.isdigit() else target,
                reason,
            )

    def summaries(self) -> list[SummarySheet]:
        start, end = self.bounds()
        locked_in_period = db.session.scalar(
            select(func.count())
            .select_from(PortalAccount)
            .where(PortalAccount.locked_at >= start, PortalAccount.locked_at < end)
        )
        locked_now = db.session.execute(
            select(PortalAccount.id, PortalAccount.locked_at, PortalAccount.failed_login_count)
            .where(PortalAccount.locked_at.is_not(None), PortalAccount.withdrawn_at.is_(None))
            .order_by(PortalAccount.locked_at)
            .limit(50_000)
        ).all()
        now = self.made_at
        return [
            SummarySheet(
                "集計",
                [Col("項目", width=36), Col("件数", "int")],
                [
                    ("期間中にロックされ、現在もロック中の利用者", locked_in_period),
                    ("ロック解除（職員）", self.by_action.get(AuditAction.ACCOUNT_UNLOCK, 0)),
                    ("パスワード再設定メール（職員）", self.by_action.get(AuditAction.ACCOUNT_PASSWORD_RESET_MAIL, 0)),
                    ("作成時点でロック中の利用者", len(locked_now)),
                ],
            ),
            SummarySheet(
                "ロック中の利用者",
                [
                    Col("利用者番号", "int"),
                    Col("ロック日時", "datetime"),
                    Col("失敗回数", "int"),
                    Col("経過日数", "int"),
                ],
                [
                    (aid, local(at), failures, days_between(local(at), now))
                    for aid, at, failures in locked_now
                ],
            ),
        ]
