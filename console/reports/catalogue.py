"""The report catalogue: each report's parameters, columns, streamed query and summary sheets.

Each report reads the models with one streamed query (server-side cursor on PostgreSQL through
yield_per) and maps rows to plain values on the way; what the charts need is counted as the rows
pass, so memory stays bounded by the size of the summaries (days × wards), not by the rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy import case, func, literal, select

from ..clock import TOKYO
from ..extensions import db
from ..models import (
    ApplicationStatus,
    AuditAction,
    AuditEvent,
    AuditTarget,
    Bill,
    ChangeStatus,
    Channel,
    Contract,
    Delivery,
    DeliveryStatus,
    Handover,
    HandoverItem,
    HolderKind,
    NameChange,
    Notification,
    OutageArea,
    OutageNoticeVersion,
    PaymentMethod,
    PaymentStatus,
    PortalAccount,
    PrintBatch,
    ReissueItem,
    ReissueRequest,
    ReissueStatus,
    StartApplication,
    StopApplication,
)
from ..models.disaster import NOTICE_MODE_LABELS, PHENOMENON_LABELS
from ..models.notice import REISSUE_STATUS_LABELS
from ..wards import WARDS, ward_name
from .excel import Chart, Col, SummarySheet, period_text
from .params import Param, day_bounds, month_first

YIELD_PER = 2000

PERIOD = [Param("start", "開始日", "date"), Param("end", "終了日", "date")]


def stream(statement) -> Iterator:
    """Rows of a select, fetched in batches through a server-side cursor where the database has one."""
    yield from db.session.execute(statement.execution_options(yield_per=YIELD_PER))


def local(value: datetime | None) -> datetime | None:
    """An aware UTC datetime as aware Japan time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TOKYO)


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed hours, one decimal."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 1)


def days_between(start: datetime | None, end: datetime) -> int | None:
    """Whole days elapsed."""
    if start is None:
        return None
    return (end - start).days


class Report(ABC):
    """A report: parameters in, streamed rows and summary sheets out (each report defines rows())."""

    key: str = ""
    title: str = ""
    description: str = ""
    sheet_title: str = ""
    # Reports showing customer numbers or names; the catalogue and the audit entry say so.
    personal_data: bool = False
    # Built for the previous month on the schedule (jobs/reports.py).
    monthly: bool = True
    params: list[Param] = PERIOD
    columns: list[Col] = []

    def __init__(self, params: dict, made_at: datetime):
        self.values = params
        self.made_at = made_at

    @classmethod
    def monthly_params(cls, first: date, last: date) -> dict:
        """Parameters of the scheduled build covering one month."""
        return {"start": first.isoformat(), "end": last.isoformat()}

    def period(self) -> str:
        """The period for the title row."""
        return period_text(date.fromisoformat(self.values["start"]), date.fromisoformat(self.values["end"]))

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as [from, to) aware UTC datetimes."""
        return day_bounds(self.values)

    def count(self) -> int | None:
        """How many rows rows() will give (None when only the database knows, after the fact)."""
        return None

    @abstractmethod
    def rows(self) -> Iterator[tuple]:
        """The streamed rows, one tuple per row, in column order."""

    def summaries(self) -> list[SummarySheet]:
        """Sheets computed after the rows have gone through."""
        return []

    def file_stem(self) -> str:
        """The download's file name without extension."""
        return f"{self.title}_{'_'.join(str(v) for v in self.values.values())}"


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


# --- 使用開始・中止申込 ---------------------------------------------------------------------------

BACKLOG_BUCKETS = [
    (1, "1日以内"),
    (3, "2～3日"),
    (7, "4～7日"),
    (14, "8～14日"),
    (30, "15～30日"),
    (None, "31日以上"),
]


def backlog_bucket(days: int) -> str:
    """The age bucket of a pending application."""
    for limit, label in BACKLOG_BUCKETS:
        if limit is None or days <= limit:
            return label
    return BACKLOG_BUCKETS[-1][1]  # pragma: no cover


