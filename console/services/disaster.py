"""Outage notices (R19) and emergency water supply points (R20), for disaster coordinators.

An incident (OutageNotice) is a sequence of versions. A coordinator edits one draft version at a time;
publishing it fixes it for good (nothing published is changed or deleted). Publishing an actual-mode
version records one Notification and, in the same transaction, one Delivery row per recipient account,
chosen by a single INSERT … SELECT in the database; the caller enqueues the sending jobs after commit.
Supply point status is an append-only history; the latest entry is the public status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased

from .. import clock, normalise
from ..extensions import db
from ..formats import TOKYO
from ..models import (
    AccountLink,
    Contract,
    Delivery,
    DeliveryStatus,
    IncidentStatus,
    NoticeKind,
    NoticeMode,
    Notification,
    NotificationKind,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    Phenomenon,
    PortalAccount,
    RegistrationStatus,
    Staff,
    SupplyPoint,
    SupplyPointStatus,
    SupplyPointType,
    SupplyStatus,
    VersionType,
)
from ..models.disaster import NOTICE_MODE_LABELS, PHENOMENON_LABELS, SUPPLY_STATUS_LABELS
from ..wards import WARDS, ward_name
from . import DomainError
from .audit import record
from .inputs import max_length, optional_text, require_text, within_column
from .mail import record_mail, render_mail, send_after_commit
from .permissions import COORDINATORS, requires

KIND_LABELS = {NoticeKind.EMERGENCY: "緊急（災害・事故）", NoticeKind.PLANNED: "計画（工事等）"}
VERSION_TYPE_LABELS = {
    VersionType.ALERT: "第1報",
    VersionType.UPDATE: "続報",
    VersionType.RESOLVE: "解消",
    VersionType.CANCEL: "取消",
}
INCIDENT_STATUS_LABELS = {
    IncidentStatus.DRAFT: "下書き",
    IncidentStatus.PUBLISHED: "発表中",
    IncidentStatus.RESOLVED: "解消済み",
    IncidentStatus.CANCELLED: "取消済み",
}
OPEN_STATUSES = (IncidentStatus.DRAFT, IncidentStatus.PUBLISHED)
_TOWN_SPLIT = re.compile(r"[,、，\s]+")


@dataclass
class NoticeInput:
    """What a coordinator typed for a version (raw strings from the form)."""

    kind: str = NoticeKind.EMERGENCY.value
    phenomenon: str = Phenomenon.OUTAGE.value
    mode: str = NoticeMode.ACTUAL.value
    title: str = ""
    body: str = ""
    guidance: str = ""
    starts_at: str = ""
    expected_restoration_at: str = ""
    wards: tuple[str, ...] = ()
    towns: dict[str, str] | None = None  # ward code → towns separated by 、 or commas


def parse_local_datetime(value: str | None) -> datetime | None:
    """A datetime-local input ("2026-11-25T06:00"), read as Japan time; None when empty or unreadable."""
    value = normalise.nfkc(value)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=TOKYO) if parsed.tzinfo is None else parsed


def local_input(value: datetime | None) -> str:
    """The value for a datetime-local input, in Japan time."""
    return value.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M") if value else ""


def _validated(data: NoticeInput) -> dict:
    try:
        kind = NoticeKind(data.kind)
    except ValueError:
        raise DomainError("種別（緊急・計画）を選んでください。", field="kind") from None
    try:
        phenomenon = Phenomenon(data.phenomenon)
    except ValueError:
        raise DomainError("事象（断水・濁水・減圧）を選んでください。", field="phenomenon") from None
    try:
        mode = NoticeMode(data.mode)
    except ValueError:
        raise DomainError("発表区分（実発令・訓練・試験）を選んでください。", field="mode") from None
    title = require_text(data.title, column=OutageNoticeVersion.title, label="件名")
    # The body and guidance keep the coordinator's characters as typed (no NFKC): they are published as is.
    body = within_column((data.body or "").strip(), column=OutageNoticeVersion.body, label="本文")
    guidance = within_column((data.guidance or "").strip(), column=OutageNoticeVersion.guidance, label="案内") or None
    if not body:
        raise DomainError("本文を入力してください。", field="body")
    starts_at = parse_local_datetime(data.starts_at)
    if starts_at is None:
        raise DomainError("発生（開始）日時を入力してください。", field="starts_at")
    restoration = None
    if normalise.nfkc(data.expected_restoration_at):
        restoration = parse_local_datetime(data.expected_restoration_at)
        if restoration is None:
            raise DomainError("復旧見込み日時の形式が正しくありません。", field="expected_restoration_at")
        if restoration <= starts_at:
            raise DomainError("復旧見込み日時は発生日時より後にしてください。", field="expected_restoration_at")
    wards = [w for w in dict.fromkeys(data.wards or ()) if w]
    unknown = [w for w in wards if w not in WARDS]
    if unknown:
        raise DomainError(f"区のコードが正しくありません：{'、'.join(unknown)}", field="wards")
    if not wards:
        raise DomainError("対象の区を1つ以上選んでください。", field="wards")
    areas: list[tuple[str, str | None]] = []
    for ward in sorted(wards):
        raw = (data.towns or {}).get(ward, "")
        towns = [t for t in dict.fromkeys(_TOWN_SPLIT.split(normalise.nfkc(raw))) if t]
        too_long = [t for t in towns if len(t) > max_length(OutageArea.town)]
        if too_long:
            raise DomainError(f"町名が長すぎます：{too_long[0][:20]}…", field="wards")
        areas.extend((ward, town) for town in towns) if towns else areas.append((ward, None))
    return dict(kind=kind, phenomenon=phenomenon, mode=mode, title=title, body=body, guidance=guidance,
                starts_at=starts_at, expected_restoration_at=restoration, areas=areas)


def latest_published(notice: OutageNotice) -> OutageNoticeVersion | None:
    """The version the public sees now."""
    published = [v for v in notice.versions if v.published_at is not None]
    return published[-1] if published else None


def first_published(notice: OutageNotice) -> OutageNoticeVersion | None:
    """The first published version (its mode holds for the whole incident)."""
    return next((v for v in notice.versions if v.published_at is not None), None)


def draft_of(notice: OutageNotice) -> OutageNoticeVersion | None:
    """The unpublished version being edited, if any."""
    return next((v for v in notice.versions if v.published_at is None), None)


def input_from_version(version: OutageNoticeVersion) -> NoticeInput:
    """A form pre-filled from a version (to edit a draft or to start an update)."""
    towns: dict[str, list[str]] = {}
    for area in version.areas:
        towns.setdefault(area.ward_code, [])
        if area.town:
            towns[area.ward_code].append(area.town)
    return NoticeInput(
        kind=version.kind.value, phenomenon=version.phenomenon.value, mode=version.mode.value,
        title=version.title, body=version.body, guidance=version.guidance or "",
        starts_at=local_input(version.starts_at),
        expected_restoration_at=local_input(version.expected_restoration_at),
        wards=tuple(towns), towns={w: "、".join(t) for w, t in towns.items()},
    )


def _lock_notice(notice_id: int) -> OutageNotice:
    notice = db.session.scalar(select(OutageNotice).where(OutageNotice.id == notice_id).with_for_update())
    if notice is None:
        raise DomainError("お知らせが見つかりません。")
    db.session.refresh(notice, ["versions"])
    return notice


def _apply(version: OutageNoticeVersion, values: dict) -> None:
    for key in ("kind", "phenomenon", "mode", "title", "body", "guidance", "starts_at", "expected_restoration_at"):
        setattr(version, key, values[key])
    version.areas = [OutageArea(ward_code=w, town=t) for w, t in values["areas"]]


@requires(COORDINATORS)
def create_draft(actor: Staff, data: NoticeInput) -> OutageNoticeVersion:
    """Start a new incident with its first (draft) version."""
    values = _validated(data)
    notice = OutageNotice(status=IncidentStatus.DRAFT, created_by_id=actor.id)
    db.session.add(notice)
    db.session.flush()
    version = OutageNoticeVersion(notice_id=notice.id, version_no=1, version_type=VersionType.ALERT,
                                  created_by_id=actor.id)
    _apply(version, values)
    db.session.add(version)
    db.session.flush()
    record(actor, "outage.draft", target=version, detail={"notice_id": notice.id, "version_no": 1})
    return version


@requires(COORDINATORS)
def save_draft(actor: Staff, notice_id: int, data: NoticeInput) -> OutageNoticeVersion:
    """Create or change the notice's draft version (an update of a published notice starts here)."""
    notice = _lock_notice(notice_id)
    if notice.status in (IncidentStatus.RESOLVED, IncidentStatus.CANCELLED):
        raise DomainError("解消済み・取消済みのお知らせは変更できません。新しいお知らせを作成してください。")
    values = _validated(data)
    first = first_published(notice)
    if first is not None and values["mode"] != first.mode:
        raise DomainError(
            f"このお知らせは「{NOTICE_MODE_LABELS[first.mode]}」として発表済みです。発表区分は変えられません。",
            field="mode",
        )
    version = draft_of(notice)
    if version is None:
        version = OutageNoticeVersion(
            notice_id=notice.id, version_no=notice.versions[-1].version_no + 1,
            version_type=VersionType.UPDATE if first is not None else VersionType.ALERT, created_by_id=actor.id,
        )
        db.session.add(version)
    _apply(version, values)
    db.session.flush()
    record(actor, "outage.draft", target=version, detail={"notice_id": notice.id, "version_no": version.version_no})
    return version


