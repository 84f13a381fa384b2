"""Jobs that mail an outage version to its recipients (R19), a batch of recipients per job.

Publishing records one Delivery row per (notification, account). The rows are cut into id ranges of
OUTAGE_BATCH_SIZE rows; each range is one job, all enqueued in one pipeline. A job opens one SMTP
connection and, chunk by chunk, claims pending rows of its range: a claim is a lease (claimed_until,
claimed_by) taken under SKIP LOCKED on PostgreSQL and re-checked in the UPDATE, so two jobs never hold
the same row. Each mail is marked sent in its own commit right after the SMTP server accepted it.

What a killed job leaves behind: rows it had marked sent stay sent; rows it had claimed but not sent
become claimable again when the lease runs out; rows it never reached stay pending. The sweeper
(resume_outage_deliveries, scheduled on publish and rescheduling itself while anything is pending)
enqueues a new job for such ranges. The one window no database can close is a kill after the SMTP
server accepted a mail and before the "sent" commit (about a millisecond per mail): that one mail is
sent again on resume, with the same Message-ID, so a receiving system can recognise the duplicate.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, text, update

from .. import clock, mail
from ..extensions import db
from ..models import Delivery, DeliveryStatus, Notification, NotificationKind
from .queue import JobsUnavailable, get_queue, with_app_context

log = logging.getLogger(__name__)

CLAIM_CHUNK = 50
MAX_ATTEMPTS = 5
JOB_TIMEOUT = 1800
SWEEP_JOB_ID = "outage-sweep"
_delivery = Delivery.__table__


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts`: 30 s, 1 min, 2 min, 4 min … at most 30 min."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config.get("OUTAGE_LEASE_SECONDS", 300))


def _claimable(now):
    return and_(
        _delivery.c.status == DeliveryStatus.PENDING.value,
        or_(_delivery.c.claimed_until.is_(None), _delivery.c.claimed_until < now),
        or_(_delivery.c.next_attempt_at.is_(None), _delivery.c.next_attempt_at <= now),
    )


def _claim(notification_id: int, first_id: int, last_id: int, token: str) -> list[tuple[int, str, int]]:
    """Lease up to CLAIM_CHUNK claimable rows of the range to this job; commits; returns (id, address, attempts)."""
    now = clock.now()
    in_range = and_(_delivery.c.notification_id == notification_id, _delivery.c.id.between(first_id, last_id))
    ids = list(db.session.scalars(
        select(_delivery.c.id).where(in_range, _claimable(now)).order_by(_delivery.c.id).limit(CLAIM_CHUNK)
        .with_for_update(skip_locked=True)
    ))
    if not ids:
        db.session.commit()
        return []
    # The WHERE is checked again by the UPDATE itself: on SQLite (no row locks) and after a concurrent
    # claim on PostgreSQL, only rows still claimable are taken.
    db.session.execute(
        update(_delivery).where(_delivery.c.id.in_(ids), _claimable(now))
        .values(claimed_until=now + _lease(), claimed_by=token)
    )
    rows = db.session.execute(
        select(_delivery.c.id, _delivery.c.address, _delivery.c.attempts)
        .where(_delivery.c.id.in_(ids), _delivery.c.claimed_by == token).order_by(_delivery.c.id)
    ).all()
    db.session.commit()
    return [tuple(r) for r in rows]


def _finish(delivery_id: int, token: str, *, relaxed: bool = False, **values) -> None:
    if relaxed and db.session.get_bind().dialect.name == "postgresql":
        # No wait for the WAL flush of a "sent" mark: a killed worker loses nothing (the server has the
        # commit); only a crash of PostgreSQL itself could forget the last fraction of a second of marks,
        # and those mails would be sent again — never lost. This is what makes ≥ 150 mails/s possible.
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    db.session.execute(
        update(_delivery).where(_delivery.c.id == delivery_id, _delivery.c.claimed_by == token)
        .values(claimed_until=None, claimed_by=None, **values)
    )
    db.session.commit()


def _release(ids: list[int], token: str, retry_at) -> None:
    if ids:
        db.session.execute(
            update(_delivery).where(_delivery.c.id.in_(ids), _delivery.c.claimed_by == token)
            .values(claimed_until=None, claimed_by=None, next_attempt_at=retry_at)
        )
    db.session.commit()


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500 and not isinstance(exc, smtplib.SMTPServerDisconnected)


def _message(notification: Notification, delivery_id: int, address: str):
    return mail.build_message(
        address, notification.subject, notification.body,
        message_id=f"<outage-{notification.id}-{delivery_id}@mypage.example.jp>",
    )


@with_app_context
def send_outage_batch(notification_id: int, first_id: int, last_id: int) -> dict:
    """Send the pending mails of one id range of an outage notification over one SMTP connection.

    Safe to run twice or side by side: rows are leased to one job at a time and each is marked sent in
    its own commit, so a second run finds nothing of what the first sent; a killed run's leased rows are
    taken again after OUTAGE_LEASE_SECONDS.
    """
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return {"sent": 0, "failed": 0}
    token = f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"[:40]
    margin = min(_lease() / 5, timedelta(seconds=30))
    sent = failed = 0
    db.session.commit()
    try:
        with mail.transport() as transport:
            while True:
                claimed = _claim(notification_id, first_id, last_id, token)
                if not claimed:
                    break
                deadline = clock.now() + _lease() - margin
                for index, (delivery_id, address, attempts) in enumerate(claimed):
                    if clock.now() >= deadline:  # our lease is running out: leave the rest to another run
                        _release([d for d, _, _ in claimed[index:]], token, None)
                        break
                    try:
                        transport.send(_message(notification, delivery_id, address))
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                        attempts += 1
                        error = f"{type(exc).__name__}: {exc}"[:1000]
                        if _is_permanent(exc) or attempts >= MAX_ATTEMPTS:
                            _finish(delivery_id, token, status=DeliveryStatus.FAILED.value, attempts=attempts,
                                    last_error=error, next_attempt_at=None)
                            failed += 1
                        else:
                            _finish(delivery_id, token, attempts=attempts, last_error=error,
                                    next_attempt_at=clock.now() + backoff(attempts))
                        continue
                    except (smtplib.SMTPException, OSError) as exc:
                        # The connection is gone: this row counts an attempt, the rest wait for a retry.
                        attempts += 1
                        _finish(delivery_id, token, attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:1000],
                                next_attempt_at=clock.now() + backoff(attempts),
                                **({"status": DeliveryStatus.FAILED.value} if attempts >= MAX_ATTEMPTS else {}))
                        _release([d for d, _, _ in claimed[index + 1:]], token, clock.now() + backoff(1))
                        raise
                    _finish(delivery_id, token, relaxed=True, status=DeliveryStatus.SENT.value, sent_at=clock.now(),
                            attempts=attempts + 1, last_error=None, next_attempt_at=None)
                    sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        db.session.rollback()
        log.warning("outage batch %s [%s-%s] stopped: %s", notification_id, first_id, last_id, exc)
        _schedule_sweep(backoff(1))
    log.info("outage batch %s [%s-%s]: %s sent, %s failed", notification_id, first_id, last_id, sent, failed)
    return {"sent": sent, "failed": failed}


def batch_ranges(notification_id: int, size: int | None = None, *, stale_only: bool = False) -> list[tuple[int, int]]:
    """Id ranges of at most `size` pending rows each, computed in the database.

    stale_only: only rows another job should have sent by now (lease run out, retry due, or never
    claimed long after publishing), for the sweeper.
    """
    size = size or current_app.config.get("OUTAGE_BATCH_SIZE", 500)
    now = clock.now()
    where = [_delivery.c.notification_id == notification_id, _claimable(now)]
    if stale_only:
        created = db.session.scalar(select(Notification.created_at).where(Notification.id == notification_id))
        never_claimed_too_long = (created is not None and created < now - 2 * _lease())
        terms = [_delivery.c.claimed_by.isnot(None), _delivery.c.attempts > 0]
        if not never_claimed_too_long:
            where.append(or_(*terms))
    numbered = select(
        _delivery.c.id, func.row_number().over(order_by=_delivery.c.id).label("rn")
    ).where(*where).subquery()
    starts = list(db.session.scalars(
        select(numbered.c.id).where((numbered.c.rn - 1) % size == 0).order_by(numbered.c.id)
    ))
    if not starts:
        return []
    last = db.session.scalar(select(func.max(numbered.c.id)))
    ends = [s - 1 for s in starts[1:]] + [last]
    return list(zip(starts, ends, strict=True))


def enqueue_outage_batches(notification_id: int, ranges: list[tuple[int, int]] | None = None) -> int:
    """Enqueue one job per range (all in one pipeline) after the caller committed; returns the job count.

    Without Redis the batches run inline, one after another. Raises JobsUnavailable when Redis is set
    but down: the rows stay pending and the sweeper or a coordinator's 再送信 sends them later.
    """
    if ranges is None:
        ranges = batch_ranges(notification_id)
    queue = get_queue()
    if queue is None:
        for first, last in ranges:
            send_outage_batch(notification_id, first, last)
        return len(ranges)
    try:
        stamp = uuid.uuid4().hex[:6]
        queue.enqueue_many([
            queue.prepare_data(
                send_outage_batch, args=(notification_id, first, last), job_id=f"outage-{notification_id}-{first}-{stamp}",
                timeout=JOB_TIMEOUT, result_ttl=86400, failure_ttl=7 * 86400,
            )
            for first, last in ranges
        ])
    except Exception as exc:  # redis.exceptions.ConnectionError and friends
        raise JobsUnavailable("ジョブ実行基盤（Redis）に接続できません。メールは記録済みで、復旧後に送信します。") from exc
    _schedule_sweep(_lease() + timedelta(seconds=10))
    return len(ranges)


def _schedule_sweep(delay: timedelta) -> None:
    queue = get_queue()
    if queue is None:
        return
    try:
        queue.enqueue_in(delay, resume_outage_deliveries, job_id=SWEEP_JOB_ID, result_ttl=3600, failure_ttl=86400)
    except Exception:  # noqa: BLE001 - the next publish or a coordinator's 再送信 schedules it again
        log.exception("could not schedule the outage sweeper")


@with_app_context
def resume_outage_deliveries(notification_id: int | None = None) -> int:
    """Enqueue jobs for outage mails nobody is sending: leases run out (a killed job), retries due, or
    rows never claimed long after publishing (a lost job). Reschedules itself while rows are pending.

    Safe to run twice: the jobs it enqueues claim rows, so an extra job finds nothing to send.
    """
    query = select(Notification.id).where(Notification.kind == NotificationKind.OUTAGE)
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    pending_ids = [
        nid for nid in db.session.scalars(query.order_by(Notification.id))
        if db.session.scalar(select(_delivery.c.id).where(
            _delivery.c.notification_id == nid, _delivery.c.status == DeliveryStatus.PENDING.value).limit(1))
    ]
    jobs = 0
    for nid in pending_ids:
        ranges = batch_ranges(nid, stale_only=notification_id is None)
        if ranges:
            jobs += enqueue_outage_batches(nid, ranges)
    db.session.commit()
    if pending_ids:
        _schedule_sweep(min(_lease(), timedelta(seconds=60)))
    return jobs