class ApplicationsReport(Report):
    """Start and stop applications by ward and day, with decision times and the age of the backlog."""

    key = "applications"
    title = "使用開始・中止申込"
    description = (
        "受付日ごと・区ごとの件数、承認までの時間、未処理の経過日数（日別件数と経過日数のグラフ付き）。"
    )
    sheet_title = "申込一覧"
    columns = [
        Col("種別", width=8),
        Col("申込番号", "int"),
        Col("受付経路", width=10),
        Col("区", width=10),
        Col("受付日", "date"),
        Col("受付日時", "datetime"),
        Col("希望日", "date"),
        Col("状態", width=9),
        Col("決定日時", "datetime"),
        Col("処理時間（時間）", "decimal"),
        Col("未処理経過日数", "int"),
    ]

    def _statement(self):
        start, end = self.bounds()
        starts = select(
            literal("start").label("kind"),
            StartApplication.id,
            StartApplication.channel,
            StartApplication.ward_code,
            StartApplication.received_at.label("received_at"),
            StartApplication.desired_start_date.label("desired"),
            StartApplication.status,
            StartApplication.decided_at,
        ).where(StartApplication.received_at >= start, StartApplication.received_at < end)
        stops = (
            select(
                literal("stop").label("kind"),
                StopApplication.id,
                StopApplication.channel,
                Contract.ward_code,
                StopApplication.received_at.label("received_at"),
                StopApplication.desired_stop_date.label("desired"),
                StopApplication.status,
                StopApplication.decided_at,
            )
            .join(Contract, Contract.id == StopApplication.contract_id)
            .where(StopApplication.received_at >= start, StopApplication.received_at < end)
        )
        union = starts.union_all(stops).subquery()
        return select(union).order_by(union.c.received_at, union.c.kind, union.c.id)

    def count(self) -> int:
        return _count(self._statement())

    def rows(self) -> Iterator[tuple]:
        self.by_day_ward: dict[tuple[date, str], list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0, 0])
        self.by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        now = self.made_at
        for kind, app_id, channel, ward, received, desired, status, decided in stream(self._statement()):
            received = local(received)
            decided = local(decided)
            day = received.date()
            hours = hours_between(received, decided)
            age = days_between(received, now) if status == ApplicationStatus.PENDING else None
            cell = self.by_day_ward[(day, ward)]
            cell[0 if kind == "start" else 1] += 1
            self.by_day[day][0 if kind == "start" else 1] += 1
            if status == ApplicationStatus.ACCEPTED:
                cell[2] += 1
            elif status == ApplicationStatus.REJECTED:
                cell[3] += 1
            elif status == ApplicationStatus.PENDING:
                cell[4] += 1
                cell[7] = max(cell[7], age)
            if hours is not None:
                cell[5] += hours
                cell[6] += 1
            yield (
                "開始" if kind == "start" else "中止",
                app_id,
                Channel.label_of(channel),
                ward_name(ward),
                day,
                received,
                desired,
                ApplicationStatus.label_of(status),
                decided,
                hours,
                age,
            )

    def _backlog(self) -> list[tuple]:
        """Every application still pending when the report is made, whenever received, by age."""
        buckets = {label: [0, 0] for _limit, label in BACKLOG_BUCKETS}
        for index, model in enumerate((StartApplication, StopApplication)):
            pending = select(model.received_at).where(model.status == ApplicationStatus.PENDING)
            for (received,) in stream(pending):
                buckets[backlog_bucket(days_between(local(received), self.made_at))][index] += 1
        return [(label, starts, stops) for label, (starts, stops) in buckets.items()]

    def summaries(self) -> list[SummarySheet]:
        ward_order = {code: i for i, code in enumerate(WARDS)}
        by_ward = [
            (
                day,
                ward_name(ward),
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                round(c[5] / c[6], 1) if c[6] else None,
                c[7] if c[4] else None,
            )
            for (day, ward), c in sorted(
                self.by_day_ward.items(), key=lambda kv: (kv[0][0], ward_order.get(kv[0][1], 99))
            )
        ]
        daily = [(day, c[0], c[1], c[0] + c[1]) for day, c in sorted(self.by_day.items())]
        backlog = self._backlog()
        return [
            SummarySheet(
                "区別・日別",
                [
                    Col("受付日", "date"),
                    Col("区", width=10),
                    Col("開始受付", "int"),
                    Col("中止受付", "int"),
                    Col("承認", "int"),
                    Col("却下", "int"),
                    Col("未処理", "int"),
                    Col("平均処理時間（時間）", "decimal"),
                    Col("最長未処理日数", "int"),
                ],
                by_ward,
            ),
            SummarySheet(
                "日別件数",
                [Col("受付日", "date"), Col("開始", "int"), Col("中止", "int"), Col("合計", "int")],
                daily,
                Chart("日別の申込件数", series_columns=(2, 3), stacked=True, y_title="件数"),
            ),
            SummarySheet(
                "未処理の経過日数",
                [Col("受付からの経過日数", width=18), Col("開始", "int"), Col("中止", "int")],
                backlog,
                Chart(
                    "作成時点で未処理の申込（全期間）", series_columns=(2, 3), stacked=True, y_title="件数"
                ),
            ),
        ]