@requires(COORDINATORS)
def discard_draft(actor: Staff, notice_id: int) -> None:
    """Throw away the unpublished draft (published versions stay as they are)."""
    notice = _lock_notice(notice_id)
    version = draft_of(notice)
    if version is None:
        raise DomainError("破棄できる下書きがありません。")
    record(actor, "outage.discard_draft", target=version, detail={"notice_id": notice.id,
                                                                  "version_no": version.version_no})
    db.session.delete(version)
    db.session.flush()
    db.session.expire(notice, ["versions"])
    if not notice.versions:  # never published: the incident itself goes too
        db.session.delete(notice)
        db.session.flush()


def recipients_query(version: OutageNoticeVersion):
    """SELECT account id and address of every account to mail for this version (R19, Q46, Q47).

    An account qualifies once, however many contracts it holds in the area: active (not withdrawn or
    void, registration complete), opted in to global notifications, with a live link to a contract that
    has not ended and whose usage location is in one of the version's areas.
    """
    whole_wards = sorted({a.ward_code for a in version.areas if a.town is None})
    towns = sorted({(a.ward_code, a.town) for a in version.areas if a.town is not None})
    area_terms = []
    if whole_wards:
        area_terms.append(Contract.ward_code.in_(whole_wards))
    if towns:
        area_terms.append(tuple_(Contract.ward_code, Contract.town).in_(towns))
    today = clock.today()
    in_area = (
        select(AccountLink.id)
        .join(Contract, Contract.id == AccountLink.contract_id)
        .where(
            AccountLink.account_id == PortalAccount.id,
            AccountLink.ended_at.is_(None),
            or_(Contract.stop_date.is_(None), Contract.stop_date >= today),
            or_(*area_terms) if area_terms else literal(False),
        )
    )
    return select(PortalAccount.id, PortalAccount.email).where(
        PortalAccount.withdrawn_at.is_(None),
        PortalAccount.voided_at.is_(None),
        PortalAccount.registration_status == RegistrationStatus.FULL,
        PortalAccount.global_notifications.is_(True),
        exists(in_area),
    )


