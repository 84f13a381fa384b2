"""Emergency water supply points (R20): created and edited by coordinators; status is an append-only history
whose latest entry is the public status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from .. import clock, normalise
from ..extensions import db
from ..models import (
    Staff,
    SupplyPoint,
    SupplyPointStatus,
    SupplyPointType,
    SupplyStatus,
)
from ..wards import WARDS, ward_name
from . import DomainError
from .audit import record
from .inputs import optional_text, require_text, within_column
from .permissions import COORDINATORS, requires

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")


@dataclass
class SupplyPointInput:
    """What a coordinator typed for a supply point."""

    code: str = ""
    name: str = ""
    kana: str = ""
    point_type: str = SupplyPointType.TEMPORARY_TANK.value
    ward_code: str = ""
    address: str = ""
    latitude: str = ""
    longitude: str = ""
    notes: str = ""


def _validated_point(data: SupplyPointInput) -> dict:
    code = normalise.nfkc(data.code).upper()
    if not _CODE.match(code):
        raise DomainError("拠点コードは英大文字・数字・ハイフンで2～20文字にしてください（例：SP-27127-05）。",
                          field="code")
    name = require_text(data.name, column=SupplyPoint.name, label="拠点名")
    kana = require_text(data.kana, column=SupplyPoint.kana, label="拠点名（カナ）", kana=True)
    try:
        point_type = SupplyPointType(data.point_type)
    except ValueError:
        raise DomainError("拠点の種類を選んでください。", field="point_type") from None
    if data.ward_code not in WARDS:
        raise DomainError("区を選んでください。", field="ward_code")
    address = require_text(data.address, column=SupplyPoint.address, label="所在地")
    try:
        latitude = float(normalise.nfkc(data.latitude))
        longitude = float(normalise.nfkc(data.longitude))
    except ValueError:
        raise DomainError("緯度・経度を数値で入力してください（例：34.7025、135.4959）。", field="latitude") from None
    # Osaka City lies around 34.6 N, 135.5 E; a swapped or mistyped pair is caught here.
    if not (34.4 <= latitude <= 34.9 and 135.3 <= longitude <= 135.7):
        raise DomainError("緯度・経度が大阪市の範囲外です。緯度と経度が逆になっていないか確認してください。",
                          field="latitude")
    notes = within_column((data.notes or "").strip(), column=SupplyPoint.notes, label="備考") or None
    return dict(code=code, name=name, kana=kana, point_type=point_type, ward_code=data.ward_code,
                address=address, latitude=round(latitude, 6), longitude=round(longitude, 6), notes=notes)


@requires(COORDINATORS)
def create_supply_point(actor: Staff, data: SupplyPointInput) -> SupplyPoint:
    """Add a supply point; it starts closed."""
    values = _validated_point(data)
    if db.session.scalar(select(SupplyPoint.id).where(SupplyPoint.code == values["code"])) is not None:
        raise DomainError(f"拠点コード {values['code']} は既に使われています。", field="code")
    point = SupplyPoint(**values)
    point.statuses = [SupplyPointStatus(status=SupplyStatus.CLOSED, changed_by_id=actor.id, note="登録")]
    db.session.add(point)
    db.session.flush()
    record(actor, "supply_point.create", target=point, detail={"code": point.code})
    return point


@requires(COORDINATORS)
def update_supply_point(actor: Staff, point: SupplyPoint, data: SupplyPointInput) -> SupplyPoint:
    """Change a supply point's details; its public code never changes."""
    values = _validated_point(SupplyPointInput(**{**data.__dict__, "code": point.code}))
    changed = {k: v for k, v in values.items() if getattr(point, k) != v}
    if not changed:
        raise DomainError("変更された項目がありません。")
    before = {k: str(getattr(point, k)) for k in changed}
    for key, value in changed.items():
        setattr(point, key, value)
    point.updated_at = clock.now()
    db.session.flush()
    record(actor, "supply_point.update", target=point,
           detail={"code": point.code, "before": before, "after": {k: str(v) for k, v in changed.items()}})
    return point


def _latest_status_subquery():
    ranked = select(
        SupplyPointStatus.supply_point_id, SupplyPointStatus.status, SupplyPointStatus.changed_at,
        func.row_number().over(
            partition_by=SupplyPointStatus.supply_point_id,
            order_by=(SupplyPointStatus.changed_at.desc(), SupplyPointStatus.id.desc()),
        ).label("rn"),
    ).subquery()
    return select(ranked.c.supply_point_id, ranked.c.status, ranked.c.changed_at).where(ranked.c.rn == 1).subquery()