# --- お知らせ票の再発行・印刷バッチ -----------------------------------------------------------------


class ReissueReport(Report):
    """Reissue requests of the period with their print batch, and the batches."""

    key = "reissue"
    title = "お知らせ票の再発行"
    description = "期間中に受け付けた再発行の依頼（お客さま番号付き）と印刷バッチごとの件数。"
    sheet_title = "再発行依頼"
    personal_data = True
    columns = [
        Col("受付番号", "int"),
        Col("受付日時", "datetime"),
        Col("お客さま番号", width=13),
        Col("区", width=10),
        Col("対象月数", "int"),
        Col("最初の対象月", "month"),
        Col("最後の対象月", "month"),
        Col("送付先", width=12),
        Col("依頼者の続柄", width=14),
        Col("状態", width=9),
        Col("印刷バッチ", width=14),
        Col("発送日時", "datetime"),
        Col("取消理由", width=30),
    ]

    def _statement(self):
        start, end = self.bounds()
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
        return (
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
            .outerjoin(PrintBatch, PrintBatch.id == ReissueRequest.batch_id)
            .where(ReissueRequest.requested_at >= start, ReissueRequest.requested_at < end)
            .order_by(ReissueRequest.requested_at, ReissueRequest.id)
        )

    def count(self) -> int:
        return _count(self._statement())

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
        ) in stream(self._statement()):
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
                REISSUE_STATUS_LABELS.get(status, status),
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
                [(label, self.by_status.get(status, 0)) for status, label in REISSUE_STATUS_LABELS.items()],
            ),
        ]


# --- マイページ利用者のロック・ロック解除・パスワード再設定 ---------------------------------------------

ACCOUNT_ACTIONS = (AuditAction.ACCOUNT_UNLOCK, AuditAction.ACCOUNT_PASSWORD_RESET_MAIL)


class AccountsReport(Report):
    """Unlocks and password-reset mails done by staff, and the accounts locked now."""

    key = "accounts"
    title = "ロック・ロック解除・パスワード再設定"
    description = (
        "職員が行ったロック解除とパスワード再設定メール、期間中にロックされた件数と現在ロック中の利用者。"
    )
    sheet_title = "対応一覧"
    columns = [
        Col("日時", "datetime"),
        Col("操作", width=22),
        Col("職員", width=26),
        Col("利用者番号", "int"),
        Col("理由", width=30),
    ]

    def _statement(self):
        start, end = self.bounds()
        return (
            select(
                AuditEvent.at,
                AuditEvent.action,
                AuditEvent.staff_email,
                AuditEvent.target_id,
                AuditEvent.reason,
            )
            .where(AuditEvent.action.in_(ACCOUNT_ACTIONS), AuditEvent.at >= start, AuditEvent.at < end)
            .order_by(AuditEvent.at, AuditEvent.id)
        )

    def count(self) -> int:
        return _count(self._statement())

    def rows(self) -> Iterator[tuple]:
        self.by_action: Counter = Counter()
        for at, action, staff, target, reason in stream(self._statement()):
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