def count_recipients(version: OutageNoticeVersion) -> int:
    """How many accounts publishing this version (in actual mode) would mail."""
    return db.session.scalar(select(func.count()).select_from(recipients_query(version).subquery()))


def mail_context(version: OutageNoticeVersion, public_url: str | None = None) -> dict:
    """What templates/mail/outage.txt says: what, where, since when, until when, what to do."""
    from ..formats import jdatetime

    return {
        "prefix": {VersionType.RESOLVE: "【解消】", VersionType.CANCEL: "【取消】"}.get(version.version_type, ""),
        "title": version.title,
        "mode_label": NOTICE_MODE_LABELS[version.mode] if version.mode != NoticeMode.ACTUAL else None,
        "phenomenon": PHENOMENON_LABELS[version.phenomenon], "area": area_text(version),
        "starts_at": jdatetime(version.starts_at), "expected_restoration_at": jdatetime(version.expected_restoration_at),
        "body": version.body, "guidance": version.guidance, "public_url": public_url,
    }


def mail_subject(version: OutageNoticeVersion) -> str:
    """The subject line customers see."""
    return render_mail("outage", mail_context(version))[0]


def mail_body(version: OutageNoticeVersion, public_url: str | None = None) -> str:
    """The plain-text mail, as a preview shows it and the customers get it."""
    return render_mail("outage", mail_context(version, public_url))[1]


