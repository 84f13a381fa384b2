"""Outage notices (断水等のお知らせ) with versions and areas, and emergency water supply points."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .base import IntPk, StaffId, Timestamp, str_enum
from .vocabulary import (
    IncidentStatus,
    NoticeKind,
    NoticeMode,
    Phenomenon,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)


class OutageNotice(db.Model):
    """One incident: the sequence of its versions is what the public and customers see."""

    __tablename__ = "outage_notice"

    id: Mapped[IntPk]
    status: Mapped[IncidentStatus] = mapped_column(
        str_enum(IncidentStatus), default=IncidentStatus.DRAFT
    )
    created_at: Mapped[Timestamp]
    created_by_id: Mapped[StaffId]

    versions: Mapped[list[OutageNoticeVersion]] = relationship(
        back_populates="notice", order_by="OutageNoticeVersion.version_no"
    )


class OutageNoticeVersion(db.Model):
    """One version of an incident; published versions are never changed or deleted."""

    __tablename__ = "outage_notice_version"

    id: Mapped[IntPk]
    notice_id: Mapped[int] = mapped_column(ForeignKey("outage_notice.id"), index=True)
    version_no: Mapped[int]
    version_type: Mapped[VersionType] = mapped_column(str_enum(VersionType))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind))
    phenomenon: Mapped[Phenomenon] = mapped_column(str_enum(Phenomenon))
    mode: Mapped[NoticeMode] = mapped_column(str_enum(NoticeMode))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    guidance: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime]
    expected_restoration_at: Mapped[datetime | None]
    created_at: Mapped[Timestamp]
    created_by_id: Mapped[StaffId]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    published_by_id: Mapped[StaffId | None]

    notice: Mapped[OutageNotice] = relationship(back_populates="versions")
    areas: Mapped[list[OutageArea]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="OutageArea.ward_code"
    )

    __table_args__ = (UniqueConstraint("notice_id", "version_no", name="uq_outage_notice_version_no"),)


class OutageArea(db.Model):
    """An affected ward, or one town of it; town None means the whole ward."""

    __tablename__ = "outage_area"

    id: Mapped[IntPk]
    version_id: Mapped[int] = mapped_column(ForeignKey("outage_notice_version.id", ondelete="CASCADE"), index=True)
    ward_code: Mapped[str] = mapped_column(String(5))
    town: Mapped[str | None] = mapped_column(String(60))

    version: Mapped[OutageNoticeVersion] = relationship(back_populates="areas")


class SupplyPoint(db.Model):
    """An emergency water supply point (応急給水拠点) with a stable public code."""

    __tablename__ = "supply_point"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kana: Mapped[str] = mapped_column(String(200))
    point_type: Mapped[SupplyPointType] = mapped_column(str_enum(SupplyPointType))
    ward_code: Mapped[str] = mapped_column(String(5), index=True)
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[datetime | None] = mapped_column(default=clock.now, onupdate=clock.now)

    statuses: Mapped[list[SupplyPointStatus]] = relationship(
        back_populates="supply_point", order_by="SupplyPointStatus.changed_at"
    )


class SupplyPointStatus(db.Model):
    """Append-only status history of a supply point; the latest entry is current."""

    __tablename__ = "supply_point_status"

    id: Mapped[IntPk]
    supply_point_id: Mapped[int] = mapped_column(ForeignKey("supply_point.id"))
    status: Mapped[SupplyStatus] = mapped_column(str_enum(SupplyStatus))
    changed_at: Mapped[Timestamp]
    changed_by_id: Mapped[StaffId | None]
    note: Mapped[str | None] = mapped_column(Text)

    supply_point: Mapped[SupplyPoint] = relationship(back_populates="statuses")

    __table_args__ = (Index("ix_supply_point_status_point_changed", "supply_point_id", "changed_at"),)
