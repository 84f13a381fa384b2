"""The one mail sender: every recorded mail (a password reset, a decision, an outage to thousands) is
sent by send_mail_batch, a batch of Delivery rows per job, over one SMTP connection per batch.

Claims. A job leases rows of its id range chunk by chunk (claimed_until, claimed_by), taken under SKIP
LOCKED on PostgreSQL and re-checked in the UPDATE, so two jobs never hold the same row; each mail is
marked sent in its own commit right after the SMTP server accepted it. SMTP 5xx (a refused recipient,
sender or message) fails the row at once; 4xx and lost connections count an attempt and wait
(next_attempt_at, doubling from 30 s) until MAIL_MAX_ATTEMPTS. The Message-ID is fixed per delivery,
so the one mail a kill between "accepted" and "marked sent" (about a millisecond) repeats is
recognisable as a duplicate.

Sweeping. What nobody is sending: rows whose lease ran out (a killed job), retries that are due, rows
recorded longer than MAIL_SWEEP_GRACE_SECONDS ago that no queued job covers (recorded while Redis was
down, a job lost with its worker). sweep_mails() finds them in the database and enqueues jobs for them.
It runs in a loop (run_sweeper) on a thread of every `flask worker` process, every MAIL_SWEEP_SECONDS,
rather than as a job chain in rq's scheduler, because both faults of issue 13 came from the chain:
  - rq's scheduler lock of a SIGKILLed worker stays live for its TTL, so a new worker's scheduler does
    not move scheduled jobs (the next sweep) for minutes;
  - a self-rescheduling job whose enqueue fails while Redis is down ends the chain for good.
The loop lives exactly as long as its worker (a dead worker takes its loop along, a new one brings its
own), keeps its state in the database, and treats an unreachable Redis as "try again next round". Two
workers sweeping at once only enqueue jobs that find nothing to claim.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import uuid
from contextlib import suppress
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import and_, exists, func, not_, or_, select, text, update

from .. import clock, mail, transaction
from ..extensions import db
from ..models import Delivery, DeliveryStatus, Notification
from .queue import JobsUnavailable, get_queue, with_app_context

__all__ = ["JobsUnavailable", "enqueue_mail", "run_sweeper", "send_mail_batch", "sweep_mails"]

log = logging.getLogger(__name__)

CLAIM_CHUNK = 50
JOB_TIMEOUT = 1800
JOB_PREFIX = "mail"
_delivery = Delivery.__table__


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts`: 30 s, 1 min, 2 min, 4 min … at most 30 min."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])


def _max_attempts() -> int:
    return current_app.config["MAIL_MAX_ATTEMPTS"]


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
        transaction.commit()
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
    transaction.commit()
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
    transaction.commit()


def _release(ids: list[int], token: str, retry_at) -> None:
    if ids:
        db.session.execute(
            update(_delivery).where(_delivery.c.id.in_(ids), _delivery.c.claimed_by == token)
            .values(claimed_until=None, claimed_by=None, next_attempt_at=retry_at)
        )
    transaction.commit()


def is_permanent(exc: Exception) -> bool:
    """An SMTP 5xx answer: sending the same mail again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def message_id(notification_id: int, delivery_id: int) -> str:
    """The Message-ID of one delivery: the same on every attempt, so a repeat is recognisable."""
    return f"<notification-{notification_id}-delivery-{delivery_id}@mypage.example.jp>"


@with_app_context
def send_mail_batch(notification_id: int, first_id: int, last_id: int) -> dict:
    """Send the due mails of one id range of a notification over one SMTP connection.

    Safe to run twice or side by side: rows are leased to one job at a time and each is marked sent in
    its own commit, so a second run finds nothing of what the first sent; a killed run's leased rows are
    taken again after MAIL_LEASE_SECONDS.
    """
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return {"sent": 0, "failed": 0}
    subject, body = notification.subject, notification.body
    token = f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"[:40]
    margin = min(_lease() / 5, timedelta(seconds=30))
    sent = failed = 0
    transaction.commit()
    try:
        with mail.transport() as transport:
            while claimed := _claim(notification_id, first_id, last_id, token):
                deadline = clock.now() + _lease() - margin
                for index, (delivery_id, address, attempts) in enumerate(claimed):
                    if clock.now() >= deadline:  # our lease is running out: leave the rest to another run
                        _release([d for d, _, _ in claimed[index:]], token, None)
                        break
                    attempts += 1
                    try:
                        transport.send(mail.build_message(address, subject, body,
                                                          message_id=message_id(notification_id, delivery_id)))
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                        # This message was refused; the connection is still good for the next one.
                        failed += _failed(delivery_id, token, attempts, exc)
                        continue
                    except (smtplib.SMTPException, OSError) as exc:
                        # The connection is gone: this row counts an attempt, the rest wait for a retry.
                        failed += _failed(delivery_id, token, attempts, exc)
                        _release([d for d, _, _ in claimed[index + 1:]], token, clock.now() + backoff(1))
                        raise
                    _finish(delivery_id, token, relaxed=True, status=DeliveryStatus.SENT.value, sent_at=clock.now(),
                            attempts=attempts, last_error=None, next_attempt_at=None)
                    sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        # The sweeper sends what is left once the retry is due.
        transaction.rollback()
        log.warning("mail batch %s [%s-%s] stopped: %s", notification_id, first_id, last_id, exc)
    # The rows changed under the ORM (Core UPDATEs, and the session does not expire on commit): an
    # inline run must not leave the caller's loaded rows saying "pending".
    db.session.expire_all()
    log.info("mail batch %s [%s-%s]: %s sent, %s failed", notification_id, first_id, last_id, sent, failed)
    return {"sent": sent, "failed": failed}


