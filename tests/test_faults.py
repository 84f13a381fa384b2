"""Faults (issue 9): Redis gone and back, database connections dropped under the console."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import select, text

from console import clock
from console.extensions import db
from console.models import Delivery, DeliveryStatus
from tests import factories
from tests.conftest import _free_port, csrf_token, password_reset_by_phone, run_jobs


class PrivateRedis:
    """A redis-server of this test's own on a free port, so stopping it disturbs nobody else."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (Debian: apt-get install redis-server)")
        self.binary, self.port, self.process = binary, _free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture()
def private_redis(app):
    redis = PrivateRedis()
    previous = app.config["REDIS_URL"], app.config.get("MAIL_SWEEP_GRACE_SECONDS")
    app.config.update(REDIS_URL=redis.url, MAIL_SWEEP_GRACE_SECONDS=0)
    try:
        yield redis
    finally:
        redis.stop()
        app.config["REDIS_URL"], app.config["MAIL_SWEEP_GRACE_SECONDS"] = previous


def test_redis_down_the_desk_keeps_working_and_mails_go_when_it_is_back(client, login_as, private_redis, smtp_server, app):
    contract = factories.contract()
    account = factories.account(email="waiting@example.jp", locked_at=clock.now(), failed_login_count=5)
    factories.link(account, contract, main=True)
    db.session.commit()
    login_as("operator")
    # Redis is not running: lookups and the customer view do not need it.
    assert client.get("/lookup/", query_string={"q": contract.customer_number}).status_code == 200
    page = f"/customer/account/{account.id}"
    assert client.get(page).status_code == 200
    # An action that needs a job says so, and records the mail.
    response = password_reset_by_phone(client, page, "本人から電話")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "ジョブ実行基盤（Redis）に接続できません" in body and "復旧後に送信します" in body
    delivery = db.session.scalar(select(Delivery).where(Delivery.address == "waiting@example.jp"))
    assert delivery.status == DeliveryStatus.PENDING and smtp_server.messages == []
    # Unlocking does not need Redis at all.
    client.post(f"{page}/unlock", data={"reason": "本人から電話", "csrf_token": csrf_token(client, page)})
    db.session.refresh(account)
    assert account.locked_at is None

    # Redis is back; a worker's sweep finds what waited, and the mail goes exactly once.
    private_redis.start()
    from console.jobs.mail import sweep_mails
    from console.jobs.queue import get_queue

    queue = get_queue()
    assert sweep_mails() == 1
    run_jobs(queue)
    assert sweep_mails() == 0  # a second worker's sweep: nothing is sent twice
    run_jobs(queue)
    assert [m["To"] for m in smtp_server.messages] == ["waiting@example.jp"]
    assert smtp_server.messages[0]["Date"].endswith("+0900")  # Japan time whatever the host's TZ
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SENT


def test_redis_stopping_under_a_running_console(client, login_as, private_redis, smtp_server):
    """Redis up, then gone mid-shift: the next job-backed action reports it instead of failing."""
    private_redis.start()
    account = factories.account(email="midshift@example.jp")
    db.session.commit()
    login_as("operator")
    page = f"/customer/account/{account.id}"
    first = password_reset_by_phone(client, page, "一回目")
    assert "送信を受け付けました" in first.get_data(as_text=True)
    private_redis.stop()
    second = client.post(f"{page}/password-reset", data={"reason": "二回目", "csrf_token": csrf_token(client, page)},
                         follow_redirects=True)
    assert second.status_code == 200 and "復旧後に送信します" in second.get_data(as_text=True)
    assert client.get(page).status_code == 200


@pytest.mark.postgresql
def test_database_connections_dropped_under_the_console(app, database_url):
    """What a PostgreSQL restart looks like from the console: every connection of its pool is killed.
    The next request works without restarting the console (pool_pre_ping)."""
    from sqlalchemy import create_engine

    from console.services.staff import create_staff

    with app.app_context():
        staff = create_staff(None, f"restart-{time.time_ns()}@example.jp", "再起動", ["operator"], factories.PASSWORD,
                             totp_secret=factories.TOTP_SECRET)
        db.session.commit()
        email = staff.email
    client = app.test_client()
    from tests.conftest import sign_in

    assert sign_in(client, email, factories.PASSWORD).status_code == 302
    assert client.get("/lookup/", query_string={"q": "ヤマダ"}).status_code == 200
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert killed >= 1
    for _ in range(3):
        assert client.get("/lookup/", query_string={"q": "ヤマダ"}).status_code == 200
