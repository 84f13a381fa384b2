"""使用開始・中止申込: start and stop applications by ward and day, decision times, the age of the backlog."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import literal, select

from ...models import (
    ApplicationStatus,
    Channel,
    Contract,
    StartApplication,
    StopApplication,
)
from ...wards import WARDS, ward_name
from ..excel import Chart, Col, SummarySheet
from .base import (
    DECIDED_AT,
    RECEIVED_AT,
    STATUS,
    WARD,
    QueryReport,
    days_between,
    hours_between,
    local,
    stream,
)

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


class ApplicationsReport(QueryReport):
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
        WARD,
        Col("受付日", "date"),
        RECEIVED_AT,
        Col("希望日", "date"),
        STATUS,
        DECIDED_AT,
        Col("処理時間（時間）", "decimal"),
        Col("未処理経過日数", "int"),
    ]

    def statement(self):
        start, end = self.bounds()

        def received(kind: str, model, ward, desired):
            """One kind of application received in the period, in the union's columns."""
            return select(
                literal(kind).label("kind"), model.id, model.channel, ward,
                model.received_at.label("received_at"), desired.label("desired"),
                model.status, model.decided_at,
            ).where(model.received_at >= start, model.received_at < end)

        starts = received("start", StartApplication, StartApplication.ward_code,
                          StartApplication.desired_start_date)
        stops = received("stop", StopApplication, Contract.ward_code, StopApplication.desired_stop_date).join(
            Contract, Contract.id == StopApplication.contract_id)
        union = starts.union_all(stops).subquery()
        return select(union).order_by(union.c.received_at, union.c.kind, union.c.id)

    def rows(self) -> Iterator[tuple]:
        self.by_day_ward: dict[tuple[date, str], list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0, 0])
        self.by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        now = self.made_at
        for kind, app_id, channel, ward, received, desired, status, decided in stream(self.statement()):
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
                    WARD,
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
