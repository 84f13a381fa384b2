"""The home page's figures: today's work per role as counts, and a supervisor's last 30 days per day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..models import (
    ApplicationStatus,
    AuditEvent,
    ChangeStatus,
    Handover,
    HandoverStatus,
    IncidentStatus,
    NameChange,
    OutageNotice,
    PortalAccount,
    ReissueRequest,
    ReissueStatus,
    Role,
    Staff,
    StartApplication,
    StopApplication,
)
from .catalogue.base import local

CUSTOMER = frozenset({Role.OPERATOR, Role.SUPERVISOR})
DAYS = 30


@dataclass
class Tile:
    """One count on the home page, linking to the list where the work is done."""

    label: str
    count: int
    endpoint: str
    roles: frozenset[Role]


@dataclass
class Series:
    """Counts per day for a chart."""

    title: str
    days: list[date]
    counts: list[int]

    @property
    def peak(self) -> int:
        """The highest day (at least 1, for scaling the bars)."""
        return max([1, *self.counts])

    @property
    def total(self) -> int:
        """All days together."""
        return sum(self.counts)


def _count(statement) -> int:
    return db.session.scalar(statement) or 0


def tiles(roles: frozenset[Role]) -> list[Tile]:
    """Today's work for someone holding these roles."""
    candidates = [
        (
            CUSTOMER,
            "未処理の使用開始・中止申込",
            "applications.index",
            lambda: (
                _count(
                    select(func.count())
                    .select_from(StartApplication)
                    .where(StartApplication.status == ApplicationStatus.PENDING)
                )
                + _count(
                    select(func.count())
                    .select_from(StopApplication)
                    .where(StopApplication.status == ApplicationStatus.PENDING)
                )
            ),
        ),
        (
            CUSTOMER,
            "ロック中のマイページ利用者",
            "locked_accounts.index_view",
            lambda: _count(
                select(func.count())
                .select_from(PortalAccount)
                .where(PortalAccount.locked_at.is_not(None), PortalAccount.withdrawn_at.is_(None))
            ),
        ),
        (
            CUSTOMER,
            "承認待ちの名義変更",
            "name_changes.index",
            lambda: _count(
                select(func.count()).select_from(NameChange).where(NameChange.status == ChangeStatus.PENDING)
            ),
        ),
        (
            CUSTOMER,
            "進行中の管理会社の変更",
            "handovers.index",
            lambda: _count(
                select(func.count()).select_from(Handover).where(Handover.status == HandoverStatus.OPEN)
            ),
        ),
        (
            CUSTOMER,
            "未発送のお知らせ票の再発行",
            "reissue.index",
            lambda: _count(
                select(func.count())
                .select_from(ReissueRequest)
                .where(ReissueRequest.status.in_([ReissueStatus.REQUESTED, ReissueStatus.IN_BATCH]))
            ),
        ),
        # Coordinators open their own list; the desk its read-only one (someone holding both: the first).
        (frozenset({Role.DISASTER_COORDINATOR}), "発表中の断水等のお知らせ", "outage_notices.index", _published),
        (CUSTOMER, "発表中の断水等のお知らせ", "outages.index", _published),
        (
            frozenset({Role.ADMIN}),
            "ロック中の職員",
            "staff.index_view",
            lambda: _count(select(func.count()).select_from(Staff).where(Staff.locked_at.is_not(None))),
        ),
    ]
    shown: dict[str, Tile] = {}
    for who, label, endpoint, counter in candidates:
        if roles & who and label not in shown:
            shown[label] = Tile(label, counter(), endpoint, who)
    return list(shown.values())


def _published() -> int:
    return _count(select(func.count()).select_from(OutageNotice).where(OutageNotice.status == IncidentStatus.PUBLISHED))


def _per_day(column, *conditions, today: date, since: datetime) -> list[int]:
    days = Counter(
        local(at).date() for at in db.session.scalars(select(column).where(column >= since, *conditions))
    )
    return [days.get(today - timedelta(days=DAYS - 1 - i), 0) for i in range(DAYS)]


def last_30_days(now: datetime | None = None) -> list[Series]:
    """Per-day counts of the last 30 days (Japan time) for a supervisor's charts."""
    now = local(now or clock.now())
    today = now.date()
    since = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    starts = _per_day(StartApplication.received_at, today=today, since=since)
    stops = _per_day(StopApplication.received_at, today=today, since=since)
    return [
        Series("使用開始・中止申込の受付", days, [a + b for a, b in zip(starts, stops, strict=True)]),
        Series(
            "ロック解除・パスワード再設定",
            days,
            _per_day(
                AuditEvent.at,
                AuditEvent.action.in_(["account.unlock", "account.password_reset_mail"]),
                today=today,
                since=since,
            ),
        ),
        Series("名義変更の受付", days, _per_day(NameChange.requested_at, today=today, since=since)),
        Series(
            "お知らせ票の再発行の受付", days, _per_day(ReissueRequest.requested_at, today=today, since=since)
        ),
    ]


@dataclass
class DeskFigures:
    """A supervisor's view of the desk's memory: charts of the last 30 days, categories, this month's FAQ."""

    series: list[Series]
    categories: list[tuple[str, int]]
    questions: list
    month: date


def desk_figures(now: datetime | None = None) -> DeskFigures:
    """Contacts and follow-ups per day over the last 30 days, contacts per category over them, and the
    FAQ questions behind the most contacts this month (issue 14)."""
    from .contact_figures import contacts_per_category_per_day, follow_ups_per_day, top_faq_questions

    today = local(now or clock.now()).date()
    first = today - timedelta(days=DAYS - 1)
    by_category = contacts_per_category_per_day(first, today)
    follow_ups = follow_ups_per_day(first, today)
    days = by_category.days
    return DeskFigures(
        series=[
            Series("応対の記録", days, [by_category.day_total(d) for d in days]),
            Series("対応待ちの登録", days, [f.opened for f in follow_ups]),
            Series("対応待ちの完了", days, [f.closed for f in follow_ups]),
            Series("期限超過の対応待ち（日末）", days, [f.overdue for f in follow_ups]),
        ],
        categories=sorted(((c.name, by_category.total(c.id)) for c in by_category.categories),
                          key=lambda item: -item[1]),
        questions=top_faq_questions(today.replace(day=1), today, limit=5),
        month=today.replace(day=1),
    )