def current_supply_points(ward_code: str | None = None) -> list[tuple[SupplyPoint, str, datetime]]:
    """Every supply point with its current status and when it was set, by ward then code."""
    latest = _latest_status_subquery()
    query = (
        select(SupplyPoint, latest.c.status, latest.c.changed_at)
        .join(latest, latest.c.supply_point_id == SupplyPoint.id, isouter=True)
        .order_by(SupplyPoint.ward_code, SupplyPoint.code)
    )
    if ward_code:
        query = query.where(SupplyPoint.ward_code == ward_code)
    return [(p, SupplyStatus(s) if s else SupplyStatus.CLOSED, t) for p, s, t in db.session.execute(query)]


def current_status(point: SupplyPoint) -> SupplyPointStatus | None:
    """The latest status entry of one point."""
    return db.session.scalar(
        select(SupplyPointStatus).where(SupplyPointStatus.supply_point_id == point.id)
        .order_by(SupplyPointStatus.changed_at.desc(), SupplyPointStatus.id.desc()).limit(1)
    )


def _status(value: str) -> SupplyStatus:
    try:
        return SupplyStatus(value)
    except ValueError:
        raise DomainError("状態（閉鎖・開設準備中・開設中・一時休止）を選んでください。", field="status") from None


@requires(COORDINATORS)
def set_supply_status(actor: Staff, point: SupplyPoint, status: str, note: str | None = None) -> SupplyPointStatus:
    """Append a status entry for one point (the history is never changed)."""
    new = _status(status)
    # Serialise changes of the same point so "unchanged" is judged against the true latest entry.
    db.session.execute(select(SupplyPoint.id).where(SupplyPoint.id == point.id).with_for_update())
    current = current_status(point)
    if current is not None and current.status == new:
        raise DomainError(f"{point.name}は既に「{SupplyStatus(new).label}」です。")
    entry = SupplyPointStatus(supply_point_id=point.id, status=new, changed_by_id=actor.id,
                              note=optional_text(note, column=SupplyPointStatus.note, label="メモ"),
                              changed_at=clock.now())
    db.session.add(entry)
    db.session.flush()
    record(actor, "supply_point.status", target=point, detail={
        "code": point.code, "from": current.status.value if current else None, "to": new.value,
    })
    return entry


@requires(COORDINATORS)
def set_ward_status(actor: Staff, ward_code: str, status: str, note: str | None = None,
                    point_type: str | None = None) -> int:
    """Set every point of a ward (optionally of one type) to a status; points already there are left alone.

    One status entry and one audit entry per point changed; returns how many changed.
    """
    if ward_code not in WARDS:
        raise DomainError("区を選んでください。", field="ward_code")
    new = _status(status)
    if point_type:
        try:
            point_type = SupplyPointType(point_type)
        except ValueError:
            raise DomainError("拠点の種類が正しくありません。", field="point_type") from None
    note = optional_text(note, column=SupplyPointStatus.note, label="メモ")
    ids = select(SupplyPoint.id).where(SupplyPoint.ward_code == ward_code).order_by(SupplyPoint.id)
    if point_type:
        ids = ids.where(SupplyPoint.point_type == point_type)
    locked = list(db.session.scalars(ids.with_for_update()))
    changed = 0
    now = clock.now()
    for point, current, _ in current_supply_points(ward_code):
        if point.id not in locked or current == new:
            continue
        db.session.add(SupplyPointStatus(supply_point_id=point.id, status=new, changed_by_id=actor.id,
                                         note=note, changed_at=now))
        record(actor, "supply_point.status", target=point, detail={
            "code": point.code, "from": current.value, "to": new.value, "bulk_ward": ward_code,
        })
        changed += 1
    db.session.flush()
    if not locked:
        raise DomainError(f"{ward_name(ward_code)}に対象の給水拠点がありません。")
    return changed


def status_history(point: SupplyPoint, limit: int = 100) -> list[tuple[SupplyPointStatus, str | None]]:
    """A point's status history, newest first, with the staff name (for the console only)."""
    staff = aliased(Staff)
    return list(db.session.execute(
        select(SupplyPointStatus, staff.name).join(staff, staff.id == SupplyPointStatus.changed_by_id, isouter=True)
        .where(SupplyPointStatus.supply_point_id == point.id)
        .order_by(SupplyPointStatus.changed_at.desc(), SupplyPointStatus.id.desc()).limit(limit)
    ))
