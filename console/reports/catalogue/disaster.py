"""断水等のお知らせの配信状況: outage notice versions and how their mails went."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import case, func, select

from ...extensions import db
from ...models import (
    Delivery,
    DeliveryStatus,
    NoticeMode,
    Notification,
    OutageArea,
    OutageNoticeVersion,
    Phenomenon,
)
from ...wards import ward_name
from ..excel import Chart, Col, SummarySheet
from .base import QueryReport, local, stream


class DisasterReport(QueryReport):
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

    def statement(self):
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
        return self.in_period(
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
            .outerjoin(counts, counts.c.version_id == OutageNoticeVersion.id),
            OutageNoticeVersion.published_at, OutageNoticeVersion.id,
        )

    def rows(self) -> Iterator[tuple]:
        self.chart_rows = []
        statement = self.statement()
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
                Phenomenon.label_of(phenomenon),
                NoticeMode.label_of(mode),
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
