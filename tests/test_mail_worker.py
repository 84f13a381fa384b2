"""Mail faults with real `flask worker` processes and a real SMTP server (issue 13): a worker SIGKILLed
mid-mailing and a new one started; Redis gone while a mail is recorded and back under the same worker.
Either way every mail goes out, once, within minutes, with nobody running anything by hand.

The workers cannot see a test's rolled-back transaction: these tests use the database of their own
that tests/test_disaster_worker.py's own_database fixture creates.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from console import transaction
from console.extensions import db
from console.models import Delivery, DeliveryStatus
from tests import factories
from tests.conftest import SmtpSink
from tests.test_disaster_worker import (  # noqa: F401 - own_database is a fixture
    BATCH,
    LEASE,
    RECIPIENTS,
    STOP_AT,
    HoldingSink,
    _kill_worker_and_horse,
    _wait,
    own_database,
    publish_outage_to_recipients,
    smtp_controller,
)
from tests.test_faults import PrivateRedis

pytestmark = pytest.mark.postgresql

SWEEP = 1  # seconds between a worker's sweeps
GRACE = 2  # seconds a recorded mail waits for its own job before the sweeper sends it


def _flask_worker(url, redis_url, queue_name, smtp_port, tmp_path) -> subprocess.Popen:
    """`flask --app console worker` (rq worker + this worker's mail sweeper), on the test run's clock."""
    env = dict(os.environ, CONSOLE_DATABASE_URL=url, CONSOLE_REDIS_URL=redis_url, CONSOLE_RQ_QUEUE=queue_name,
               CONSOLE_MAIL_SERVER="127.0.0.1", CONSOLE_MAIL_PORT=str(smtp_port),
               CONSOLE_MAIL_LEASE_SECONDS=str(LEASE), CONSOLE_MAIL_BATCH_SIZE=str(BATCH),
               CONSOLE_MAIL_SWEEP_SECONDS=str(SWEEP), CONSOLE_MAIL_SWEEP_GRACE_SECONDS=str(GRACE),
               CONSOLE_INSTANCE_PATH=str(tmp_path / "worker-instance"), CONSOLE_SECRET_KEY="test")
    return subprocess.Popen([sys.executable, "-m", "tests.travel", "flask", "--app", "console", "worker"],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen) -> str:
    """Kill the worker and what it started (its session: scheduler, work horse); return its last output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    out, _ = worker.communicate(timeout=30)
    return out.decode(errors="replace")[-12000:]


def test_worker_killed_mid_mailing_a_new_worker_sends_the_rest_once_within_lease_and_a_minute(
        own_database, redis_url, tmp_path):
    app, url, queue_name = own_database
    sink = HoldingSink(hold_after=STOP_AT)
    controller = smtp_controller(sink)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    workers = []
    try:
        with app.app_context():
            notification_id, emails = publish_outage_to_recipients("27127")
            assert transaction.commit() == []  # the after-commit hook enqueued the batches

        workers.append(_flask_worker(url, redis_url, queue_name, controller.port, tmp_path))
        try:
            _wait(sink.holding.is_set, 60, "the worker to reach the held mail")
        finally:
            _kill_worker_and_horse(workers[0])
        sink.release.set()
        assert len(sink.recipients) == STOP_AT

        started = time.monotonic()
        workers.append(_flask_worker(url, redis_url, queue_name, controller.port, tmp_path))
        _wait(lambda: len(sink.recipients) >= RECIPIENTS, LEASE + 60, "every remaining mail")
        took = time.monotonic() - started
        time.sleep(2 * SWEEP + 1)  # a few more sweeps: nothing more may go out
    finally:
        sink.release.set()
        logs = [_stop(w) for w in workers]
        controller.stop()

    received = Counter(sink.recipients)
    assert set(received) == set(emails), logs[-1]
    assert set(received.values()) == {1}, [e for e, c in received.items() if c > 1]
    assert took < LEASE + 60
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.SENT)) == RECIPIENTS


def test_mail_recorded_while_redis_is_down_goes_out_under_the_same_worker_once_redis_is_back(
        own_database, tmp_path):
    from redis import Redis
    from rq import Worker

    from console.services.accounts import request_password_reset
    from console.services.customer import confirm_identity

    app, url, queue_name = own_database
    redis = PrivateRedis()
    redis.start()
    sink = SmtpSink()
    controller = smtp_controller(sink)
    app.config.update(REDIS_URL=redis.url, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    worker = None
    try:
        worker = _flask_worker(url, redis.url, queue_name, controller.port, tmp_path)
        probe = Redis.from_url(redis.url)
        _wait(lambda: len(Worker.all(connection=probe)) == 1, 60, "the worker to register")
        probe.close()

        redis.stop()
        with app.app_context():
            account = factories.account(email="while-down@example.jp")
            staff = factories.staff("operator")
            transaction.commit()
            confirm_identity(staff, account, "registered_phone")
            request_password_reset(staff, account, "本人から電話")
            warnings = transaction.commit()
            assert any("復旧後に送信します" in w for w in warnings), warnings
        time.sleep(2 * SWEEP + GRACE)  # the worker's sweeps fail meanwhile; it must not give up
        assert sink.messages == [] and worker.poll() is None, _stop(worker)

        redis.start()  # the same port, an empty Redis: only the database knows the mail waits
        back = time.monotonic()
        _wait(lambda: len(sink.messages) >= 1, 120, "the password-reset mail")
        took = time.monotonic() - back
        time.sleep(2 * SWEEP + 1)
        assert worker.poll() is None, "the worker must survive the outage"
    finally:
        log = _stop(worker) if worker is not None else ""
        controller.stop()
        redis.stop()

    assert [m["To"] for m in sink.messages] == ["while-down@example.jp"], log
    assert "パスワード再設定" in sink.messages[0]["Subject"]
    assert took < 120
    with app.app_context():
        assert db.session.scalar(select(Delivery.status).where(
            Delivery.address == "while-down@example.jp")) == DeliveryStatus.SENT
