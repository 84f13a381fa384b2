"""Outage mail (R19, Q46, Q47): who gets it, what it says, how its sending goes, retrying failures.

Publishing an actual-mode version records one Notification and, in the same transaction, one Delivery row
per recipient account, chosen by a single INSERT … SELECT in the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, distinct, exists, func, literal, or_, select, tuple_

from .. import clock, towns
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


def _in_areas(areas: list[tuple[str, str | None]]):
    """Contracts whose usage location is in one of the areas: a whole ward, or a town in any of the ways
    a contract may store it (天神橋五丁目 / 天神橋5丁目 / 天神橋５丁目; a whole town: each of its 丁目)."""
    whole_wards = sorted({ward for ward, town in areas if town is None})
    places = sorted({(ward, form) for ward, town in areas if town is not None
                     for form in towns.stored_forms(ward, town)})
    terms = []
    if whole_wards:
        terms.append(Contract.ward_code.in_(whole_wards))
    if places:
        terms.append(tuple_(Contract.ward_code, Contract.town).in_(places))
    return or_(*terms) if terms else literal(False)


def _live_contract():
    """A contract that has not ended (its stop date, if any, is today or later)."""
    return or_(Contract.stop_date.is_(None), Contract.stop_date >= clock.today())


def _may_be_mailed() -> list:
    """An account that gets outage mail (Q46): active, registration complete, global notifications on."""
    return [
        PortalAccount.withdrawn_at.is_(None),
        PortalAccount.voided_at.is_(None),
        PortalAccount.registration_status == RegistrationStatus.FULL,
        PortalAccount.global_notifications.is_(True),
    ]


def _recipients(areas: list[tuple[str, str | None]]):
    in_area = (
        select(AccountLink.id)
        .join(Contract, Contract.id == AccountLink.contract_id)
        .where(
            AccountLink.account_id == PortalAccount.id,
            AccountLink.ended_at.is_(None),
            _live_contract(),
            _in_areas(areas),
        )
    )
    return select(PortalAccount.id, PortalAccount.email).where(*_may_be_mailed(), exists(in_area))


def _areas(version: OutageNoticeVersion) -> list[tuple[str, str | None]]:
    return [(a.ward_code, a.town) for a in version.areas]


def recipients_query(version: OutageNoticeVersion):
    """SELECT account id and address of every account to mail for this version (R19, Q46, Q47).

    An account qualifies once, however many contracts it holds in the area: active (not withdrawn or
    void, registration complete), opted in to global notifications, with a live link to a contract that
    has not ended and whose usage location is in one of the version's areas.
    """
    return _recipients(_areas(version))


@dataclass(frozen=True)
class AreaCount:
    """One area of a version (a town, or a whole ward) with who it reaches."""

    ward_code: str
    town: str | None
    recipients: int  # accounts to mail (an account with contracts in two towns counts in both)
    contracts: int  # contracts in force there, whether or not their holder uses the portal


def _linked_accounts():
    """Contracts in force joined to the accounts that would be mailed about them."""
    return (
        select()
        .select_from(Contract)
        .join(AccountLink, and_(AccountLink.contract_id == Contract.id, AccountLink.ended_at.is_(None)))
        .join(PortalAccount, PortalAccount.id == AccountLink.account_id)
        .where(_live_contract(), *_may_be_mailed())
    )


def area_counts(version: OutageNoticeVersion) -> list[AreaCount]:
    """Each area of the version in the order given, with its recipients and contracts (the preview's table,
    where a 0 tells the coordinator a town or 丁目 has no customers: a typing slip, most often).

    Three grouped queries however many areas there are (a count per area took seconds each on the city's
    data): contracts per town as stored, accounts per whole ward, and the accounts of the named towns,
    counted here once per area whichever way each contract spells the town."""
    areas = list(dict.fromkeys(_areas(version)))
    whole_wards = [ward for ward, town in areas if town is None]
    town_areas = [(ward, town) for ward, town in areas if town is not None]
    contracts: dict[tuple[str, str], int] = {
        (ward, town): count for ward, town, count in db.session.execute(
            select(Contract.ward_code, Contract.town, func.count())
            .where(_live_contract(), _in_areas(areas)).group_by(Contract.ward_code, Contract.town))
    } if areas else {}
    ward_accounts: dict[str, int] = dict(db.session.execute(
        _linked_accounts().add_columns(Contract.ward_code, func.count(distinct(AccountLink.account_id)))
        .where(Contract.ward_code.in_(whole_wards)).group_by(Contract.ward_code)
    ).all()) if whole_wards else {}
    town_accounts: dict[tuple[str, str], set[int]] = {}
    if town_areas:
        for ward, town, account_id in db.session.execute(
            _linked_accounts().add_columns(Contract.ward_code, Contract.town, AccountLink.account_id).distinct()
            .where(_in_areas(town_areas))
        ):
            town_accounts.setdefault((ward, town), set()).add(account_id)
    out = []
    for ward, town in areas:
        if town is None:
            out.append(AreaCount(ward, None, ward_accounts.get(ward, 0),
                                 sum(n for (w, _t), n in contracts.items() if w == ward)))
            continue
        keys = [(ward, form) for form in towns.stored_forms(ward, town)]
        out.append(AreaCount(ward, town, len(set().union(*(town_accounts.get(k, set()) for k in keys))),
                             sum(contracts.get(k, 0) for k in keys)))
    return out


def count_recipients(version: OutageNoticeVersion) -> int:
    """How many accounts publishing this version (in actual mode) would mail."""
    return db.session.scalar(select(func.count()).select_from(recipients_query(version).subquery()))


def mail_context(version: OutageNoticeVersion, public_url: str | None = None) -> dict:
    """What templates/mail/outage.txt says: what, where, since when, until when, what to do."""
    from ..formats import jdatetime

    return {
        "prefix": version_prefix(version),
        "title": version.title,
        "mode_label": NoticeMode(version.mode).label if version.mode != NoticeMode.ACTUAL else None,
        "phenomenon": Phenomenon(version.phenomenon).label, "area": area_text(version),
        "starts_at": jdatetime(version.starts_at), "expected_restoration_at": jdatetime(version.expected_restoration_at),
        "body": version.body, "guidance": version.guidance, "public_url": public_url,
    }


def version_prefix(version: OutageNoticeVersion) -> str:
    """What a version's mail begins with: 【第1報】, 【第2報】 …, or 【解消】 / 【取消】 for the last one."""
    return {VersionType.RESOLVE: "【解消】", VersionType.CANCEL: "【取消】"}.get(
        version.version_type, f"【第{version.version_no}報】")


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
