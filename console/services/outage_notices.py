"""Outage notices (R19): drafts, publishing, updates, resolving and cancelling; what the public pages show.

An incident (OutageNotice) is a sequence of versions. A coordinator edits one draft version at a time;
publishing it fixes it for good (nothing published is changed or deleted). Publishing an actual-mode
version records its mails (services/outage_mail.py); the caller enqueues the sending jobs after commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .. import clock, normalise, towns
from ..extensions import db
from ..formats import TOKYO
from ..models import (
    Delivery,
    IncidentStatus,
    NoticeKind,
    NoticeMode,
    OutageArea,
    OutageNotice,
    OutageNoticeVersion,
    Phenomenon,
    Staff,
    SupplyPoint,
    SupplyPointStatus,
    VersionType,
)
from ..wards import WARDS, ward_name
from . import DomainError
from .audit import record
from .inputs import require_text, within_column
from .outage_mail import record_outage_mails, towns_by_ward
from .permissions import COORDINATORS, requires

OPEN_STATUSES = (IncidentStatus.DRAFT, IncidentStatus.PUBLISHED)


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
    towns: dict[str, str] | None = None  # ward code → towns separated by 、 or commas (console/towns.py)


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
    # A ward whose towns were typed is meant even when its box was left unticked.
    typed = {w: towns.split_list(t) for w, t in (data.towns or {}).items()}
    wards = [w for w in dict.fromkeys([*(data.wards or ()), *(w for w, names in typed.items() if names)]) if w]
    unknown = [w for w in wards if w not in WARDS]
    if unknown:
        raise DomainError(f"区のコードが正しくありません：{'、'.join(unknown)}", field="wards")
    if not wards:
        raise DomainError("対象の区を1つ以上選んでください。", field="wards")
    areas: list[tuple[str, str | None]] = []
    for ward in sorted(wards):
        names = list(dict.fromkeys(_place(ward, name) for name in typed.get(ward, ())))
        areas.extend((ward, name) for name in names) if names else areas.append((ward, None))
    return dict(kind=kind, phenomenon=phenomenon, mode=mode, title=title, body=body, guidance=guidance,
                starts_at=starts_at, expected_restoration_at=restoration, areas=areas)


def _place(ward: str, typed: str) -> str:
    """The town as a notice names it (天神橋5丁目 → 天神橋五丁目), or a refusal naming the nearest towns."""
    try:
        return towns.parse(ward, typed).name
    except towns.UnknownTown as exc:
        raise DomainError(_unknown_town_message(exc), field="wards") from None


def _unknown_town_message(exc: towns.UnknownTown) -> str:
    """What a coordinator reads when a town is not in the ward's list, with the nearest names."""
    ward, typed = ward_name(exc.ward_code), exc.typed[:30]
    if exc.no_chome:
        return f"{ward}の「{exc.no_chome}」には丁目がありません。「{exc.no_chome}」とだけ入力してください。"
    if exc.bad_chome:
        town = exc.bad_chome
        return (f"{ward}の「{typed}」は丁目の番号が正しくありません。町全体なら「{town}」、"
                f"丁目を限るなら「{town}一丁目」のように入力してください。")
    message = f"{ward}に「{typed}」という町はありません。"
    if exc.other_wards:
        elsewhere = "・".join(ward_name(w) for w in exc.other_wards)
        message += f"{elsewhere}の町です。{elsewhere}を選んでその欄に入力してください。"
    if exc.candidates:
        message += f"近い町名：{'、'.join(exc.candidates)}。この中から選び直してください。"
    elif not exc.other_wards:
        message += "町名の欄の候補（日本郵便の町域名）から選んでください。"
    return message


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
    by_ward = towns_by_ward(version)
    return NoticeInput(
        kind=version.kind.value, phenomenon=version.phenomenon.value, mode=version.mode.value,
        title=version.title, body=version.body, guidance=version.guidance or "",
        starts_at=local_input(version.starts_at),
        expected_restoration_at=local_input(version.expected_restoration_at),
        wards=tuple(by_ward), towns={w: "、".join(t) for w, t in by_ward.items()},
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
            f"このお知らせは「{NoticeMode(first.mode).label}」として発表済みです。発表区分は変えられません。",
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


def _publish(actor: Staff, notice: OutageNotice, version: OutageNoticeVersion, public_url: str | None):
    version.published_at = clock.now()
    version.published_by_id = actor.id
    notice.status = {VersionType.RESOLVE: IncidentStatus.RESOLVED,
                     VersionType.CANCEL: IncidentStatus.CANCELLED}.get(version.version_type, IncidentStatus.PUBLISHED)
    db.session.flush()
    notification = record_outage_mails(actor, version, public_url)
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