# --- 名義変更・管理会社の変更 -----------------------------------------------------------------------


class ChangesReport(Report):
    """Name changes of the period, and handovers with how far each has got through its three steps."""

    key = "changes"
    title = "名義変更・管理会社の変更"
    description = "期間中に受け付けた名義変更（承認までの日数）と、管理会社の変更ごとの手順の進み具合。"
    sheet_title = "名義変更"
    personal_data = True
    columns = [
        Col("受付番号", "int"),
        Col("受付日時", "datetime"),
        Col("お客さま番号", width=13),
        Col("区", width=10),
        Col("新しい契約者の区分", width=10),
        Col("変更日", "date"),
        Col("状態", width=9),
        Col("受付職員", width=24),
        Col("決定職員", width=24),
        Col("決定日時", "datetime"),
        Col("処理日数", "decimal"),
        Col("管理会社の変更番号", "int"),
    ]
    STATUS = {
        ChangeStatus.PENDING: "承認待ち",
        ChangeStatus.APPROVED: "承認済",
        ChangeStatus.RETURNED: "差戻し",
    }

    def _statement(self):
        from sqlalchemy.orm import aliased

        from ..models import Staff

        start, end = self.bounds()
        maker, checker = aliased(Staff), aliased(Staff)
        return (
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
            .outerjoin(checker, checker.id == NameChange.decided_by_id)
            .where(NameChange.requested_at >= start, NameChange.requested_at < end)
            .order_by(NameChange.requested_at, NameChange.id)
        )

    def count(self) -> int:
        return _count(self._statement())

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
        ) in stream(self._statement()):
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
                    Col("受付日時", "datetime"),
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


# --- 断水等のお知らせの配信状況 ---------------------------------------------------------------------


class DisasterReport(Report):
    """Each published outage notice version with the mails it made and how many were delivered."""

    key = "disaster"
    title = "断水等のお知らせ配信状況"
    description = "期間中に公開したお知らせの版ごとの対象区と配信件数（送信済・失敗・未送信、グラフ付き）。"
    sheet_title = "版別配信件数"
    columns = [
        Col("事案番号", "int"),
        Col("版", "int"),
        Col("版の種別", width=9),
        Col("区分", width=8),
        Col("事象", width=8),
        Col("モード", width=8),
        Col("件名", width=36),
        Col("公開日時", "datetime"),
        Col("対象区", width=24),
        Col("配信対象", "int"),
        Col("送信済", "int"),
        Col("失敗", "int"),
        Col("未送信", "int"),
    ]
    VERSION_TYPES = {"alert": "発表", "update": "更新", "resolve": "解除", "cancel": "取消"}
    KINDS = {"emergency": "緊急", "planned": "計画"}

    def _statement(self):
        start, end = self.bounds()
        counts = (
            select(
                Notification.outage_version_id.label("version_id"),
                func.count(Delivery.id).label("total"),
                func.sum(case((Delivery.status == DeliveryStatus.SENT, 1), else_=0)).label("sent"),
                func.sum(case((Delivery.status == DeliveryStatus.FAILED, 1), else_=0)).label("failed"),
            )
            .join(Delivery, Delivery.notification_id == Notification.id)
            .where(Notification.outage_version_id.is_not(None))
            .group_by(Notification.outage_version_id)
            .subquery()
        )
        return (
            select(
                OutageNoticeVersion.id,
                OutageNoticeVersion.notice_id,
                OutageNoticeVersion.version_no,
                OutageNoticeVersion.version_type,
                OutageNoticeVersion.kind,
                OutageNoticeVersion.phenomenon,
                OutageNoticeVersion.mode,
                OutageNoticeVersion.title,
                OutageNoticeVersion.published_at,
                counts.c.total,
                counts.c.sent,
                counts.c.failed,
            )
            .outerjoin(counts, counts.c.version_id == OutageNoticeVersion.id)
            .where(OutageNoticeVersion.published_at >= start, OutageNoticeVersion.published_at < end)
            .order_by(OutageNoticeVersion.published_at, OutageNoticeVersion.id)
        )

    def count(self) -> int:
        return _count(self._statement())

    def rows(self) -> Iterator[tuple]:
        self.chart_rows = []
        statement = self._statement()
        for (
            version_id,
            notice_id,
            no,
            vtype,
            kind,
            phenomenon,
            mode,
            title,
            published,
            total,
            sent,
            failed,
        ) in stream(statement):
            areas = db.session.execute(
                select(OutageArea.ward_code, OutageArea.town)
                .where(OutageArea.version_id == version_id)
                .order_by(OutageArea.ward_code, OutageArea.town)
            ).all()
            area_text = "、".join(ward_name(w) + (f"（{t}）" if t else "") for w, t in areas)
            total, sent, failed = total or 0, sent or 0, failed or 0
            self.chart_rows.append((f"#{notice_id} 第{no}版", sent, failed, total - sent - failed))
            yield (
                notice_id,
                no,
                self.VERSION_TYPES.get(vtype, vtype),
                self.KINDS.get(kind, kind),
                PHENOMENON_LABELS.get(phenomenon, phenomenon),
                NOTICE_MODE_LABELS.get(mode, mode),
                title,
                local(published),
                area_text,
                total,
                sent,
                failed,
                total - sent - failed,
            )

    def summaries(self) -> list[SummarySheet]:
        return [
            SummarySheet(
                "配信件数グラフ",
                [Col("版", width=16), Col("送信済", "int"), Col("失敗", "int"), Col("未送信", "int")],
                self.chart_rows[-200:],
                Chart("版ごとの配信件数", series_columns=(2, 3, 4), stacked=True, y_title="通"),
            )
        ]


