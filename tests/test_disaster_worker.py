"""Outage mails with real rq worker processes: a worker SIGKILLed mid-batch, then the batch run again,
delivers every recipient exactly once at a real SMTP server (issue 7, acceptance).

Worker processes cannot see a test's rolled-back transaction, so this test gets a database of its own,
migrated, filled, committed and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from console import create_app
from console.extensions import db
from console.models import Delivery, DeliveryStatus
from tests import factories
from tests.conftest import _free_port

pytestmark = pytest.mark.postgresql

RECIPIENTS = 30
BATCH = 10
STOP_AT = 12  # the SMTP server holds the 13th mail at RCPT while the worker is killed
LEASE = 3


class HoldingSink:
    """Accepts mail; holds the connection at RCPT of mail number STOP_AT + 1 until released."""

    def __init__(self, hold_after: int | None):
        self.hold_after = hold_after
        self.recipients: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.hold_after is not None and len(self.recipients) >= self.hold_after and not self.release.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.2 shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture()
def own_database(redis_url, tmp_path):
    """A fresh, migrated PostgreSQL database and an app bound to it (real Redis, short leases)."""
    maintenance = make_url(os.environ["CONSOLE_TEST_DATABASE_URL"])
    name = f"console_worker_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = maintenance.set(database=name).render_as_string(hide_password=False)
    queue_name = f"disaster-test-{uuid.uuid4().hex[:6]}"
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
        "RQ_QUEUE": queue_name, "MAIL_BATCH_SIZE": BATCH, "MAIL_LEASE_SECONDS": LEASE,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    })
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    try:
        yield app, url, queue_name
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def _worker(url, redis_url, queue_name, smtp_port, tmp_path, burst: bool) -> subprocess.Popen:
    env = dict(os.environ, CONSOLE_DATABASE_URL=url, CONSOLE_REDIS_URL=redis_url, CONSOLE_RQ_QUEUE=queue_name,
               CONSOLE_MAIL_SERVER="127.0.0.1", CONSOLE_MAIL_PORT=str(smtp_port),
               CONSOLE_MAIL_LEASE_SECONDS=str(LEASE), CONSOLE_MAIL_BATCH_SIZE=str(BATCH),
               CONSOLE_INSTANCE_PATH=str(tmp_path / "worker-instance"), CONSOLE_SECRET_KEY="test")
    # Through tests/travel.py: a run with --clock moves the worker's clock with the test's.
    command = [sys.executable, "-m", "tests.travel", "rq", "worker", "--url", redis_url, "--worker-ttl", "30", queue_name]
    if burst:
        command.insert(5, "--burst")
    return subprocess.Popen(command, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_worker_and_horse(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and the work horse it forked (rq puts the horse in a session of its own)."""
    horses = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == worker.pid:
                horses.append(int(entry))
    assert horses, "the worker had no work horse running"
    for pid in horses + [worker.pid]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(10)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def smtp_controller(handler):
    """An SMTP server on a free loopback port, started."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    return controller


def publish_outage_to_recipients(ward_code: str, *, second_contract_every: int = 0) -> tuple[int, list[str]]:
    """RECIPIENTS accounts with a contract in the ward and a published notice for it: (notification id, addresses)."""
    from console.services import outage_notices

    staff = factories.staff("disaster_coordinator")
    emails = []
    for n in range(RECIPIENTS):
        account = factories.account()
        factories.link(account, factories.contract(ward_code=ward_code), main=True)
        # Some accounts hold several contracts in the area: still one mail each.
        if second_contract_every and n % second_contract_every == 0:
            factories.link(account, factories.contract(ward_code=ward_code))
        emails.append(account.email)
    draft = outage_notices.create_draft(staff, outage_notices.NoticeInput(
        title="断水", body="本文", starts_at="2026-11-25T06:00", wards=(ward_code,)))
    _, notification_id = outage_notices.publish_draft(staff, draft.notice_id)
    return notification_id, emails


def test_worker_killed_mid_batch_then_rerun_sends_every_mail_exactly_once(own_database, redis_url, tmp_path):
    from console.jobs import mail as jobs

    app, url, queue_name = own_database
    sink = HoldingSink(hold_after=STOP_AT)
    controller = smtp_controller(sink)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        with app.app_context():
            notification_id, emails = publish_outage_to_recipients("27127", second_contract_every=7)
            db.session.commit()
            assert jobs.enqueue_mail(notification_id) == RECIPIENTS // BATCH

        worker = _worker(url, redis_url, queue_name, controller.port, tmp_path, burst=False)
        try:
            _wait(sink.holding.is_set, 60, "the worker to reach the held mail")
        finally:
            _kill_worker_and_horse(worker)
        sink.release.set()
        assert len(sink.recipients) == STOP_AT

        with app.app_context():
            counts = dict(db.session.execute(
                select(Delivery.status, func.count()).where(Delivery.notification_id == notification_id)
                .group_by(Delivery.status)).all())
            assert counts == {DeliveryStatus.SENT: STOP_AT, DeliveryStatus.PENDING: RECIPIENTS - STOP_AT}
            held = db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.notification_id == notification_id, Delivery.claimed_by.isnot(None)))
            assert held > 0  # the killed job's lease is still on its rows
            db.session.commit()

            # Once the killed job's lease has run out, running the batches again picks its rows up.
            time.sleep(LEASE + 0.5)
            assert jobs.sweep_mails() >= 1

        rerun = _worker(url, redis_url, queue_name, controller.port, tmp_path, burst=True)
        stderr, _ = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, stderr.decode()[-2000:]
    finally:
        sink.release.set()
        controller.stop()

    received = Counter(sink.recipients)
    assert set(received) == set(emails)
    assert set(received.values()) == {1}, [e for e, c in received.items() if c > 1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.SENT)) == RECIPIENTS


def test_two_workers_on_the_same_batches_send_each_mail_once(own_database, redis_url, tmp_path):
    from console.jobs import mail as jobs

    app, url, queue_name = own_database
    sink = HoldingSink(hold_after=None)
    controller = smtp_controller(sink)
    try:
        with app.app_context():
            notification_id, _emails = publish_outage_to_recipients("27102")
            db.session.commit()
            jobs.enqueue_mail(notification_id)
            jobs.enqueue_mail(notification_id)  # every batch twice
        workers = [_worker(url, redis_url, queue_name, controller.port, tmp_path, burst=True) for _ in range(2)]
        for worker in workers:
            _, stderr = worker.communicate(timeout=120)
            assert worker.returncode == 0, stderr.decode()[-2000:]
    finally:
        controller.stop()
    received = Counter(sink.recipients)
    assert len(received) == RECIPIENTS and set(received.values()) == {1}
