"""Jobs plumbing: inline without Redis, rq with a real Redis, mail to the outbox or a real SMTP server."""

from __future__ import annotations

from sqlalchemy import select

from console.extensions import db
from console.jobs.mail import send_mail_batch
from console.jobs.queue import JobsUnavailable, enqueue
from console.models import Delivery, DeliveryStatus, Notification, NotificationKind
from tests.conftest import outbox_files, run_jobs


def _notification(*addresses: str) -> Notification:
    notification = Notification(
        kind=NotificationKind.PASSWORD_RESET,
        dedupe_key=f"test:{'/'.join(addresses)}",
        subject="【大阪市水道局】パスワード再設定のご案内",
        body="マイページのパスワード再設定をご案内します。",
    )
    notification.deliveries = [Delivery(address=a) for a in addresses]
    db.session.add(notification)
    db.session.commit()
    return notification


def test_without_redis_the_job_runs_inline_to_the_outbox(app, database):
    notification = _notification("hanako@example.jp")
    before = set(outbox_files(app))
    assert enqueue(send_mail_batch, notification.id, 1, 10**12) == "done"
    (new_file,) = set(outbox_files(app)) - before  # names are random: compare sets, not the last one
    assert "パスワード再設定".encode("utf-8") in _decoded(new_file)
    delivery = db.session.scalar(select(Delivery).where(Delivery.notification_id == notification.id))
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None


def _decoded(path) -> bytes:
    from email import message_from_bytes, policy

    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    return (message["Subject"] + message.get_content()).encode("utf-8")


def test_with_redis_the_job_is_queued_and_a_worker_sends_over_smtp(app, database, rq_queue, smtp_server):
    notification = _notification("a@example.jp", "b@example.jp")
    assert enqueue(send_mail_batch, notification.id, 1, 10**12, job_id=f"notification-{notification.id}") == "queued"
    assert smtp_server.messages == []
    assert rq_queue.count == 1
    run_jobs(rq_queue)
    assert sorted(m["To"] for m in smtp_server.messages) == ["a@example.jp", "b@example.jp"]
    assert smtp_server.messages[0]["Subject"] == "【大阪市水道局】パスワード再設定のご案内"


def test_running_the_job_twice_sends_nothing_twice(app, database, smtp_server):
    notification = _notification("c@example.jp")
    assert send_mail_batch(notification.id, 1, 10**12)["sent"] == 1
    assert send_mail_batch(notification.id, 1, 10**12)["sent"] == 0
    assert len(smtp_server.messages) == 1


def test_unreachable_redis_is_reported_in_japanese(app, database):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        try:
            enqueue(send_mail_batch, 1, 1, 1)
        except JobsUnavailable as exc:
            assert "Redis" in str(exc) and "接続できません" in str(exc)
        else:
            raise AssertionError("enqueue to an unreachable Redis must fail")
    finally:
        app.config["REDIS_URL"] = None