# --- 使用水量・料金（区別・月別） -------------------------------------------------------------------


class UsageReport(Report):
    """Usage and charges of the bills of each billing month, by ward."""

    key = "usage"
    title = "使用水量・料金（区別・月別）"
    description = "検針・請求データから、区ごと・月ごとの件数、使用水量、料金、未払件数（月別グラフ付き）。"
    sheet_title = "区別・月別"
    params = [Param("month_from", "開始月", "month"), Param("month_to", "終了月", "month")]
    columns = [
        Col("年月", "month"),
        Col("区", width=10),
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


# --- 検針・請求明細 --------------------------------------------------------------------------------


class BillsReport(Report):
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
        Col("お客さま番号", width=13),
        Col("区", width=10),
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

    def count(self) -> int:
        return _count(self.statement())

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


# --- 監査ログ -------------------------------------------------------------------------------------


class AuditReport(Report):
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
        Col("日時", "datetime"),
        Col("職員番号", "int"),
        Col("職員", width=26),
        Col("操作", width=24),
        Col("対象種別", width=16),
        Col("対象ID", width=10),
        Col("お客さま番号", width=13),
        Col("理由", width=30),
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

    def _statement(self):
        start, end = self.bounds()
        statement = select(
            AuditEvent.at,
            AuditEvent.staff_id,
            AuditEvent.staff_email,
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.customer_number,
            AuditEvent.reason,
            AuditEvent.detail,
            AuditEvent.request_id,
            AuditEvent.client_addr,
        ).where(AuditEvent.at >= start, AuditEvent.at < end)
        if self.values.get("staff"):
            statement = statement.where(func.lower(AuditEvent.staff_email) == self.values["staff"])
        if self.values.get("customer_number"):
            statement = statement.where(AuditEvent.customer_number == self.values["customer_number"])
        return statement.order_by(AuditEvent.at, AuditEvent.id)

    def count(self) -> int:
        return _count(self._statement())

    def rows(self) -> Iterator[tuple]:
        import json

        for at, staff_id, email, action, ttype, tid, number, reason, detail, request_id, addr in stream(
            self._statement()
        ):
            detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
            yield (
                local(at),
                staff_id,
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


REPORTS: dict[str, type[Report]] = {
    r.key: r
    for r in (
        ApplicationsReport,
        ReissueReport,
        AccountsReport,
        ChangesReport,
        DisasterReport,
        UsageReport,
        BillsReport,
        AuditReport,
    )
}