def area_text(version: OutageNoticeVersion) -> str:
    """「東淀川区、淀川区（十三本町一丁目、新北野一丁目）」"""
    by_ward: dict[str, list[str]] = {}
    for area in version.areas:
        by_ward.setdefault(area.ward_code, [])
        if area.town:
            by_ward[area.ward_code].append(area.town)
    return "、".join(ward_name(w) + (f"（{'、'.join(t)}）" if t else "") for w, t in by_ward.items())


def _record_mails(actor: Staff, version: OutageNoticeVersion, public_url: str | None) -> Notification | None:
    if version.mode != NoticeMode.ACTUAL:
        return None
    return record_mail(
        NotificationKind.OUTAGE, recipients_query(version), "outage",
        mail_context(version, public_url), dedupe_key=f"outage-version:{version.id}", actor=actor,
        outage_version_id=version.id,
    )


def _publish(actor: Staff, notice: OutageNotice, version: OutageNoticeVersion, public_url: str | None):
    version.published_at = clock.now()
    version.published_by_id = actor.id
    notice.status = {VersionType.RESOLVE: IncidentStatus.RESOLVED,
                     VersionType.CANCEL: IncidentStatus.CANCELLED}.get(version.version_type, IncidentStatus.PUBLISHED)
    db.session.flush()
    notification = _record_mails(actor, version, public_url)
    recipients = 0
    if notification is not None:
        recipients = db.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.notification_id == notification.id)
        )
    record(actor, f"outage.{version.version_type.value}", target=version, detail={
        "notice_id": notice.id, "version_no": version.version_no, "mode": version.mode.value,
        "wards": sorted({a.ward_code for a in version.areas}), "recipients": recipients,
    })
    return notification


@requires(COORDINATORS)
def publish_draft(actor: Staff, notice_id: int, public_url: str | None = None) -> tuple[OutageNoticeVersion, int | None]:
    """Publish the draft as the first version or an update; returns it and the notification id to send."""
    notice = _lock_notice(notice_id)
    if notice.status in (IncidentStatus.RESOLVED, IncidentStatus.CANCELLED):
        raise DomainError("解消済み・取消済みのお知らせは発表できません。")
    version = draft_of(notice)
    if version is None:
        raise DomainError("発表する下書きがありません。")
    version.version_type = VersionType.UPDATE if first_published(notice) is not None else VersionType.ALERT
    notification = _publish(actor, notice, version, public_url)
    return version, notification.id if notification is not None else None


@requires(COORDINATORS)
def close_notice(actor: Staff, notice_id: int, *, cancel: bool, message: str,
                 public_url: str | None = None) -> tuple[OutageNoticeVersion, int | None]:
    """Resolve (解消) or cancel (取消) a published notice: a new, final version saying so."""
    notice = _lock_notice(notice_id)
    latest = latest_published(notice)
    if latest is None or notice.status != IncidentStatus.PUBLISHED:
        raise DomainError("発表中のお知らせだけを解消・取消できます。")
    message = (message or "").strip()
    if not message:
        raise DomainError("お客さまへのお知らせ文（解消・取消の理由）を入力してください。", field="message")
    draft = draft_of(notice)
    if draft is not None:
        db.session.delete(draft)
        db.session.flush()
        db.session.expire(notice, ["versions"])
    version_type = VersionType.CANCEL if cancel else VersionType.RESOLVE
    version = OutageNoticeVersion(
        notice_id=notice.id, version_no=latest.version_no + 1, version_type=version_type,
        kind=latest.kind, phenomenon=latest.phenomenon, mode=latest.mode,
        title=re.sub(r"^【(解消|取消)】", "", latest.title), body=message,
        guidance=None if cancel else latest.guidance, starts_at=latest.starts_at,
        expected_restoration_at=clock.now() if not cancel else latest.expected_restoration_at,
        created_by_id=actor.id,
    )
    version.areas = [OutageArea(ward_code=a.ward_code, town=a.town) for a in latest.areas]
    db.session.add(version)
    db.session.flush()
    notification = _publish(actor, notice, version, public_url)
    return version, notification.id if notification is not None else None