def _failed(delivery_id: int, token: str, attempts: int, exc: Exception) -> int:
    """Record a failed attempt: FAILED for a 5xx or the last attempt, else retried after backoff; 1 if FAILED."""
    error = f"{type(exc).__name__}: {exc}"[:1000]
    if is_permanent(exc) or attempts >= _max_attempts():
        _finish(delivery_id, token, status=DeliveryStatus.FAILED.value, attempts=attempts, last_error=error,
                next_attempt_at=None)
        return 1
    _finish(delivery_id, token, attempts=attempts, last_error=error, next_attempt_at=clock.now() + backoff(attempts))
    return 0


def batch_ranges(notification_id: int, size: int | None = None, *, stale_only: bool = False,
                 exclude: list[tuple[int, int]] | tuple = ()) -> list[tuple[int, int]]:
    """Id ranges of at most `size` claimable rows each, computed in the database.

    stale_only: only rows another job should have sent by now (lease run out, retry due, or recorded
    more than MAIL_SWEEP_GRACE_SECONDS ago), for the sweeper. exclude: id ranges of jobs already queued,
    whose rows are left to them.
    """
    size = size or current_app.config["MAIL_BATCH_SIZE"]
    now = clock.now()
    where = [_delivery.c.notification_id == notification_id, _claimable(now)]
    if stale_only:
        created = db.session.scalar(select(Notification.created_at).where(Notification.id == notification_id))
        grace = timedelta(seconds=current_app.config["MAIL_SWEEP_GRACE_SECONDS"])
        if created is None or created > now - grace:
            where.append(or_(_delivery.c.claimed_by.isnot(None), _delivery.c.attempts > 0))
    if exclude:
        where.append(not_(or_(*(_delivery.c.id.between(first, last) for first, last in exclude))))
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


def enqueue_mail(notification_id: int, ranges: list[tuple[int, int]] | None = None) -> int:
    """Enqueue one sending job per range (all in one pipeline) after the caller committed; returns the job count.

    Without Redis the batches run inline, one after another. Raises JobsUnavailable when Redis is set
    but down: the rows stay pending and the sweeper sends them once it is back.
    """
    if ranges is None:
        ranges = batch_ranges(notification_id)
    queue = get_queue()
    if queue is None:
        for first, last in ranges:
            send_mail_batch(notification_id, first, last)
        return len(ranges)
    try:
        stamp = uuid.uuid4().hex[:6]
        queue.enqueue_many([
            queue.prepare_data(
                send_mail_batch, args=(notification_id, first, last),
                job_id=f"{JOB_PREFIX}-{notification_id}-{first}-{last}-{stamp}",
                timeout=JOB_TIMEOUT, result_ttl=86400, failure_ttl=7 * 86400,
            )
            for first, last in ranges
        ])
    except Exception as exc:  # redis.exceptions.ConnectionError and friends
        raise JobsUnavailable("ジョブ実行基盤（Redis）に接続できません。メールは記録済みで、復旧後に送信します。") from exc
    return len(ranges)


def _queued_ranges(queue) -> dict[int, list[tuple[int, int]]]:
    """The ranges of sending jobs waiting in the queue, by notification (parsed from their ids)."""
    out: dict[int, list[tuple[int, int]]] = {}
    for job_id in queue.get_job_ids():
        parts = job_id.split("-")
        if len(parts) == 5 and parts[0] == JOB_PREFIX and all(p.isdigit() for p in parts[1:4]):
            out.setdefault(int(parts[1]), []).append((int(parts[2]), int(parts[3])))
    return out


@with_app_context
def sweep_mails() -> int:
    """Enqueue jobs for the mails nobody is sending (see the module docstring); returns the job count.

    Safe to run twice or on several workers at once: the jobs it enqueues claim rows, so an extra job
    finds nothing to send; a range a queued job already covers is left to that job.
    """
    now = clock.now()
    pending = select(_delivery.c.id).where(_delivery.c.notification_id == Notification.id, _claimable(now))
    notification_ids = list(db.session.scalars(
        select(Notification.id).where(exists(pending)).order_by(Notification.id)))
    queue = get_queue()
    queued = _queued_ranges(queue) if queue is not None and notification_ids else {}
    jobs = 0
    for notification_id in notification_ids:
        # Rows a queued job covers are left to it; every other stale row gets a job (a range that only
        # started outside the queued ones could reach into rows nobody would send).
        ranges = batch_ranges(notification_id, stale_only=True, exclude=queued.get(notification_id, []))
        if ranges:
            jobs += enqueue_mail(notification_id, ranges)
    transaction.commit()
    if jobs:
        log.info("mail sweep: %s jobs for %s notifications", jobs, len(notification_ids))
    return jobs


def run_sweeper(app: Flask, stop: threading.Event) -> None:
    """Sweep now and then every MAIL_SWEEP_SECONDS until stop is set; a failed round (Redis or the
    database unreachable) is logged and the next round tries again."""
    every = float(app.config["MAIL_SWEEP_SECONDS"])
    while True:
        with app.app_context():
            try:
                sweep_mails()
            except Exception:
                log.warning("mail sweep failed; trying again in %s s", every, exc_info=True)
            finally:
                with suppress(Exception):  # a dead connection is the pool's to replace
                    db.session.remove()
        if stop.wait(every):
            return


def start_sweeper(app: Flask) -> threading.Event:
    """Run run_sweeper on a daemon thread (it ends with the process); set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_sweeper, args=(app, stop), name="mail-sweeper", daemon=True).start()
    return stop
