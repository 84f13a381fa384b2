"""Outage mail (R19, Q46, Q47): who gets it, what it says, how its sending goes, retrying failures.

Publishing an actual-mode version records one Notification and, in the same transaction, one Delivery row
per recipient account, chosen by a single INSERT … SELECT in the database.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, exists, func, literal, or_, select, tuple_

from .. import clock
from ..extensions import db
from ..models import (
    AccountLink,
    Contract,
    Delivery,
    DeliveryStatus,
    NoticeMode,
    Notification,
    NotificationKind,
    OutageNoticeVersion,
    Phenomenon,
    PortalAccount,
    RegistrationStatus,
    Staff,
    VersionType,
)
from ..wards import ward_name
from .audit import record
from .mail import record_mail, render_mail, send_after_commit
from .permissions import COORDINATORS, requires


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
        "mode_label": NoticeMode(version.mode).label if version.mode != NoticeMode.ACTUAL else None,
        "phenomenon": Phenomenon(version.phenomenon).label, "area": area_text(version),
        "starts_at": jdatetime(version.starts_at), "expected_restoration_at": jdatetime(version.expected_restoration_at),
        "body": version.body, "guidance": version.guidance, "public_url": public_url,
    }


def mail_subject(version: OutageNoticeVersion) -> str:
    """The subject line customers see."""
    return render_mail("outage", mail_context(version))[0]


def mail_body(version: OutageNoticeVersion, public_url: str | None = None) -> str:
    """The plain-text mail, as a preview shows it and the customers get it."""
    return render_mail("outage", mail_context(version, public_url))[1]


def towns_by_ward(version: OutageNoticeVersion) -> dict[str, list[str]]:
    """The version's areas as ward code → its towns (empty: the whole ward), in the order given."""
    by_ward: dict[str, list[str]] = {}
    for area in version.areas:
        by_ward.setdefault(area.ward_code, [])
        if area.town:
            by_ward[area.ward_code].append(area.town)
    return by_ward


def area_text(version: OutageNoticeVersion) -> str:
    """「東淀川区、淀川区（十三本町一丁目、新北野一丁目）」"""
    by_ward = towns_by_ward(version)
    return "、".join(ward_name(w) + (f"（{'、'.join(t)}）" if t else "") for w, t in by_ward.items())


def record_outage_mails(actor: Staff, version: OutageNoticeVersion,
                        public_url: str | None) -> Notification | None:
    """The version's mail and one delivery per recipient, recorded in this transaction (actual mode only)."""
    if version.mode != NoticeMode.ACTUAL:
        return None
    return record_mail(
        NotificationKind.OUTAGE, recipients_query(version), "outage",
        mail_context(version, public_url), dedupe_key=f"outage-version:{version.id}", actor=actor,
        outage_version_id=version.id,
    )


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
