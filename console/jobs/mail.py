"""Jobs that send the mails recorded as Notification + Delivery rows."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from .. import clock, mail
from ..extensions import db
from ..models import Delivery, DeliveryStatus, Notification
from .queue import with_app_context

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@with_app_context
def send_notification(notification_id: int) -> int:
    """Send every pending delivery of one notification over one connection.

    Safe to run twice: each delivery row is claimed under a row lock (SKIP LOCKED on PostgreSQL)
    and marked sent in its own commit, so a second run finds nothing pending. A worker killed
    between the SMTP hand-over and that commit may send one mail again; never one less.
    """
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return 0
    sent = 0
    with mail.transport() as transport:
        while True:
            delivery = db.session.scalar(
                select(Delivery)
                .where(Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.PENDING)
                .order_by(Delivery.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if delivery is None:
                break
            delivery.attempts += 1
            message = mail.build_message(
                delivery.address,
                notification.subject,
                notification.body,
                message_id=f"<notification-{notification.id}-delivery-{delivery.id}@mypage.example.jp>",
            )
            try:
                transport.send(message)
            except Exception as exc:  # noqa: BLE001 - recorded on the row, retried later
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = DeliveryStatus.FAILED
                db.session.commit()
                log.warning("delivery %s failed (attempt %s)", delivery.id, delivery.attempts)
                if delivery.status != DeliveryStatus.FAILED:
                    break
                continue
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = clock.now()
            db.session.commit()
            sent += 1
    return sent


SWEEP_JOB_ID = "mail-sweeper"
SWEEP_EVERY = timedelta(seconds=60)
# A mail recorded moments ago is normally on its way already; leave it to that job.
GRACE = timedelta(seconds=30)


@with_app_context
def resume_pending_mails() -> int:
    """Enqueue a sending job for every notification (other than outage mails, which have their own
    sweeper) that still has pending deliveries: recorded while Redis was down, a job lost with a killed
    worker, or a send that failed and waits for another attempt. Reschedules itself while any remain.

    Safe to run twice: send_notification claims each delivery row, so an extra job sends nothing.
    """
    from flask import current_app

    from ..models import NotificationKind
    from .queue import get_queue

    cutoff = clock.now() - timedelta(seconds=current_app.config.get("MAIL_SWEEP_GRACE_SECONDS", GRACE.total_seconds()))
    ids = db.session.scalars(
        select(Notification.id)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(
            Notification.kind != NotificationKind.OUTAGE,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts < MAX_ATTEMPTS,
            Notification.created_at < cutoff,
        )
        .group_by(Notification.id)
        .order_by(Notification.id)
    ).all()
    queue = get_queue()
    if queue is None:
        for notification_id in ids:
            send_notification(notification_id)
        return len(ids)
    for notification_id in ids:
        queue.enqueue(send_notification, notification_id, job_id=f"notification-{notification_id}-resume",
                      result_ttl=3600, failure_ttl=86400)
    if ids:
        queue.enqueue_in(SWEEP_EVERY, resume_pending_mails, job_id=SWEEP_JOB_ID, result_ttl=3600, failure_ttl=86400)
        log.info("re-enqueued %s notifications with pending deliveries", len(ids))
    return len(ids)