def notification_for(version: OutageNoticeVersion) -> Notification | None:
    """The mail recorded for a published actual version."""
    return db.session.scalar(select(Notification).where(Notification.outage_version_id == version.id))


def delivery_progress(notification_id: int | None) -> dict:
    """sent / failed / remaining counts of one version's mails (the coordinator's live progress)."""
    counts = {s.value: 0 for s in DeliveryStatus}
    if notification_id is not None:
        rows = db.session.execute(
            select(Delivery.status, func.count()).where(Delivery.notification_id == notification_id)
            .group_by(Delivery.status)
        )
        for status, count in rows:
            counts[DeliveryStatus(status).value] = count
    total = sum(counts.values())
    return {"total": total, "sent": counts["sent"], "failed": counts["failed"], "remaining": counts["pending"],
            "done": total > 0 and counts["pending"] == 0}


_EMAIL = re.compile(r"[^\s<>()\"']+@[^\s<>()\"']+")


def redact(text: str | None) -> str:
    """An SMTP error without the address in it (coordinators do not see customers' addresses)."""
    return _EMAIL.sub("＊＊＊", text or "")


def failed_deliveries(notification_id: int, limit: int = 200) -> list[Delivery]:
    """Failed and retrying deliveries, for the coordinator's list (addresses are not shown)."""
    return list(db.session.scalars(
        select(Delivery).where(
            Delivery.notification_id == notification_id,
            or_(Delivery.status == DeliveryStatus.FAILED,
                and_(Delivery.status == DeliveryStatus.PENDING, Delivery.attempts > 0)),
        ).order_by(Delivery.id).limit(limit)
    ))


@requires(COORDINATORS)
def retry_failed(actor: Staff, notification_id: int) -> int:
    """Put failed deliveries back in the queue (a coordinator's decision, e.g. after the mail server recovered)."""
    rows = db.session.execute(
        Delivery.__table__.update()
        .where(Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.FAILED.value)
        .values(status=DeliveryStatus.PENDING.value, next_attempt_at=None, claimed_until=None, claimed_by=None)
    ).rowcount
    record(actor, "outage.retry_failed", target_type="notification", target_id=notification_id,
           detail={"deliveries": rows})
    send_after_commit(notification_id)
    return rows


# --- supply points (R20) ---------------------------------------------------------------------------

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
        raise DomainError(f"{point.name}は既に「{SUPPLY_STATUS_LABELS[new]}」です。")
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


def public_fingerprint() -> tuple:
    """Changes whenever anything on the public pages changes: cheap enough to ask on every request."""
    status_max = select(func.max(SupplyPointStatus.id)).scalar_subquery()
    status_time = select(func.max(SupplyPointStatus.changed_at)).scalar_subquery()
    point_max = select(func.max(func.coalesce(SupplyPoint.updated_at, SupplyPoint.created_at))).scalar_subquery()
    point_count = select(func.count(SupplyPoint.id)).scalar_subquery()
    published = OutageNoticeVersion.published_at.isnot(None)
    version_max = select(func.max(OutageNoticeVersion.published_at)).scalar_subquery()
    version_count = select(func.count(OutageNoticeVersion.id)).where(published).scalar_subquery()
    # Two versions published within one clock tick differ by id, not by time.
    version_id = select(func.max(OutageNoticeVersion.id)).where(published).scalar_subquery()
    return tuple(db.session.execute(
        select(status_max, status_time, point_max, point_count, version_max, version_count, version_id)).one())


def public_notices(days: int = 7) -> list[tuple[OutageNotice, OutageNoticeVersion]]:
    """Notices to show publicly with their latest published version: every one in force, plus those
    resolved or cancelled in the last `days` days (so the public sees the all-clear)."""
    since = clock.now() - timedelta(days=days)
    notices = db.session.scalars(
        select(OutageNotice).where(OutageNotice.status != IncidentStatus.DRAFT).order_by(OutageNotice.id.desc())
        .limit(200)
    ).all()
    out = []
    for notice in notices:
        latest = latest_published(notice)
        if latest is None:
            continue
        if notice.status != IncidentStatus.PUBLISHED and latest.published_at < since:
            continue
        out.append((notice, latest))
    out.sort(key=lambda pair: pair[1].published_at, reverse=True)
    return out
